import koffi from 'koffi';
import type { ComObject } from '../../src/com/com-object.js';
import { IEnumUnknown } from '../../src/com/do-interfaces.js';
import { E_INVALIDARG, S_FALSE, S_OK } from '../../src/com/hresult.js';
import { POINTER_SIZE } from '../../src/com/native-types.js';
import { missing } from '../loopback/shared.js';
import { countedDo, doClass, type DoServiceCore } from './shared.js';

/** IEnumUnknown over a snapshot of downloads taken when EnumDownloads made it. */

const enumClass = doClass(IEnumUnknown);

/** `make(i)` makes the i-th item's object, with one reference for the caller. */
export function createEnumUnknown(core: DoServiceCore, count: number, make: (index: number) => ComObject, start = 0): ComObject {
  let position = start;
  return enumClass.create({
    ...core.tracked('enumerators'),
    methods: countedDo(core, IEnumUnknown, {
      Next: (wanted, out, fetched) => {
        if (missing(out) || (wanted > 1 && missing(fetched))) return E_INVALIDARG;
        let n = 0;
        for (; n < wanted && position < count; n++, position++) koffi.encode(out, n * POINTER_SIZE, 'void *', make(position).address);
        if (!missing(fetched)) koffi.encode(fetched, 'uint32', n);
        return n === wanted ? S_OK : S_FALSE;
      },
      Skip: (wanted) => {
        const skipped = Math.min(wanted, count - position);
        position += skipped;
        return skipped === wanted ? S_OK : S_FALSE;
      },
      Reset: () => ((position = 0), S_OK),
      Clone: (out) => {
        if (missing(out)) return E_INVALIDARG;
        koffi.encode(out, 'void *', createEnumUnknown(core, count, make, position).address);
        return S_OK;
      },
    }),
  });
}
