import koffi from 'koffi';
import type { ComObject } from '../../com/com-object.js';
import { BG_JOB_ENUM_ALL_USERS } from '../../com/enums.js';
import { encodeGuid, type Guid } from '../../com/guid.js';
import { BG_E_NOT_FOUND, E_INVALIDARG, E_NOTIMPL, hresultMessage, S_OK } from '../../com/hresult.js';
import { IBackgroundCopyManager } from '../../com/interfaces.js';
import { engineClass, missing, outObject, outString, readGuid, writePointer } from './context.js';
import { createEnumerator } from './enumerators.js';
import type { ObjectContext } from './file.js';

/**
 * IBackgroundCopyManager of an in-process server, one per connect(): the portable engine's and the
 * Delivery Optimization bridge's (src/do). Both only download, and both hold one user's jobs.
 */

const managerClass = engineClass(IBackgroundCopyManager);

/** What the manager reaches into: the server's jobs, by id, and the objects it hands out for them. */
export interface ManagerContext<J extends { readonly id: string }> extends ObjectContext {
  readonly jobs: ReadonlyMap<Guid, J>;
  createJob(displayName: string): J;
  /** The job's object, with one more reference for the caller. */
  jobObject(job: J): ComObject;
}

export function createManager<J extends { readonly id: string }>(context: ManagerContext<J>): ComObject {
  return managerClass.create({
    ...context.opened(),
    methods: {
      CreateJob: (name, type, idOut, jobOut) => {
        if (name === null || missing(idOut, jobOut) || type < 0 || type > 2) return E_INVALIDARG;
        // An upload needs the BITS server extension on the other side, which neither server speaks.
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
      // One user's jobs (the engine's state directory, DO's downloads of this caller): no other users' to list.
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
