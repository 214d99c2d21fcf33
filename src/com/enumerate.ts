import { ComPtr } from './com-ptr.js';
import type { ComInterface } from './interface-table.js';
import type { IEnumBackgroundCopyFiles } from './interfaces.js';
import { pointerSlot, readPointer } from './native-types.js';

/**
 * Walks an IEnumBackgroundCopyJobs/Files one item at a time (Next), yielding an owned reference to
 * each item. The enumerator is released when the walk ends, fails or is abandoned; each item is the
 * caller's to release.
 */
export async function* enumerate<I extends ComInterface>(
  // IEnumBackgroundCopyJobs has the same table, so this type stands for both.
  enumerator: ComPtr<typeof IEnumBackgroundCopyFiles> | undefined,
  itemInterface: I,
): AsyncGenerator<ComPtr<I>, void, undefined> {
  if (enumerator === undefined) return;
  try {
    for (;;) {
      const item = pointerSlot();
      const fetched = Buffer.alloc(4);
      await enumerator.call('Next', 1, item, fetched);
      if (fetched.readUInt32LE() === 0) return;
      yield ComPtr.adopt(readPointer(item), itemInterface);
    }
  } finally {
    await enumerator.release();
  }
}
