import koffi from 'koffi';
import { bitsVersionsThrough } from '../../src/com/bits-versions.js';
import type { ComObject, MethodHandlers } from '../../src/com/com-object.js';
import {
  BG_E_INVALID_RANGE,
  BG_E_INVALID_STATE,
  BG_E_UNKNOWN_PROPERTY_ID,
  E_INVALIDARG,
  E_NOTIMPL,
  hresultByName,
  S_OK,
} from '../../src/com/hresult.js';
import type { ComInterface } from '../../src/com/interface-table.js';
import {
  IBackgroundCopyFile,
  IBackgroundCopyFile2,
  IBackgroundCopyFile3,
  IBackgroundCopyFile4,
  IBackgroundCopyFile5,
  IBackgroundCopyFile6,
} from '../../src/com/interfaces.js';
import { BG_FILE_RANGE, BG_LENGTH_TO_EOF, toBigInt, type Pointer } from '../../src/com/native-types.js';
import { writeFileProgress } from '../../src/engine/com/structs.js';
import { JobType, type FileModel, type JobModel } from './job-model.js';
import type { ClientProcess } from './process.js';
import type { LoopbackRange } from './ranges.js';
import { counted, loopbackClass, missing, writeInt, writePointer, writeUint, type ServiceCore } from './shared.js';

/**
 * IBackgroundCopyFile (Wine: dlls/qmgr/file.c): a new object each time one is handed out. On a service
 * of BITS 2.0 or later the object is an IBackgroundCopyFile2, ... 10.1 an IBackgroundCopyFile6 (the
 * vtable of the newest file interface of the service's `bitsVersion`, as the job's), each method
 * answering as its Learn page (and bits-com-extended.md, "Job3 / File2", "Job4 / File3 / File4",
 * "File6 / Callback3") says.
 */

const E_PENDING = hresultByName('E_PENDING')!;
const BG_E_RANDOM_ACCESS_NOT_SUPPORTED = hresultByName('BG_E_RANDOM_ACCESS_NOT_SUPPORTED')!;
/** "SetRemoteName": E_INVALIDARG for a URL over 2,200 characters. */
const MAX_URL = 2200;
/** BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS, the one file property (bits5_0.h). */
const HTTP_RESPONSE_HEADERS = 1;
/** BITS_JOB_PROPERTY_ID_DYNAMIC_CONTENT: a dynamic job cannot read at random. */
const DYNAMIC_CONTENT = 3;

const fileClass = loopbackClass(IBackgroundCopyFile);
/** Newest first, as the job's classes (job.ts). */
const LATER_CLASSES = [
  loopbackClass(IBackgroundCopyFile6),
  loopbackClass(IBackgroundCopyFile5),
  loopbackClass(IBackgroundCopyFile4),
  loopbackClass(IBackgroundCopyFile3),
  loopbackClass(IBackgroundCopyFile2),
] as const;

/** What a file's later interfaces remember beyond the job model: its validation. */
interface FileExtras {
  validated: boolean;
}
const extras = new WeakMap<FileModel, FileExtras>();
const extrasOf = (file: FileModel): FileExtras => {
  let found = extras.get(file);
  if (found === undefined) extras.set(file, (found = { validated: false }));
  return found;
};

/** "SetRemoteName": E_INVALIDARG for an invalid URL. An http(s) URL needs a host; file URLs, UNC and absolute paths are names BITS takes too. */
function validRemoteName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_URL) return false;
  if (name.startsWith('/') || name.startsWith('\\\\') || /^[A-Za-z]:\\/.test(name)) return true;
  try {
    const url = new URL(name);
    return url.protocol === 'file:' || ((url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '');
  } catch {
    return false;
  }
}

