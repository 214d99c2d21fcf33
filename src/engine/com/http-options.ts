import type { ComObject } from '../../com/com-object.js';
import { BG_E_INVALID_STATE, E_INVALIDARG, E_NOTIMPL, S_FALSE, S_OK } from '../../com/hresult.js';
import { IBackgroundCopyJob, IBackgroundCopyJobHttpOptions, IUnknown } from '../../com/interfaces.js';
import type { EngineJob } from '../engine-job.js';
import { engineClass, missing, outUint, writePointer, type EngineContext } from './context.js';

/**
 * IBackgroundCopyJobHttpOptions as a tear-off of a job object, holding a reference on it. Custom
 * headers are sent with every request of the job; client certificates are not supported (E_NOTIMPL),
 * and security flags are kept but only the redirect policy's default is honoured.
 */

const httpOptionsClass = engineClass(IBackgroundCopyJobHttpOptions);

export function createHttpOptions(context: EngineContext, job: EngineJob, jobObject: ComObject): ComObject {
  jobObject.addRef();
  const live = context.opened();
  return httpOptionsClass.create({
    onFinalRelease: () => {
      jobObject.release();
      live.onFinalRelease();
    },
    queryInterface: (iid) => {
      if (iid !== IUnknown.iid && iid !== IBackgroundCopyJob.iid) return undefined;
      jobObject.addRef();
      return jobObject.address;
    },
    methods: {
      SetCustomHeaders: (headers) =>
        job.set((record) => {
          record.headers = headers ?? '';
        }),
      // S_FALSE with NULL: "The job does not specify custom headers".
      GetCustomHeaders: (out) => {
        if (missing(out)) return E_INVALIDARG;
        if (job.record.headers === '') {
          writePointer(out!, 0n);
          return S_FALSE;
        }
        writePointer(out!, context.taskMemory.allocString(job.record.headers));
        return S_OK;
      },
      SetSecurityFlags: (flags) => (job.final ? BG_E_INVALID_STATE : flags === 0 ? S_OK : E_NOTIMPL),
      GetSecurityFlags: (out) => outUint(out, 0),
    },
  });
}
