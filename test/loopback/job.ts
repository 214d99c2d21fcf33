import koffi from 'koffi';
import path from 'node:path';
import { bitsVersionsThrough } from '../../src/com/bits-versions.js';
import type { ComObject, MethodHandlers } from '../../src/com/com-object.js';
import type { ComInterface } from '../../src/com/interface-table.js';
import { encodeGuid, type Guid } from '../../src/com/guid.js';
import {
  BG_E_ERROR_INFORMATION_UNAVAILABLE,
  BG_E_INVALID_STATE,
  E_INVALIDARG,
  E_NOINTERFACE,
  E_NOTIMPL,
  S_OK,
} from '../../src/com/hresult.js';
import {
  IBackgroundCopyCallback,
  IBackgroundCopyCallback2,
  IBackgroundCopyJob,
  IBackgroundCopyJob2,
  IBackgroundCopyJob3,
  IBackgroundCopyJob4,
  IBackgroundCopyJob5,
  IID_IExternalConnection,
  IID_IMarshal,
  IUnknown,
} from '../../src/com/interfaces.js';
import { invokeSync } from '../../src/com/invoke.js';
import { BG_FILE_INFO, pointerSlot, readPointer, type Pointer } from '../../src/com/native-types.js';
import { writeJobProgress, writeJobTimes } from '../../src/engine/com/structs.js';
import { createFileEnumerator } from './enumerators.js';
import { createErrorObject } from './error.js';
import { queryHttpOptions } from './http-options.js';
import { job2Handlers } from './job2.js';
import { job3Handlers } from './job3.js';
import { job4Handlers } from './job4.js';
import { job5Handlers } from './job5.js';
import { State } from './job-model.js';
import type { ClientProcess } from './process.js';
import { around, counted, loopbackClass, missing, uint, writeInt, writePointer, type JobEntry, type ServiceCore } from './shared.js';

/**
 * IBackgroundCopyJob (Wine: dlls/qmgr/job.c): one object per job and client process, over the job
 * model every process shares.
 *
 * A job that left the queue (ACKNOWLEDGED or CANCELLED) refuses every method that would change it
 * with BG_E_INVALID_STATE ("The state of the job cannot be BG_JOB_STATE_CANCELLED or
 * BG_JOB_STATE_ACKNOWLEDGED", on the pages of Suspend, Resume, SetDisplayName, SetNotifyInterface...;
 * "Life cycle of a BITS job": once in a final state you can't call the state-changing methods; Wine's
 * is_job_done checks). Getters still answer.
 */

const jobClass = loopbackClass(IBackgroundCopyJob);
/**
 * The job of a service of BITS 1.5 or later is one object whose vtable is that of the newest job
 * interface the service has, as on Windows (and Wine, whose job object is an IBackgroundCopyJob4):
 * newest first.
 */
const LATER_CLASSES = [
  loopbackClass(IBackgroundCopyJob5),
  loopbackClass(IBackgroundCopyJob4),
  loopbackClass(IBackgroundCopyJob3),
  loopbackClass(IBackgroundCopyJob2),
] as const;

/** What QueryInterface a COM service asks a callback object for, in order (the reference, seen on Wine). */
export const CALLBACK_QUERY_ORDER: readonly Guid[] = [
  IID_IMarshal,
  IID_IMarshal,
  IUnknown.iid,
  IID_IExternalConnection,
  IUnknown.iid,
  IBackgroundCopyCallback2.iid,
  IBackgroundCopyCallback.iid,
];

/** QueryInterface on the callback, in the order a real COM service asks (IMarshal first, refused). */
function registerCallback(core: ServiceCore, process: ClientProcess, entry: JobEntry, address: Pointer): number {
  const obtained = new Map<Guid, Pointer>();
  for (const iid of CALLBACK_QUERY_ORDER) {
    const slot = pointerSlot();
    const hr = invokeSync(address, IUnknown.method('QueryInterface'), encodeGuid(iid), slot);
    const pointer = readPointer(slot);
    if (hr === S_OK && pointer !== 0n) {
      if (obtained.has(iid)) invokeSync(pointer, IUnknown.method('Release'));
      else obtained.set(iid, pointer);
    }
  }
  const callback2 = obtained.get(IBackgroundCopyCallback2.iid);
  const chosenIid = callback2 !== undefined ? IBackgroundCopyCallback2.iid : IBackgroundCopyCallback.iid;
  const chosen = obtained.get(chosenIid);
  for (const [iid, pointer] of obtained) if (iid !== chosenIid || chosen === undefined) invokeSync(pointer, IUnknown.method('Release'));
  if (chosen === undefined) return E_NOINTERFACE;
  core.setTarget(entry, { address: chosen, supportsFileTransferred: callback2 !== undefined, process });
  core.registered(entry);
  return S_OK;
}