/** Ranges as a BG_FILE_RANGE array in the caller's task memory; NULL for none. */
function rangesOut(process: ClientProcess, count: Pointer, out: Pointer, ranges: readonly LoopbackRange[]): number {
  writeUint(count, ranges.length);
  if (ranges.length === 0) {
    writePointer(out, 0n);
    return S_OK;
  }
  const size = koffi.sizeof(BG_FILE_RANGE);
  const bytes = Buffer.alloc(size * ranges.length);
  ranges.forEach((range, index) => {
    bytes.writeBigUInt64LE(BigInt(range.offset), index * size);
    bytes.writeBigUInt64LE(range.length === undefined ? BG_LENGTH_TO_EOF : BigInt(range.length), index * size + 8);
  });
  writePointer(out, process.taskMemory.allocBytes(bytes));
  return S_OK;
}

/**
 * "File6 / Callback3": on-demand reads need a download job, not DYNAMIC_CONTENT, over HTTP(S), and a
 * file added without ranges; otherwise BG_E_RANDOM_ACCESS_NOT_SUPPORTED.
 */
function randomAccess(job: JobModel, file: FileModel): number | undefined {
  if (job.final) return BG_E_INVALID_STATE;
  const dynamic = (job.properties.get(DYNAMIC_CONTENT)?.readInt32LE() ?? 0) !== 0;
  if (job.type !== JobType.DOWNLOAD || dynamic || file.ranges !== undefined || !/^https?:\/\//i.test(file.url)) return BG_E_RANDOM_ACCESS_NOT_SUPPORTED;
  return undefined;
}

type LaterMethods = Exclude<keyof MethodHandlers<typeof IBackgroundCopyFile6>, keyof MethodHandlers<typeof IBackgroundCopyFile>>;

function laterHandlers(process: ClientProcess, job: JobModel, file: FileModel): Pick<MethodHandlers<typeof IBackgroundCopyFile6>, LaterMethods> {
  const state = extrasOf(file);
  return {
    GetFileRanges: (count, out) => (missing(count, out) ? E_INVALIDARG : rangesOut(process, count!, out!, file.ranges ?? [])),
    // Return values in the order of its page: E_INVALIDARG, E_NOTIMPL (upload jobs), BG_E_INVALID_STATE.
    // Learn names changing the protocol (SMB to HTTP) as a typical use, so no scheme is refused.
    SetRemoteName: (name) => {
      if (name === null || !validRemoteName(name)) return E_INVALIDARG;
      if (job.type !== JobType.DOWNLOAD) return E_NOTIMPL;
      if (job.final) return BG_E_INVALID_STATE;
      file.url = name;
      job.touch();
      return S_OK;
    },
    GetTemporaryName: (out) => {
      if (missing(out)) return E_INVALIDARG;
      writePointer(out!, process.taskMemory.allocString(file.tempPath));
      return S_OK;
    },
    // "only after the file finished (E_PENDING before)"; FALSE sends the job to ERROR (job-model.ts).
    SetValidationState: (valid) => {
      if (job.final) return BG_E_INVALID_STATE;
      if (!file.completed) return E_PENDING;
      if (valid === 0) job.invalidate(file);
      state.validated = valid !== 0;
      return S_OK;
    },
    GetValidationState: (out) => (missing(out) ? E_INVALIDARG : (writeInt(out!, state.validated ? 1 : 0), S_OK)),
    // No peers here: every byte comes from the origin.
    IsDownloadedFromPeer: (out) => (missing(out) ? E_INVALIDARG : (writeInt(out!, 0), S_OK)),
    GetPeerDownloadStats: (origin, peers) => {
      if (missing(origin, peers)) return E_INVALIDARG;
      koffi.encode(origin!, 'uint64', file.bytesTransferred);
      koffi.encode(peers!, 'uint64', 0);
      return S_OK;
    },
    // SetProperty has no handler: no page says what it does with the one property (E_NOTIMPL).
    GetProperty: (id, out) => {
      if (missing(out)) return E_INVALIDARG;
      writePointer(out!, 0n);
      if (id !== HTTP_RESPONSE_HEADERS) return BG_E_UNKNOWN_PROPERTY_ID;
      if (file.responseHeaders !== undefined) writePointer(out!, process.taskMemory.allocString(file.responseHeaders));
      return S_OK;
    },
    // Refused where random access is not; elsewhere taken and not acted on: the loopback downloads from the start.
    UpdateDownloadPosition: () => randomAccess(job, file) ?? S_OK,
    // "overlap allowed (split automatically); any byte past the file size -> BG_E_INVALID_RANGE". The
    // transfer suspends the job once they are in (JobModel.requestedRangesIn).
    RequestFileRanges: (count, ranges) => {
      if (count === 0 || missing(ranges)) return E_INVALIDARG;
      const refused = randomAccess(job, file);
      if (refused !== undefined) return refused;
      const raw = koffi.decode(ranges!, BG_FILE_RANGE, count) as Array<{ InitialOffset: number | bigint; Length: number | bigint }>;
      const decoded = raw.map((range) => ({ offset: toBigInt(range.InitialOffset), length: toBigInt(range.Length) }));
      const size = file.bytesTotal === undefined ? undefined : BigInt(file.bytesTotal);
      const past = (range: { offset: bigint; length: bigint }): boolean =>
        range.offset === BG_LENGTH_TO_EOF || (size !== undefined && (range.offset >= size || (range.length !== BG_LENGTH_TO_EOF && range.offset + range.length > size)));
      if (decoded.some(past)) return BG_E_INVALID_RANGE;
      (file.requested ??= []).push(...decoded.map((range) => ({ offset: Number(range.offset), length: range.length === BG_LENGTH_TO_EOF ? undefined : Number(range.length) })));
      return S_OK;
    },
    // The loopback downloads from the start: what it holds is one range from 0.
    GetFilledFileRanges: (count, out) => {
      if (missing(count, out)) return E_INVALIDARG;
      return rangesOut(process, count!, out!, file.bytesTransferred === 0 ? [] : [{ offset: 0, length: file.bytesTransferred }]);
    },
  };
}

export function createFileObject(core: ServiceCore, process: ClientProcess, job: JobModel, file: FileModel): ComObject {
  const string = (out: Pointer | null, value: string): number => {
    if (missing(out)) return E_INVALIDARG;
    writePointer(out!, process.taskMemory.allocString(value));
    return S_OK;
  };
  const available = bitsVersionsThrough(core.options.bitsVersion).flatMap((version) => version.interfaces);
  const has = (iface: ComInterface): boolean => available.includes(iface.name);
  const later = laterHandlers(process, job, file);
  const { GetFileRanges, SetRemoteName, GetTemporaryName, SetValidationState, GetValidationState, IsDownloadedFromPeer } = later;
  const { GetPeerDownloadStats, GetProperty, UpdateDownloadPosition, RequestFileRanges, GetFilledFileRanges } = later;
  // Each interface's own methods, counted under its name, for the versions that have it.
  const handlers: MethodHandlers<typeof IBackgroundCopyFile6> = {
    ...counted(core, IBackgroundCopyFile, {
      GetRemoteName: (out) => string(out, file.url),
      GetLocalName: (out) => string(out, file.localPath),
      GetProgress: (out) => (missing(out) ? E_INVALIDARG : (writeFileProgress(out!, file), S_OK)),
    }),
    ...(has(IBackgroundCopyFile2) ? counted(core, IBackgroundCopyFile2, { GetFileRanges, SetRemoteName }) : {}),
    ...(has(IBackgroundCopyFile3) ? counted(core, IBackgroundCopyFile3, { GetTemporaryName, SetValidationState, GetValidationState, IsDownloadedFromPeer }) : {}),
    ...(has(IBackgroundCopyFile4) ? counted(core, IBackgroundCopyFile4, { GetPeerDownloadStats }) : {}),
    ...(has(IBackgroundCopyFile5) ? counted(core, IBackgroundCopyFile5, { GetProperty }) : {}),
    ...(has(IBackgroundCopyFile6) ? counted(core, IBackgroundCopyFile6, { UpdateDownloadPosition, RequestFileRanges, GetFilledFileRanges }) : {}),
  };
  return (LATER_CLASSES.find((cls) => has(cls.iface)) ?? fileClass).create({ ...core.tracked('files'), methods: handlers });
}
