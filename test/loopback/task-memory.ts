import koffi from 'koffi';
import type { Pointer } from '../../src/com/native-types.js';

/**
 * The loopback service's CoTaskMemAlloc/CoTaskMemFree. It remembers every string it hands out, so a
 * test can assert that the library freed each one exactly once.
 */
export class TaskMemory {
  readonly #outstanding = new Set<Pointer>();
  doubleFrees = 0;

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
    if (!this.#outstanding.delete(address)) {
      this.doubleFrees++;
      throw new Error(`CoTaskMemFree of ${address}, which this allocator does not own (double free?)`);
    }
    koffi.free(address);
  }
}
