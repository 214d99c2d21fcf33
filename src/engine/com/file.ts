import type { ComObject } from '../../com/com-object.js';
import { E_INVALIDARG, S_OK } from '../../com/hresult.js';
import { IBackgroundCopyFile } from '../../com/interfaces.js';
import { engineClass, missing, outString, type EngineContext } from './context.js';
import { writeFileProgress, type FileProgressFields } from './structs.js';

/**
 * IBackgroundCopyFile: a new object each time one is handed out, reading the job's live record. Also
 * served by the Delivery Optimization bridge (src/do), over its own file records.
 */

/** What a file object reads: its names and progress. */
export interface ServedFile extends FileProgressFields {
  readonly url: string;
  readonly localPath: string;
}

/** What a file, error or enumerator object needs of its service: the task allocator and the count of objects held. */
export type ObjectContext = Pick<EngineContext, 'taskMemory' | 'opened'>;

const fileClass = engineClass(IBackgroundCopyFile);

export function createFileObject(context: ObjectContext, file: ServedFile): ComObject {
  return fileClass.create({
    ...context.opened(),
    methods: {
      GetRemoteName: (out) => outString(context, out, file.url),
      GetLocalName: (out) => outString(context, out, file.localPath),
      GetProgress: (out) => (missing(out) ? E_INVALIDARG : (writeFileProgress(out!, file), S_OK)),
    },
  });
}
