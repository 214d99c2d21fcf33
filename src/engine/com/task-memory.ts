import koffi from 'koffi';
import type { Pointer } from '../../com/native-types.js';

/**
 * CoTaskMemAlloc/CoTaskMemFree of a service written in JavaScript (the portable engine, and the
 * tests' loopback service): strings handed out through out-parameters belong to the caller, who
 * frees them through the runtime's `freeTaskMemory`. It remembers what it handed out, so a free of
 * anything else is refused loudly (and counted) instead of corrupting the heap.
 */
export class TaskMemory {
  readonly #outstanding = new Set<Pointer>();
  /** Frees of addresses not handed out (or freed already). */
  doubleFrees = 0;

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

  /** A copy of `bytes` (GetReplyData's buffer), owned by whoever receives it. */
  allocBytes(bytes: Uint8Array): Pointer {
    const address = koffi.alloc('uint8_t', bytes.length) as Pointer;
    new Uint8Array(koffi.view(address, bytes.length)).set(bytes);
    this.#outstanding.add(address);
    return address;
  }

  free(address: Pointer): void {
    if (address === 0n) return;
    if (!this.#outstanding.delete(address)) {
      this.doubleFrees++;
      throw new Error(`freeTaskMemory(${address}): not a string this allocator handed out (a double free?)`);
    }
    koffi.free(address);
  }
}
