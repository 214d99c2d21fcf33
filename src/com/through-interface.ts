import type { Backend } from './backend.js';
import { introducedIn } from './bits-versions.js';
import type { ComPtr } from './com-ptr.js';
import { ComError, InterfaceNotSupportedError } from './errors.js';
import { E_NOINTERFACE } from './hresult.js';
import type { ComInterface } from './interface-table.js';

/**
 * Uses a service object (a job, a file) through another of its interfaces, QueryInterface'd for the
 * call and released afterwards. E_NOINTERFACE is an {@link InterfaceNotSupportedError} naming the
 * interface and the BITS version that introduced it, and is remembered in `refused`: the answer is the
 * service's for good, so it is asked once per owner of the set (a job shares its set with its files).
 */
export async function throughInterface<I extends ComInterface, T>(
  source: ComPtr,
  target: I,
  refused: Set<ComInterface>,
  backend: Backend,
  use: (ptr: ComPtr<I>) => Promise<T>,
): Promise<T> {
  const notSupported = () => new InterfaceNotSupportedError(backend, target.name, introducedIn(target.name)?.version);
  if (refused.has(target)) throw notSupported();
  let ptr: ComPtr<I>;
  try {
    ptr = await source.queryInterface(target);
  } catch (error) {
    if (!(error instanceof ComError && error.hresult === E_NOINTERFACE)) throw error;
    refused.add(target);
    throw notSupported();
  }
  try {
    return await use(ptr);
  } finally {
    await ptr.release();
  }
}
