import koffi from 'koffi';
import type { ComObject } from '../../src/com/com-object.js';
import { encodeGuid } from '../../src/com/guid.js';
import { BG_JOB_ENUM_ALL_USERS } from '../../src/com/enums.js';
import { BG_E_NOT_FOUND, E_ACCESSDENIED, E_INVALIDARG, hresultMessage, S_OK } from '../../src/com/hresult.js';
import { IBackgroundCopyManager } from '../../src/com/interfaces.js';
import { createJobEnumerator } from './enumerators.js';
import type { ClientProcess } from './process.js';
import { counted, loopbackClass, missing, readGuid, writePointer, type ServiceCore } from './shared.js';

/** IBackgroundCopyManager (Wine: dlls/qmgr/qmgr.c), one per CoCreateInstance, in the process that created it. */

const managerClass = loopbackClass(IBackgroundCopyManager);

export function createManager(core: ServiceCore, process: ClientProcess): ComObject {
  return managerClass.create({
    ...core.tracked('managers'),
    methods: counted(core, IBackgroundCopyManager, {
      CreateJob: (name, type, idOut, jobOut) => {
        if (name === null || missing(idOut, jobOut) || type < 0 || type > 2) return E_INVALIDARG;
        const entry = core.createJob(name, type, process.identity.user);
        // IBackgroundCopyJob4::GetOwnerElevationState: the creator's token, as it was then.
        entry.model.ownerElevated = process.identity.elevated;
        koffi.encode(idOut, 'uint8_t[16]', [...encodeGuid(entry.model.id)]);
        writePointer(jobOut!, process.jobObject(entry).address);
        return S_OK;
      },
      GetJob: (idIn, jobOut) => {
        if (missing(idIn, jobOut)) return E_INVALIDARG;
        const entry = core.jobs.get(readGuid(idIn!));
        if (entry === undefined) return BG_E_NOT_FOUND;
        writePointer(jobOut!, process.jobObject(entry).address);
        return S_OK;
      },
      EnumJobs: (flags, out) => {
        if (missing(out)) return E_INVALIDARG;
        // Flag 0: the caller's own jobs. BG_JOB_ENUM_ALL_USERS: "The user must be an administrator to
        // use this flag", else E_ACCESSDENIED (IBackgroundCopyManager::EnumJobs reference).
        const allUsers = (flags & BG_JOB_ENUM_ALL_USERS) !== 0;
        if (allUsers && !process.identity.elevated) return E_ACCESSDENIED;
        const objects = [...core.jobs.values()]
          .filter((entry) => allUsers || entry.model.owner === process.identity.user)
          .map((entry) => process.jobObject(entry));
        writePointer(out!, createJobEnumerator(core, objects, 0).address);
        return S_OK;
      },
      GetErrorDescription: (hr, _language, out) => {
        if (missing(out)) return E_INVALIDARG;
        const message = hresultMessage(hr);
        if (message === undefined) return BG_E_NOT_FOUND;
        writePointer(out!, process.taskMemory.allocString(message));
        return S_OK;
      },
    }),
  });
}