/** A new object of `process` for the job, with one reference for the caller; `onFinalRelease` when it goes. */
export function createJobObject(core: ServiceCore, process: ClientProcess, entry: JobEntry, onFinalRelease: () => void): ComObject {
  const { model } = entry;
  /** A state-changing call: refused on a finished job, else `change` answers. */
  const unlessFinal = (change: () => number): number => (model.final ? BG_E_INVALID_STATE : change());
  const string = (out: Pointer | null, value: string): number => {
    if (missing(out)) return E_INVALIDARG;
    writePointer(out!, process.taskMemory.allocString(value));
    return S_OK;
  };
  const setter = (valid: boolean, set: () => void): number => {
    if (!valid) return E_INVALIDARG;
    return unlessFinal(() => {
      set();
      model.touch();
      return S_OK;
    });
  };
  const jobHandlers = counted(core, IBackgroundCopyJob, {
    AddFileSet: (count, files) => {
      if (missing(files) || count === 0) return E_INVALIDARG;
      const infos = koffi.decode(files, BG_FILE_INFO, count) as Array<{ RemoteName: string | null; LocalName: string | null }>;
      if (infos.some((info) => info.RemoteName === null || info.LocalName === null || !path.isAbsolute(info.LocalName))) return E_INVALIDARG;
      for (const info of infos) {
        const hr = model.addFile(info.RemoteName!, info.LocalName!);
        if (hr !== S_OK) return hr;
      }
      return S_OK;
    },
    AddFile: (url, local) => {
      if (url === null || local === null || !path.isAbsolute(local)) return E_INVALIDARG;
      return model.addFile(url, local);
    },
    EnumFiles: (out) => {
      if (missing(out)) return E_INVALIDARG;
      writePointer(out!, createFileEnumerator(core, process, model, [...model.files], 0).address);
      return S_OK;
    },
    Suspend: () => model.suspend(),
    Resume: () => model.resume(),
    Cancel: () => model.cancel(),
    Complete: () => model.complete(),
    GetId: (out) => {
      if (missing(out)) return E_INVALIDARG;
      koffi.encode(out, 'uint8_t[16]', [...encodeGuid(model.id)]);
      return S_OK;
    },
    GetType: (out) => (missing(out) ? E_INVALIDARG : (writeInt(out!, model.type), S_OK)),
    GetProgress: (out) => (missing(out) ? E_INVALIDARG : (writeJobProgress(out!, model.files), S_OK)),
    GetTimes: (out) => (missing(out) ? E_INVALIDARG : (writeJobTimes(out!, model.created, model.modified, model.transferCompleted), S_OK)),
    GetState: (out) => (missing(out) ? E_INVALIDARG : (writeInt(out!, model.state), S_OK)),
    GetError: (out) => {
      if (missing(out)) return E_INVALIDARG;
      writePointer(out!, 0n);
      if (model.error === undefined || (model.state !== State.ERROR && model.state !== State.TRANSIENT_ERROR)) {
        return BG_E_ERROR_INFORMATION_UNAVAILABLE;
      }
      writePointer(out!, createErrorObject(core, process, model, model.error).address);
      return S_OK;
    },
    GetOwner: (out) => string(out, model.owner),
    SetDisplayName: (name) =>
      setter(name !== null, () => {
        model.displayName = name!;
      }),
    GetDisplayName: (out) => string(out, model.displayName),
    SetDescription: (text) =>
      setter(text !== null, () => {
        model.description = text!;
      }),
    GetDescription: (out) => string(out, model.description),
    // "SetHttpMethod": a custom HTTP method puts the job at FOREGROUND and "prevents that priority from
    // being changed"; the code of the refusal is undocumented: BG_E_INVALID_STATE here.
    SetPriority: (priority) =>
      model.httpMethod !== undefined && priority !== model.priority && !model.final
        ? BG_E_INVALID_STATE
        : setter(priority >= 0 && priority <= 3, () => {
            model.priority = priority;
          }),
    GetPriority: (out) => (missing(out) ? E_INVALIDARG : (writeInt(out!, model.priority), S_OK)),
    // Wine checks the state first (BackgroundCopyJob_SetNotifyFlags, dlls/qmgr/job.c).
    SetNotifyFlags: (flags) =>
      unlessFinal(() => {
        if ((flags & ~0x3f) !== 0) return E_NOTIMPL;
        model.notifyFlags = flags;
        return S_OK;
      }),
    GetNotifyFlags: (out) => uint(out, model.notifyFlags),
    // Wine's test_HttpOptions (dlls/qmgr/tests/job.c) sees SetNotifyInterface(NULL) refused on an acknowledged job.
    SetNotifyInterface: (notify) =>
      unlessFinal(() => {
        if (notify !== null && notify !== 0n) return registerCallback(core, process, entry, notify);
        core.setTarget(entry, undefined);
        return S_OK;
      }),
    GetNotifyInterface: (out) => {
      if (missing(out)) return E_INVALIDARG;
      writePointer(out!, entry.target === undefined ? 0n : process.notifyInterface(entry.target));
      return S_OK;
    },
    SetMinimumRetryDelay: (seconds) =>
      setter(true, () => {
        model.minimumRetryDelay = seconds;
      }),
    GetMinimumRetryDelay: (out) => uint(out, model.minimumRetryDelay),
    SetNoProgressTimeout: (seconds) =>
      setter(true, () => {
        model.noProgressTimeout = seconds;
      }),
    GetNoProgressTimeout: (out) => uint(out, model.noProgressTimeout),
    GetErrorCount: (out) => (core.options.errorCountNotImplemented ? E_NOTIMPL : uint(out, model.errorCount)),
    SetProxySettings: (usage, list, bypass) => {
      if (usage < 0 || usage > 3 || (usage === 2 && list === null)) return E_INVALIDARG;
      return unlessFinal(() => {
        model.proxy = { usage, list: list ?? '', bypass: bypass ?? '' };
        return S_OK;
      });
    },
    GetProxySettings: (usage, list, bypass) => {
      if (missing(usage, list, bypass)) return E_INVALIDARG;
      writeInt(usage!, model.proxy.usage);
      writePointer(list!, model.proxy.list === '' ? 0n : process.taskMemory.allocString(model.proxy.list));
      writePointer(bypass!, model.proxy.bypass === '' ? 0n : process.taskMemory.allocString(model.proxy.bypass));
      return S_OK;
    },
    // "TakeOwnership" removes the notify command line and the credentials (bits-com-extended.md, Job2).
    TakeOwnership: () =>
      unlessFinal(() => {
        model.notifyCommandLine = { program: '', parameters: '' };
        model.credentials.clear();
        return S_OK;
      }),
  });
  // A service answers the methods of every job interface up to its version (bits-versions.ts).
  const available = bitsVersionsThrough(core.options.bitsVersion).flatMap((version) => version.interfaces);
  const has = (iface: ComInterface): boolean => available.includes(iface.name);
  const handlers: MethodHandlers<typeof IBackgroundCopyJob5> = {
    ...jobHandlers,
    ...(has(IBackgroundCopyJob2) ? counted(core, IBackgroundCopyJob2, job2Handlers(process, model)) : {}),
    ...(has(IBackgroundCopyJob3) ? counted(core, IBackgroundCopyJob3, job3Handlers(process, model)) : {}),
    ...(has(IBackgroundCopyJob4) ? counted(core, IBackgroundCopyJob4, job4Handlers(model)) : {}),
    ...(has(IBackgroundCopyJob5) ? counted(core, IBackgroundCopyJob5, job5Handlers(model, core.options.bitsVersion)) : {}),
  };
  // Whatever the call, BITS may meanwhile have moved the job on and notified (notifiesDuringCalls).
  const methods = around(handlers, (_method, call) => {
    const hr = call();
    core.answering(entry);
    return hr;
  });
  const object: ComObject = (LATER_CLASSES.find((cls) => has(cls.iface)) ?? jobClass).create({
    onFinalRelease,
    queryInterface: (iid) => queryHttpOptions(core, process, model, object, iid),
    methods,
  });
  return object;
}
