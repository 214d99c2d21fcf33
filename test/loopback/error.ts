import type { ComObject } from '../../src/com/com-object.js';
import { BG_E_ERROR_INFORMATION_UNAVAILABLE, BG_E_FILE_NOT_AVAILABLE, E_INVALIDARG, E_UNEXPECTED, formatHresult, hresultMessage, S_OK } from '../../src/com/hresult.js';
import { IBackgroundCopyError } from '../../src/com/interfaces.js';
import { createFileObject } from './file.js';
import type { ErrorModel, JobModel } from './job-model.js';
import type { ClientProcess } from './process.js';
import {
  counted,
  loopbackClass,
  missing,
  RPC_X_NULL_REF_POINTER,
  writeInt,
  writePointer,
  type ServiceCore,
} from './shared.js';

/** IBackgroundCopyError (Wine: struct copy_error in dlls/qmgr/job.c), a snapshot of the job's error. */

const errorClass = loopbackClass(IBackgroundCopyError);

const CONTEXTS = ['', 'Unknown context', 'Queue manager', 'Notification', 'Local file', 'Remote file', 'Transport', 'Remote application', 'Certificate callback'];

export function createErrorObject(core: ServiceCore, process: ClientProcess, job: JobModel, error: ErrorModel | undefined): ComObject {
  const fails = core.options.errorDescriptionFails;
  return errorClass.create({
    ...core.tracked('errors'),
    methods: counted(core, IBackgroundCopyError, {
      GetError: (context, code) => {
        if (missing(context, code)) return E_INVALIDARG;
        writeInt(context!, error?.context ?? 1);
        writeInt(code!, (error?.hresult ?? E_UNEXPECTED) | 0);
        return S_OK;
      },
      GetFile: (out) => {
        if (missing(out)) return E_INVALIDARG;
        if (error?.file === undefined) {
          writePointer(out!, 0n);
          return BG_E_FILE_NOT_AVAILABLE;
        }
        writePointer(out!, createFileObject(core, process, job, error.file).address);
        return S_OK;
      },
      GetErrorDescription: (_language, out) => {
        if (missing(out)) return E_INVALIDARG;
        // As Wine answers (wine.md).
        if (fails) return RPC_X_NULL_REF_POINTER;
        const hr = error?.hresult ?? E_UNEXPECTED;
        writePointer(out!, process.taskMemory.allocString(hresultMessage(hr) ?? `Error ${formatHresult(hr)}`));
        return S_OK;
      },
      GetErrorContextDescription: (_language, out) => {
        if (missing(out)) return E_INVALIDARG;
        writePointer(out!, process.taskMemory.allocString(`The error occurred in: ${CONTEXTS[error?.context ?? 1]}`));
        return S_OK;
      },
      GetProtocol: (out) => {
        if (missing(out)) return E_INVALIDARG;
        const url = error?.file?.url;
        if (url === undefined) return BG_E_ERROR_INFORMATION_UNAVAILABLE;
        writePointer(out!, process.taskMemory.allocString(url.startsWith('http') ? 'http' : 'file'));
        return S_OK;
      },
    }),
  });
}
