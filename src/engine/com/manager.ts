import koffi from 'koffi';
import type { ComObject } from '../../com/com-object.js';
import { BG_JOB_ENUM_ALL_USERS } from '../../com/enums.js';
import { encodeGuid, type Guid } from '../../com/guid.js';
import { BG_E_NOT_FOUND, E_INVALIDARG, E_NOTIMPL, hresultMessage, S_OK } from '../../com/hresult.js';
import { IBackgroundCopyManager } from '../../com/interfaces.js';
import { engineClass, missing, outObject, outString, readGuid, writePointer, type EngineContext } from './context.js';
import { createEnumerator } from './enumerators.js';

/** IBackgroundCopyManager of the portable engine: one per connect(). */

const managerClass = engineClass(IBackgroundCopyManager);

export function createManager(context: EngineContext): ComObject {
  return managerClass.create({
    ...context.opened(),
    methods: {
      CreateJob: (name, type, idOut, jobOut) => {
        if (name === null || missing(idOut, jobOut) || type < 0 || type > 2) return E_INVALIDARG;
        // Uploads need a BITS server extension on the other side; the engine only downloads.
        if (type !== 0) return E_NOTIMPL;
        const job = context.createJob(name);
        koffi.encode(idOut, 'uint8_t[16]', [...encodeGuid(job.id as Guid)]);
        writePointer(jobOut!, context.jobObject(job).address);
        return S_OK;
      },
      GetJob: (idIn, jobOut) => {
        if (missing(idIn, jobOut)) return E_INVALIDARG;
        const job = context.jobs.get(readGuid(idIn!));
        if (job === undefined) return BG_E_NOT_FOUND;
        writePointer(jobOut!, context.jobObject(job).address);
        return S_OK;
      },
      // The engine keeps one user's jobs, in that user's state directory: it has no other users' to list.
      EnumJobs: (flags, out) => {
        if ((flags & BG_JOB_ENUM_ALL_USERS) !== 0) return E_NOTIMPL;
        const jobs = [...context.jobs.values()];
        return outObject(out, () => createEnumerator(context, 'jobs', jobs.length, (i) => context.jobObject(jobs[i]!)));
      },
      GetErrorDescription: (hr, _language, out) => {
        const message = hresultMessage(hr);
        return message === undefined ? BG_E_NOT_FOUND : outString(context, out, message);
      },
    },
  });
}
