import type { ComObject } from '../../com/com-object.js';
import { ERROR_CONTEXTS } from '../../com/enums.js';
import { BG_E_FILE_NOT_AVAILABLE, E_FAIL, E_INVALIDARG, formatHresult, hresultMessage, S_OK } from '../../com/hresult.js';
import { IBackgroundCopyError } from '../../com/interfaces.js';
import type { ErrorRecord } from '../job-record.js';
import { engineClass, missing, outObject, outString, writeInt, writePointer } from './context.js';
import { createFileObject, type ObjectContext, type ServedFile } from './file.js';

/** IBackgroundCopyError: a snapshot of the job's error when it was asked for. */

const errorClass = engineClass(IBackgroundCopyError);

/** What GetErrorContextDescription says for each BG_ERROR_CONTEXT. */
const CONTEXT_TEXT: Readonly<Record<(typeof ERROR_CONTEXTS)[number], string>> = {
  none: 'No error context.',
  unknown: 'The error context is unknown.',
  generalQueueManager: 'The error occurred in the transfer queue manager.',
  queueManagerNotification: 'The error occurred while notifying the application.',
  localFile: 'The error occurred while writing the local file.',
  remoteFile: 'The error occurred while reading the remote file.',
  generalTransport: 'The error occurred in the network transport.',
  remoteApplication: 'The error occurred in the server application.',
  serverCertificateCallback: 'The error occurred in the server certificate validation callback.',
};

export function createErrorObject(context: ObjectContext, error: ErrorRecord, file: ServedFile | undefined): ComObject {
  const protocol = file === undefined ? undefined : /^https?:/i.test(file.url) ? 'http' : 'file';
  return errorClass.create({
    ...context.opened(),
    methods: {
      GetError: (contextOut, codeOut) => {
        if (missing(contextOut, codeOut)) return E_INVALIDARG;
        writeInt(contextOut!, ERROR_CONTEXTS.indexOf(error.context));
        writeInt(codeOut!, error.hresult | 0);
        return S_OK;
      },
      GetFile: (out) => {
        if (missing(out)) return E_INVALIDARG;
        if (file === undefined) {
          writePointer(out!, 0n);
          return BG_E_FILE_NOT_AVAILABLE;
        }
        return outObject(out, () => createFileObject(context, file));
      },
      // As BITS: the code's own text. What the engine saw happen says more for a code without one, and
      // for E_FAIL, which the engine answers only for a failure it could not classify.
      GetErrorDescription: (_language, out) => {
        const known = error.hresult === E_FAIL ? undefined : hresultMessage(error.hresult);
        return outString(context, out, known ?? (error.message !== '' ? error.message : `Error ${formatHresult(error.hresult)}`));
      },
      GetErrorContextDescription: (_language, out) => outString(context, out, CONTEXT_TEXT[error.context]),
      GetProtocol: (out) => (protocol === undefined ? BG_E_FILE_NOT_AVAILABLE : outString(context, out, protocol)),
    },
  });
}
