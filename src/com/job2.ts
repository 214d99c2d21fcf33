import koffi from 'koffi';
import { checkAuthKey, checkCredentials, withNativeCredentials, type Credentials } from './credentials.js';
import type { AuthScheme, AuthTarget } from './enums.js';
import { ComError, InvalidArgumentError, ReplyTooLargeError } from './errors.js';
import { BG_E_TOO_LARGE, E_NOTIMPL, isFailure } from './hresult.js';
import { IBackgroundCopyJob2 } from './interfaces.js';
import type { JobHost } from './job-host.js';
import type { ComRuntime } from './runtime.js';
import { BG_JOB_REPLY_PROGRESS, BG_SIZE_UNKNOWN, pointerSlot, readPointer, toBigInt } from './native-types.js';
import { takeString } from './task-memory.js';
import { checkLocalPath, checkString } from './validate.js';

/**
 * IBackgroundCopyJob2 (BITS 1.5): the notify command line, credentials, and the reply of an
 * upload-reply job, each through `withInterface` (a service without it is an
 * InterfaceNotSupportedError) after its input was checked.
 */

/**
 * A program BITS starts when the job is transferred or fails (for the events its notify flags ask
 * for), even when the application is no longer running: the classic updater pattern.
 */
export interface NotifyCommandLine {
  /** The program's absolute path (no environment variables: BITS does not expand them). */
  readonly program: string;
  /**
   * Its arguments, after the program. BITS wants the program repeated at the head of its parameters
   * (CreateProcess's command line); rx-bits puts it there, quoted, and takes it off again when reading.
   */
  readonly parameters?: string;
}

/** "IBackgroundCopyJob2::SetNotifyCmdLine": the parameters, program included, within 4,000 characters. */
export const MAX_NOTIFY_PARAMETERS = 4000;

/** The reply's progress; `bytesTotal` is undefined until the reply begins (BG_SIZE_UNKNOWN). */
export interface ReplyProgress {
  readonly bytesTotal: number | undefined;
  readonly bytesTransferred: number;
}

/** The program and the parameters as SetNotifyCmdLine takes them; null clears (NULL, NULL). */
export function checkNotifyCommandLine(value: unknown, field: string, style: ComRuntime['pathStyle']): [string, string] | null {
  if (value === null) return null;
  if (typeof value !== 'object') throw new InvalidArgumentError(field, 'expected { program, parameters? } or null');
  const given = value as Partial<Record<keyof NotifyCommandLine, unknown>>;
  const program = checkLocalPath(given.program, `${field}.program`, style);
  // A quote would end the quoted program early, and Windows allows none in a path.
  if (program.includes('"')) throw new InvalidArgumentError(`${field}.program`, 'contains a double quote');
  const rest = given.parameters === undefined ? '' : checkString(given.parameters, `${field}.parameters`, { maxLength: MAX_NOTIFY_PARAMETERS, allowEmpty: true });
  const parameters = rest === '' ? `"${program}"` : `"${program}" ${rest}`;
  if (parameters.length > MAX_NOTIFY_PARAMETERS) {
    throw new InvalidArgumentError(`${field}.parameters`, `with the quoted program in front is ${parameters.length} characters long; the service allows at most ${MAX_NOTIFY_PARAMETERS}`);
  }
  return [program, parameters];
}

/** The arguments after the program at the head of BITS's parameters, quoted or not. */
function argumentsAfter(program: string, parameters: string): string {
  for (const head of [`"${program}"`, program]) {
    if (parameters === head) return '';
    if (parameters.startsWith(`${head} `)) return parameters.slice(head.length + 1);
  }
  return parameters;
}

export async function setNotifyCommandLine(job: JobHost, commandLine: NotifyCommandLine | null): Promise<void> {
  const checked = checkNotifyCommandLine(commandLine, 'notifyCommandLine', job.runtime.pathStyle);
  await job.withInterface(IBackgroundCopyJob2, (job2) => job2.call('SetNotifyCmdLine', checked?.[0] ?? null, checked?.[1] ?? null));
}

