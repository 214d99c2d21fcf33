import koffi from 'koffi';
import type { ComObject } from '../../com/com-object.js';
import { jobStateNumber, PROXY_USAGES } from '../../com/enums.js';
import { encodeGuid, type Guid } from '../../com/guid.js';
import { BG_E_ERROR_INFORMATION_UNAVAILABLE, BG_E_INVALID_STATE, E_INVALIDARG, S_OK } from '../../com/hresult.js';
import { IBackgroundCopyJob, IBackgroundCopyJobHttpOptions } from '../../com/interfaces.js';
import { BG_FILE_INFO } from '../../com/native-types.js';
import type { EngineJob } from '../engine-job.js';
import { engineClass, missing, outInt, outObject, outString, outUint, writePointer, type EngineContext } from './context.js';
import { createEnumerator } from './enumerators.js';
import { createErrorObject } from './error.js';
import { createFileObject } from './file.js';
import { createHttpOptions } from './http-options.js';
import { notifyRegistrationHandlers } from './notify-registration.js';
import { writeJobProgress, writeJobTimes } from './structs.js';

/**
 * IBackgroundCopyJob of the portable engine: one object per job while anyone holds it (as COM keeps
 * one proxy per object), over the job's live record. A job that left the queue refuses every method
 * that would change it with BG_E_INVALID_STATE; getters still answer.
 */

const jobClass = engineClass(IBackgroundCopyJob);

export function createJobObject(context: EngineContext, job: EngineJob, onFinalRelease: () => void): ComObject {
  const { record } = job;
  const unlessFinal = (change: () => number): number => (job.final ? BG_E_INVALID_STATE : change());
  const object: ComObject = jobClass.create({
    onFinalRelease,
    queryInterface: (iid: Guid) => (iid === IBackgroundCopyJobHttpOptions.iid ? createHttpOptions(context, job, object).address : undefined),
    methods: {
      AddFileSet: (count, files) => {
        if (missing(files) || count === 0) return E_INVALIDARG;
        const infos = koffi.decode(files, BG_FILE_INFO, count) as Array<{ RemoteName: string | null; LocalName: string | null }>;
        if (infos.some((info) => info.RemoteName === null || info.LocalName === null)) return E_INVALIDARG;
        // A set is added whole or not at all.
        const before = record.files.length;
        for (const info of infos) {
          const hr = job.addFile(info.RemoteName!, info.LocalName!);
          if (hr !== S_OK) {
            record.files.length = before;
            return hr;
          }
        }
        return S_OK;
      },
      AddFile: (url, local) => (url === null || local === null ? E_INVALIDARG : job.addFile(url, local)),
      EnumFiles: (out) => {
        const files = [...record.files];
        return outObject(out, () => createEnumerator(context, 'files', files.length, (i) => createFileObject(context, files[i]!)));
      },
      Suspend: () => job.suspend(),
      Resume: () => job.resume(),
      Cancel: () => job.cancel(),
      Complete: () => job.complete(),
      GetId: (out) => {
        if (missing(out)) return E_INVALIDARG;
        koffi.encode(out, 'uint8_t[16]', [...encodeGuid(record.id as Guid)]);
        return S_OK;
      },
      GetType: (out) => outInt(out, 0),
      GetProgress: (out) => (missing(out) ? E_INVALIDARG : (writeJobProgress(out!, record.files), S_OK)),
      GetTimes: (out) => {
        if (missing(out)) return E_INVALIDARG;
        const completed = record.transferCompleted === undefined ? undefined : new Date(record.transferCompleted);
        writeJobTimes(out!, new Date(record.created), new Date(record.modified), completed);
        return S_OK;
      },
      GetState: (out) => outInt(out, jobStateNumber(record.state)),
      GetError: (out) => {
        if (missing(out)) return E_INVALIDARG;
        const { error } = record;
        if (error === undefined || (record.state !== 'error' && record.state !== 'transientError')) {
          writePointer(out!, 0n);
          return BG_E_ERROR_INFORMATION_UNAVAILABLE;
        }
        const file = error.fileIndex === undefined ? undefined : record.files[error.fileIndex];
        return outObject(out, () => createErrorObject(context, error, file));
      },
      GetOwner: (out) => outString(context, out, record.owner),
      SetDisplayName: (name) =>
        name === null
          ? E_INVALIDARG
          : job.set((r) => {
              r.displayName = name;
            }),
      GetDisplayName: (out) => outString(context, out, record.displayName),
      SetDescription: (text) =>
        text === null
          ? E_INVALIDARG
          : job.set((r) => {
              r.description = text;
            }),
      GetDescription: (out) => outString(context, out, record.description),
      SetPriority: (priority) =>
        priority < 0 || priority > 3
          ? E_INVALIDARG
          : job.set((r) => {
              r.priority = priority;
            }),
      GetPriority: (out) => outInt(out, record.priority),
      ...notifyRegistrationHandlers(context, job, { get: () => record.notifyFlags, set: (flags) => (record.notifyFlags = flags) }, unlessFinal),
      SetMinimumRetryDelay: (seconds) =>
        job.set((r) => {
          r.minimumRetryDelay = seconds;
        }),
      GetMinimumRetryDelay: (out) => outUint(out, record.minimumRetryDelay),
      SetNoProgressTimeout: (seconds) =>
        job.set((r) => {
          r.noProgressTimeout = seconds;
        }),
      GetNoProgressTimeout: (out) => outUint(out, record.noProgressTimeout),
      GetErrorCount: (out) => outUint(out, record.errorCount),
      SetProxySettings: (usage, list, bypass) => {
        const name = PROXY_USAGES[usage];
        if (name === undefined || (name === 'override' && list === null)) return E_INVALIDARG;
        return job.set((r) => {
          r.proxy = { usage: name, list: list ?? '', bypass: bypass ?? '' };
        });
      },
      GetProxySettings: (usage, list, bypass) => {
        if (missing(usage, list, bypass)) return E_INVALIDARG;
        outInt(usage, PROXY_USAGES.indexOf(record.proxy.usage));
        writePointer(list!, record.proxy.list === '' ? 0n : context.taskMemory.allocString(record.proxy.list));
        writePointer(bypass!, record.proxy.bypass === '' ? 0n : context.taskMemory.allocString(record.proxy.bypass));
        return S_OK;
      },
      // Every job of the engine already belongs to this user.
      TakeOwnership: () => unlessFinal(() => S_OK),
    },
  });
  return object;
}
