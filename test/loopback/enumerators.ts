import koffi from 'koffi';
import type { ComClass, ComObject } from '../../src/com/com-object.js';
import { E_INVALIDARG, S_FALSE, S_OK } from '../../src/com/hresult.js';
import { IEnumBackgroundCopyFiles, IEnumBackgroundCopyJobs } from '../../src/com/interfaces.js';
import { POINTER_SIZE, type Pointer } from '../../src/com/native-types.js';
import { createFileObject } from './file.js';
import type { FileModel, JobModel } from './job-model.js';
import type { ClientProcess } from './process.js';
import { counted, loopbackClass, missing, uint, writePointer, writeUint, type ServiceCore } from './shared.js';

/** IEnumBackgroundCopyJobs and IEnumBackgroundCopyFiles (Wine: dlls/qmgr/enum_jobs.c, enum_files.c), over a snapshot. */

const enumJobsClass = loopbackClass(IEnumBackgroundCopyJobs);
const enumFilesClass = loopbackClass(IEnumBackgroundCopyFiles);

/** Over the job objects of one process; it owns one reference on each (given to it) until released. */
export function createJobEnumerator(core: ServiceCore, objects: readonly ComObject[], start: number): ComObject {
  const hand = (object: ComObject): Pointer => (object.addRef(), object.address);
  const clone = (position: number) => {
    for (const object of objects) object.addRef();
    return createJobEnumerator(core, objects, position);
  };
  return createEnumerator(core, enumJobsClass, IEnumBackgroundCopyJobs, objects, start, hand, clone, () => {
    for (const object of objects) object.release();
  });
}

/** Each item handed out is a new file object of `process`. */
export function createFileEnumerator(core: ServiceCore, process: ClientProcess, job: JobModel, files: readonly FileModel[], start: number): ComObject {
  const hand = (file: FileModel): Pointer => createFileObject(core, process, job, file).address;
  const clone = (position: number) => createFileEnumerator(core, process, job, files, position);
  return createEnumerator(core, enumFilesClass, IEnumBackgroundCopyFiles, files, start, hand, clone);
}

function createEnumerator<T>(
  core: ServiceCore,
  cls: ComClass<typeof IEnumBackgroundCopyJobs>,
  iface: typeof IEnumBackgroundCopyJobs,
  items: readonly T[],
  start: number,
  hand: (item: T) => Pointer,
  clone: (position: number) => ComObject,
  onFinalRelease?: () => void,
): ComObject {
  let position = start;
  const live = core.tracked('enumerators');
  return cls.create({
    onFinalRelease: () => {
      live.onFinalRelease();
      onFinalRelease?.();
    },
    methods: counted(core, iface, {
      Next: (count, out, fetched) => {
        if (missing(out) || (count > 1 && missing(fetched))) return E_INVALIDARG;
        let n = 0;
        for (; n < count && position < items.length; n++, position++) {
          koffi.encode(out, n * POINTER_SIZE, 'void *', hand(items[position]!));
        }
        if (!missing(fetched)) writeUint(fetched!, n);
        return n === count ? S_OK : S_FALSE;
      },
      // "IEnumBackgroundCopyJobs::Skip": S_OK when it skipped the number asked for, S_FALSE when fewer
      // were left; landing exactly on the end is a full skip.
      Skip: (count) => {
        const skipped = Math.min(count, items.length - position);
        position += skipped;
        return skipped === count ? S_OK : S_FALSE;
      },
      Reset: () => ((position = 0), S_OK),
      Clone: (out) => {
        if (missing(out)) return E_INVALIDARG;
        writePointer(out!, clone(position).address);
        return S_OK;
      },
      GetCount: (out) => uint(out, items.length),
    }),
  });
}
