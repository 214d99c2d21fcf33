import type { ComObject } from '../../com/com-object.js';
import { E_INVALIDARG, S_OK } from '../../com/hresult.js';
import { IBackgroundCopyFile } from '../../com/interfaces.js';
import type { FileRecord } from '../job-record.js';
import { engineClass, missing, outString, type EngineContext } from './context.js';
import { writeFileProgress } from './structs.js';

/** IBackgroundCopyFile: a new object each time one is handed out, reading the job's live record. */

const fileClass = engineClass(IBackgroundCopyFile);

export function createFileObject(context: EngineContext, file: FileRecord): ComObject {
  return fileClass.create({
    ...context.opened(),
    methods: {
      GetRemoteName: (out) => outString(context, out, file.url),
      GetLocalName: (out) => outString(context, out, file.localPath),
      GetProgress: (out) => (missing(out) ? E_INVALIDARG : (writeFileProgress(out!, file), S_OK)),
    },
  });
}