/** The notify command line, or undefined when none is set (BITS answers two empty strings then). */
export async function getNotifyCommandLine(job: JobHost): Promise<NotifyCommandLine | undefined> {
  const program = pointerSlot();
  const parameters = pointerSlot();
  await job.withInterface(IBackgroundCopyJob2, (job2) => job2.call('GetNotifyCmdLine', program, parameters));
  // Both taken (and freed) before anything else can fail.
  const path = takeString(job.runtime, program);
  const line = takeString(job.runtime, parameters);
  if (path === '') return undefined;
  const rest = argumentsAfter(path, line);
  return rest === '' ? { program: path } : { program: path, parameters: rest };
}

/** One entry per target and scheme, replacing the previous one; write-only (BITS has no getter). */
export async function setCredentials(job: JobHost, credentials: Credentials): Promise<void> {
  const checked = checkCredentials(credentials, 'credentials');
  await job.withInterface(IBackgroundCopyJob2, (job2) => withNativeCredentials(checked, (address) => job2.call('SetCredentials', address)));
}

export async function removeCredentials(job: JobHost, target: AuthTarget, scheme: AuthScheme): Promise<void> {
  const key = checkAuthKey(target, scheme, 'credentials');
  await job.withInterface(IBackgroundCopyJob2, (job2) => job2.call('RemoveCredentials', key.target, key.scheme));
}

export async function getReplyProgress(job: JobHost): Promise<ReplyProgress> {
  const buffer = Buffer.alloc(koffi.sizeof(BG_JOB_REPLY_PROGRESS));
  await job.withInterface(IBackgroundCopyJob2, (job2) => job2.call('GetReplyProgress', buffer));
  const raw = koffi.decode(buffer, BG_JOB_REPLY_PROGRESS) as { BytesTotal: number | bigint; BytesTransferred: number | bigint };
  const total = toBigInt(raw.BytesTotal);
  return { bytesTotal: total === BG_SIZE_UNKNOWN ? undefined : Number(total), bytesTransferred: Number(raw.BytesTransferred) };
}

/** Where the reply goes; null or '' lets BITS choose a name beside the uploaded file. */
export async function setReplyFileName(job: JobHost, fileName: string | null): Promise<void> {
  const checked = fileName === null || fileName === '' ? null : checkLocalPath(fileName, 'replyFileName', job.runtime.pathStyle);
  await job.withInterface(IBackgroundCopyJob2, (job2) => job2.call('SetReplyFileName', checked));
}

/** The reply file's name; undefined while none was set and BITS has not chosen one yet. */
export async function getReplyFileName(job: JobHost): Promise<string | undefined> {
  const slot = pointerSlot();
  await job.withInterface(IBackgroundCopyJob2, (job2) => job2.call('GetReplyFileName', slot));
  return takeString(job.runtime, slot) || undefined;
}

/**
 * The server's reply to an upload-reply job, copied out of the task memory the service returned
 * (freed here). Undefined when the server sent none. A reply over 1 MiB is a {@link ReplyTooLargeError}.
 */
export async function getReplyData(job: JobHost): Promise<Buffer | undefined> {
  const slot = pointerSlot();
  const length = Buffer.alloc(8);
  const hr = await job.withInterface(IBackgroundCopyJob2, (job2) => job2.callRaw('GetReplyData', slot, length));
  const address = readPointer(slot);
  try {
    if (hr === BG_E_TOO_LARGE) throw new ReplyTooLargeError(Number(length.readBigUInt64LE()));
    if (hr === E_NOTIMPL) throw new ComError(hr, IBackgroundCopyJob2.name, 'GetReplyData', 'only upload-reply jobs have a reply');
    if (isFailure(hr)) throw new ComError(hr, IBackgroundCopyJob2.name, 'GetReplyData');
    if (address === 0n) return undefined;
    const size = Number(length.readBigUInt64LE());
    return size === 0 ? Buffer.alloc(0) : Buffer.from(new Uint8Array(koffi.view(address, size)));
  } finally {
    // Whatever the answer, a buffer the service handed over is ours to free.
    if (address !== 0n) job.runtime.freeTaskMemory(address);
  }
}
