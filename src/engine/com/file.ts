import koffi from 'koffi';
import type { ComObject } from '../../com/com-object.js';
import { E_INVALIDARG, S_OK } from '../../com/hresult.js';
import { IBackgroundCopyFile } from '../../com/interfaces.js';
import { BG_FILE_PROGRESS, BG_SIZE_UNKNOWN, type Pointer } from '../../com/native-types.js';
import type { FileRecord } from '../job-record.js';
import { engineClass, missing, outString, type EngineContext } from './context.js';

/** IBackgroundCopyFile: a new object each time one is handed out, reading the job's live record. */

const fileClass = engineClass(IBackgroundCopyFile);

export function createFileObject(context: EngineContext, file: FileRecord): ComObject {
  return fileClass.create({
    ...context.opened(),
    methods: {
      GetRemoteName: (out: Pointer | null) => outString(context, out, file.url),
      GetLocalName: (out: Pointer | null) => outString(context, out, file.localPath),
      GetProgress: (out: Pointer | null) => {
        if (missing(out)) return E_INVALIDARG;
        koffi.encode(out, BG_FILE_PROGRESS, {
          BytesTotal: file.bytesTotal === undefined ? BG_SIZE_UNKNOWN : BigInt(file.bytesTotal),
          BytesTransferred: BigInt(file.bytesTransferred),
          Completed: file.completed ? 1 : 0,
        });
        return S_OK;
      },
    },
  });
}
