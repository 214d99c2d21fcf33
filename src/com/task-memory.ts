import koffi from 'koffi';
import type { ComRuntime } from './runtime.js';
import { readPointer } from './native-types.js';

/** Reads the string a service returned through an `LPWSTR *` out-parameter and frees it (CoTaskMemFree). */
export function takeString(runtime: ComRuntime, slot: Buffer, index = 0): string {
  const address = readPointer(slot, index);
  if (address === 0n) return '';
  try {
    return koffi.decode.string16(address);
  } finally {
    runtime.freeTaskMemory(address);
  }
}
