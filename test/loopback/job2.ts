import koffi from 'koffi';
import type { MethodHandlers } from '../../src/com/com-object.js';
import {
  BG_E_INVALID_AUTH_SCHEME,
  BG_E_INVALID_AUTH_TARGET,
  BG_E_INVALID_STATE,
  BG_E_PASSWORD_TOO_LARGE,
  BG_E_STRING_TOO_LONG,
  BG_E_TOO_LARGE,
  BG_E_USERNAME_TOO_LARGE,
  E_INVALIDARG,
  E_NOTIMPL,
  S_FALSE,
  S_OK,
} from '../../src/com/hresult.js';
import { IBackgroundCopyJob2 } from '../../src/com/interfaces.js';
import { BG_AUTH_CREDENTIALS, BG_JOB_REPLY_PROGRESS, BG_SIZE_UNKNOWN, type Pointer } from '../../src/com/native-types.js';
import { credentialKey, JobType, State, type JobModel } from './job-model.js';
import type { ClientProcess } from './process.js';
import { missing, writePointer } from './shared.js';

/**
 * IBackgroundCopyJob2's own methods (BITS 1.5, slots 35-42) on a loopback job, as Microsoft's pages
 * for each method (and bits-com-extended.md, "Semantics a wrapper must respect") describe them. The
 * job object of a service of BITS 1.5 or later is one class over IBackgroundCopyJob2 (job.ts), so
 * QueryInterface hands out the job itself, as BITS does.
 */

/** MAX_PATH with its NUL: the longest program path SetNotifyCmdLine takes. */
const MAX_PROGRAM = 259;
/** SetNotifyCmdLine's parameters, program included. */
const MAX_PARAMETERS = 4000;
/** SetCredentials: BG_E_USERNAME_TOO_LARGE above 300 characters, BG_E_PASSWORD_TOO_LARGE above 65,536. */
const MAX_USER_NAME = 300;
const MAX_PASSWORD = 65_536;
/** GetReplyData hands out at most 1 MB; a larger reply is BG_E_TOO_LARGE. */
const MAX_REPLY_DATA = 1024 * 1024;
/** BG_AUTH_TARGET_SERVER, _PROXY; BG_AUTH_SCHEME_BASIC .. _PASSPORT. */
const AUTH_TARGETS: readonly number[] = [1, 2];
const AUTH_SCHEMES: readonly number[] = [1, 2, 3, 4, 5];
/** Basic and Digest need a user name and password; NTLM and Negotiate without them use the logged-on user's. */
const NEEDS_EXPLICIT: readonly number[] = [1, 2];

type Job2Methods = 'SetNotifyCmdLine' | 'GetNotifyCmdLine' | 'GetReplyProgress' | 'GetReplyData' | 'SetReplyFileName' | 'GetReplyFileName' | 'SetCredentials' | 'RemoveCredentials';

interface RawCredentials {
  Target: number;
  Scheme: number;
  Credentials: { UserName: string | null; Password: string | null };
}

