import koffi from 'koffi';
import { VT, type OleAutomation } from '../../src/com/automation.js';
import { VARIANT_VALUE_OFFSET } from '../../src/com/do-native-types.js';
import { S_OK } from '../../src/com/hresult.js';
import { IUnknown } from '../../src/com/interfaces.js';
import { invokeSync } from '../../src/com/invoke.js';
import type { Pointer } from '../../src/com/native-types.js';

/**
 * oleaut32 for the loopback Delivery Optimization service and its client: BSTRs laid out as Windows
 * lays them out (a 32-bit byte length, then the NUL-terminated UTF-16 text, the pointer to the text),
 * and VariantClear freeing what a VARIANT holds. It counts every BSTR alive and refuses to free one
 * it did not allocate, so a test can assert that neither side leaks or double-frees.
 */
export class LoopbackAutomation implements OleAutomation {
  /** BSTR (text address) → the block's start. */
  readonly #blocks = new Map<Pointer, Pointer>();
  badFrees = 0;

  get outstanding(): number {
    return this.#blocks.size;
  }

  sysAllocString(text: string): Pointer {
    const bytes = text.length * 2;
    const block = koffi.alloc('uint8', 4 + bytes + 2) as Pointer;
    koffi.encode(block, 'uint32', bytes);
    const bstr = block + 4n;
    koffi.encode(bstr, 'char16_t', text, text.length + 1);
    this.#blocks.set(bstr, block);
    return bstr;
  }

  sysFreeString(bstr: Pointer): void {
    if (bstr === 0n) return;
    const block = this.#blocks.get(bstr);
    if (block === undefined) {
      this.badFrees++;
      throw new Error(`SysFreeString(${bstr}): not a BSTR this allocator handed out (a double free?)`);
    }
    this.#blocks.delete(bstr);
    koffi.free(block);
  }

  sysStringLen(bstr: Pointer): number {
    if (bstr === 0n) return 0;
    return (koffi.decode(bstr - 4n, 'uint32') as number) / 2;
  }

  variantInit(variant: Buffer): void {
    variant.fill(0, 0, VARIANT_VALUE_OFFSET + 8);
  }

  variantClear(variant: Buffer): number {
    const vt = variant.readUInt16LE(0);
    const value = variant.readBigUInt64LE(VARIANT_VALUE_OFFSET);
    if (vt === VT.BSTR) this.sysFreeString(value);
    if (vt === VT.UNKNOWN && value !== 0n) invokeSync(value, IUnknown.method('Release'));
    this.variantInit(variant);
    return S_OK;
  }
}
