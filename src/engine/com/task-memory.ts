import koffi from 'koffi';
import type { Pointer } from '../../com/native-types.js';

/**
 * The engine's CoTaskMemAlloc/CoTaskMemFree: strings it hands out through out-parameters belong to
 * the caller, who frees them through the runtime's `freeTaskMemory`, as with a COM service.
 */
export class TaskMemory {
  readonly #outstanding = new Set<Pointer>();

  /** Strings handed out and not yet freed. */
  get outstanding(): number {
    return this.#outstanding.size;
  }

  /** A NUL-terminated UTF-16 copy of `text`, owned by whoever receives it. */
  allocString(text: string): Pointer {
    const units = text.length + 1;
    const address = koffi.alloc('char16_t', units) as Pointer;
    koffi.encode(address, 'char16_t', text, units);
    this.#outstanding.add(address);
    return address;
  }

  free(address: Pointer): void {
    if (address === 0n) return;
    // Freeing what we did not hand out would corrupt the heap: refuse it loudly instead.
    if (!this.#outstanding.delete(address)) throw new Error(`freeTaskMemory(${address}): not a string the portable engine handed out`);
    koffi.free(address);
  }
}
