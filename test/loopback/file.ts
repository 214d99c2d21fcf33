import type { ComObject } from '../../src/com/com-object.js';
import { E_INVALIDARG, S_OK } from '../../src/com/hresult.js';
import { IBackgroundCopyFile } from '../../src/com/interfaces.js';
import type { Pointer } from '../../src/com/native-types.js';
import { writeFileProgress } from '../../src/engine/com/structs.js';
import type { FileModel } from './job-model.js';
import type { ClientProcess } from './process.js';
import { counted, loopbackClass, missing, writePointer, type ServiceCore } from './shared.js';

/** IBackgroundCopyFile (Wine: dlls/qmgr/file.c): a new object each time one is handed out. */

const fileClass = loopbackClass(IBackgroundCopyFile);

export function createFileObject(core: ServiceCore, process: ClientProcess, file: FileModel): ComObject {
  const string = (out: Pointer | null, value: string): number => {
    if (missing(out)) return E_INVALIDARG;
    writePointer(out!, process.taskMemory.allocString(value));
    return S_OK;
  };
  return fileClass.create({
    ...core.tracked('files'),
    methods: counted(core, IBackgroundCopyFile, {
      GetRemoteName: (out) => string(out, file.url),
      GetLocalName: (out) => string(out, file.localPath),
      GetProgress: (out) => (missing(out) ? E_INVALIDARG : (writeFileProgress(out!, file), S_OK)),
    }),
  });
}
