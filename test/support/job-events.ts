import { hresultName, parseGuid, type ErrorContext, type ErrorEvent, type JobFileInfo } from '../../src/index.js';

/** The job id the operator tests' events carry. */
export const TEST_JOB_ID = parseGuid('11111111-2222-3333-4444-555555555555');
export const HTTP_404 = 0x80190194;

/** A job's `error` event, as a callback delivers it: by default a permanent 404 on the remote file. */
export function jobFailure({
  hresult = HTTP_404,
  context = 'remoteFile' as ErrorContext,
  transient = false,
  file = undefined as JobFileInfo | undefined,
} = {}): ErrorEvent {
  return {
    type: 'error',
    jobId: TEST_JOB_ID,
    source: 'callback',
    transient,
    error: { context, hresult, code: hresultName(hresult), description: 'it failed', contextDescription: undefined, protocol: undefined, file },
  };
}
