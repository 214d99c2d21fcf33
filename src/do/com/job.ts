import koffi from 'koffi';
import type { ComObject } from '../../com/com-object.js';
import { jobStateNumber } from '../../com/enums.js';
import { encodeGuid } from '../../com/guid.js';
import { BG_E_ERROR_INFORMATION_UNAVAILABLE, BG_E_INVALID_STATE, E_INVALIDARG, S_OK } from '../../com/hresult.js';
import { IBackgroundCopyJob } from '../../com/interfaces.js';
import { BG_FILE_INFO } from '../../com/native-types.js';
import { engineClass, missing, outInt, outObject, outString, outUint, writePointer } from '../../engine/com/context.js';
import { createEnumerator } from '../../engine/com/enumerators.js';
import { createErrorObject } from '../../engine/com/error.js';
import { createFileObject } from '../../engine/com/file.js';
import { notifyRegistrationHandlers } from '../../engine/com/notify-registration.js';
import { writeJobProgress, writeJobTimes } from '../../engine/com/structs.js';
import { bitsStateOf, errorOf, type BridgeJob } from '../bridge-job.js';
import type { BridgeContext } from '../bridge.js';

/**
 * IBackgroundCopyJob of the Delivery Optimization bridge: one object per job while anyone holds it.
 * Every method answers at once from the job's cached model; what must reach DO is queued by the
 * bridge and made on the call threads. A job that left the queue (or is leaving it) refuses every
 * change with BG_E_INVALID_STATE; getters still answer. What DO has no counterpart for answers
 * E_NOTIMPL (minimum retry delay, proxy settings); the library refuses those before calling.
 */

const jobClass = engineClass(IBackgroundCopyJob);

export function createBridgeJobObject(context: BridgeContext, job: BridgeJob, onFinalRelease: () => void): ComObject {
  const unlessFinal = (change: () => number): number => (context.leaving(job) ? BG_E_INVALID_STATE : change());
  const set = (change: () => void): number =>
    unlessFinal(() => {
      change();
      job.modified = new Date();
      return S_OK;
    });
  return jobClass.create({
    onFinalRelease,
    methods: {
      AddFileSet: (count, files) => {
        if (missing(files) || count === 0) return E_INVALIDARG;
        const infos = koffi.decode(files, BG_FILE_INFO, count) as Array<{ RemoteName: string | null; LocalName: string | null }>;
        if (infos.some((info) => info.RemoteName === null || info.LocalName === null)) return E_INVALIDARG;
        if (context.leaving(job)) return BG_E_INVALID_STATE;
        for (const info of infos) context.addFile(job, info.RemoteName!, info.LocalName!);
        return S_OK;
      },
      AddFile: (url, local) => (url === null || local === null ? E_INVALIDARG : context.addFile(job, url, local)),
      EnumFiles: (out) => {
        const files = [...job.files];
        return outObject(out, () => createEnumerator(context, 'files', files.length, (i) => createFileObject(context, files[i]!)));
      },
      Suspend: () => context.suspend(job),
      Resume: () => context.resume(job),
      Cancel: () => context.cancel(job),
      Complete: () => context.complete(job),
      GetId: (out) => {
        if (missing(out)) return E_INVALIDARG;
        koffi.encode(out, 'uint8_t[16]', [...encodeGuid(job.id)]);
        return S_OK;
      },
      GetType: (out) => outInt(out, 0),
      GetProgress: (out) => (missing(out) ? E_INVALIDARG : (writeJobProgress(out!, job.files), S_OK)),
      GetTimes: (out) => (missing(out) ? E_INVALIDARG : (writeJobTimes(out!, job.created, job.modified, job.transferCompleted), S_OK)),
      GetState: (out) => outInt(out, jobStateNumber(bitsStateOf(job))),
      GetError: (out) => {
        if (missing(out)) return E_INVALIDARG;
        const error = errorOf(job);
        if (error === undefined) {
          writePointer(out!, 0n);
          return BG_E_ERROR_INFORMATION_UNAVAILABLE;
        }
        const file = error.fileIndex === undefined ? undefined : job.files[error.fileIndex];
        return outObject(out, () => createErrorObject(context, error, file));
      },
      GetOwner: (out) => outString(context, out, job.owner),
      SetDisplayName: (name) =>
        name === null
          ? E_INVALIDARG
          : set(() => {
              job.displayName = name;
              context.changed(job);
            }),
      GetDisplayName: (out) => outString(context, out, job.displayName),
      // DO has no description: kept here, for this process's life.
      SetDescription: (text) => (text === null ? E_INVALIDARG : set(() => (job.description = text))),
      GetDescription: (out) => outString(context, out, job.description),
      // Foreground is DO's ForegroundPriority, set on the downloads made from now on; the rest is background.
      SetPriority: (priority) => (priority < 0 || priority > 3 ? E_INVALIDARG : set(() => (job.priority = priority))),
      GetPriority: (out) => outInt(out, job.priority),
      ...notifyRegistrationHandlers(context, job, { get: () => job.notifyFlags, set: (flags) => (job.notifyFlags = flags) }, unlessFinal),
      SetNoProgressTimeout: (seconds) => set(() => (job.noProgressTimeout = seconds)),
      GetNoProgressTimeout: (out) => outUint(out, job.noProgressTimeout),
      GetErrorCount: (out) => outUint(out, job.errorCount),
      TakeOwnership: () => unlessFinal(() => S_OK),
    },
  });
}
