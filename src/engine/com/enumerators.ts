import koffi from 'koffi';
import type { ComClass, ComObject } from '../../com/com-object.js';
import { E_INVALIDARG, S_FALSE, S_OK } from '../../com/hresult.js';
import { IEnumBackgroundCopyFiles, IEnumBackgroundCopyJobs } from '../../com/interfaces.js';
import { POINTER_SIZE } from '../../com/native-types.js';
import { engineClass, missing, outObject, outUint } from './context.js';
import type { ObjectContext } from './file.js';

/** IEnumBackgroundCopyJobs and IEnumBackgroundCopyFiles, over a snapshot taken when made. */

const enumJobsClass = engineClass(IEnumBackgroundCopyJobs);
const enumFilesClass = engineClass(IEnumBackgroundCopyFiles);

// IEnumBackgroundCopyFiles has the same table, so this type stands for both classes.
type EnumeratorClass = ComClass<typeof IEnumBackgroundCopyJobs>;

/** `make(i)` makes the i-th item's object, with one reference for the caller. */
export function createEnumerator(context: ObjectContext, kind: 'jobs' | 'files', count: number, make: (index: number) => ComObject, start = 0): ComObject {
  const cls: EnumeratorClass = kind === 'jobs' ? enumJobsClass : enumFilesClass;
  let position = start;
  return cls.create({
    ...context.opened(),
    methods: {
      Next: (wanted, out, fetched) => {
        if (missing(out) || (wanted > 1 && missing(fetched))) return E_INVALIDARG;
        let n = 0;
        for (; n < wanted && position < count; n++, position++) koffi.encode(out, n * POINTER_SIZE, 'void *', make(position).address);
        if (!missing(fetched)) koffi.encode(fetched, 'uint32', n);
        return n === wanted ? S_OK : S_FALSE;
      },
      // S_OK when it skipped as many as asked, S_FALSE when fewer were left.
      Skip: (wanted) => {
        const skipped = Math.min(wanted, count - position);
        position += skipped;
        return skipped === wanted ? S_OK : S_FALSE;
      },
      Reset: () => ((position = 0), S_OK),
      Clone: (out) => outObject(out, () => createEnumerator(context, kind, count, make, position)),
      GetCount: (out) => outUint(out, count),
    },
  });
}