export function job2Handlers(process: ClientProcess, model: JobModel): Pick<MethodHandlers<typeof IBackgroundCopyJob2>, Job2Methods> {
  const string = (out: Pointer, value: string | undefined): void => writePointer(out, value === undefined ? 0n : process.taskMemory.allocString(value));
  /** The reply methods: "This method is not implemented for jobs of type BG_JOB_TYPE_DOWNLOAD or BG_JOB_TYPE_UPLOAD." */
  const replyJob = (answer: () => number): number => (model.type === JobType.UPLOAD_REPLY ? answer() : E_NOTIMPL);
  return {
    SetNotifyCmdLine: (program, parameters) => {
      if (model.final) return BG_E_INVALID_STATE;
      if (program === null && parameters !== null) return E_INVALIDARG;
      if ((program?.length ?? 0) > MAX_PROGRAM || (parameters?.length ?? 0) > MAX_PARAMETERS) return BG_E_STRING_TOO_LONG;
      model.notifyCommandLine = { program: program ?? '', parameters: parameters ?? '' };
      model.touch();
      return S_OK;
    },
    // "If the program and parameters are not set, ... pProgram and pParameters point to an empty string."
    GetNotifyCmdLine: (program, parameters) => {
      if (missing(program, parameters)) return E_INVALIDARG;
      string(program!, model.notifyCommandLine.program);
      string(parameters!, model.notifyCommandLine.parameters);
      return S_OK;
    },
    GetReplyProgress: (out) =>
      replyJob(() => {
        if (missing(out)) return E_INVALIDARG;
        const { total, transferred } = model.replyProgress;
        koffi.encode(out!, BG_JOB_REPLY_PROGRESS, { BytesTotal: total === undefined ? BG_SIZE_UNKNOWN : total, BytesTransferred: transferred });
        return S_OK;
      }),
    // In TRANSFERRED, and after Complete; a reply above 1 MB answers its size only.
    GetReplyData: (buffer, length) =>
      replyJob(() => {
        if (missing(buffer, length)) return E_INVALIDARG;
        writePointer(buffer!, 0n);
        koffi.encode(length!, 'uint64', 0);
        if (model.state !== State.TRANSFERRED && model.state !== State.ACKNOWLEDGED) return BG_E_INVALID_STATE;
        const reply = model.reply;
        if (reply === undefined || reply.length === 0) return S_OK;
        koffi.encode(length!, 'uint64', reply.length);
        if (reply.length > MAX_REPLY_DATA) return BG_E_TOO_LARGE;
        writePointer(buffer!, process.taskMemory.allocBytes(reply));
        return S_OK;
      }),
    SetReplyFileName: (name) =>
      replyJob(() => {
        if (model.final || model.replyStarted) return BG_E_INVALID_STATE;
        if ((name?.length ?? 0) > MAX_PROGRAM) return BG_E_STRING_TOO_LONG;
        if (name !== null && name !== '' && !name.startsWith('/')) return E_INVALIDARG;
        model.replyFileName = name === null || name === '' ? undefined : name;
        model.touch();
        return S_OK;
      }),
    GetReplyFileName: (out) =>
      replyJob(() => {
        if (missing(out)) return E_INVALIDARG;
        string(out!, model.replyFileName);
        return S_OK;
      }),
    SetCredentials: (address) => {
      if (missing(address)) return E_INVALIDARG;
      if (model.final) return BG_E_INVALID_STATE;
      const raw = koffi.decode(address, BG_AUTH_CREDENTIALS) as RawCredentials;
      const { UserName: userName, Password: password } = raw.Credentials;
      if (!AUTH_TARGETS.includes(raw.Target)) return BG_E_INVALID_AUTH_TARGET;
      if (!AUTH_SCHEMES.includes(raw.Scheme)) return BG_E_INVALID_AUTH_SCHEME;
      if ((userName?.length ?? 0) > MAX_USER_NAME) return BG_E_USERNAME_TOO_LARGE;
      if ((password?.length ?? 0) > MAX_PASSWORD) return BG_E_PASSWORD_TOO_LARGE;
      if (NEEDS_EXPLICIT.includes(raw.Scheme) && (userName === null || password === null)) return E_INVALIDARG;
      model.credentials.set(credentialKey(raw.Target, raw.Scheme), { userName, password });
      model.touch();
      return S_OK;
    },
    // "S_FALSE: No credentials have been set using the specified target and scheme pair."
    RemoveCredentials: (target, scheme) => {
      if (model.final) return BG_E_INVALID_STATE;
      if (!AUTH_TARGETS.includes(target)) return BG_E_INVALID_AUTH_TARGET;
      if (!AUTH_SCHEMES.includes(scheme)) return BG_E_INVALID_AUTH_SCHEME;
      if (!model.credentials.delete(credentialKey(target, scheme))) return S_FALSE;
      model.touch();
      return S_OK;
    },
  };
}
