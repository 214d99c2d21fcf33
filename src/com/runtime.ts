import koffi from 'koffi';
import { ComError, UnsupportedPlatformError } from './errors.js';
import { encodeGuid, type Guid } from './guid.js';
import { isFailure, RPC_E_CHANGED_MODE, toUnsignedHresult } from './hresult.js';
import { pointerSlot, readPointer, type Pointer } from './native-types.js';

/**
 * What the library needs from a COM runtime: an apartment, object creation and the task allocator.
 * On Windows this is ole32; tests inject the loopback service in its place.
 */
export interface ComRuntime {
  /** How local paths look to the service: Windows paths, or POSIX paths for a runtime on Linux. */
  readonly pathStyle: 'win32' | 'posix';
  /** Joins the process to a multithreaded apartment; idempotent. */
  initialize(): Promise<void>;
  /** CoCreateInstance: an owned pointer to `iid` on a new instance of `clsid`. */
  createInstance(clsid: Guid, iid: Guid): Promise<Pointer>;
  /** CoTaskMemFree, for every string the service returns. */
  freeTaskMemory(address: Pointer): void;
}

const COINIT_MULTITHREADED = 0x0;
const CLSCTX_LOCAL_SERVER = 0x4;

let ole32: { runtime: ComRuntime } | undefined;

/**
 * ole32 on Windows. CoCreateInstance goes to a worker thread: starting the service can take a
 * second, and the JS thread must stay free for the calls the service makes into our objects.
 */
export function win32Runtime(): ComRuntime {
  if (ole32 !== undefined) return ole32.runtime;
  const lib = koffi.load('ole32.dll');
  const CoInitializeEx = lib.func('int __stdcall CoInitializeEx(void *reserved, uint32 coinit)');
  const CoCreateInstance = lib.func(
    'int __stdcall CoCreateInstance(const void *clsid, void *outer, uint32 context, const void *iid, _Out_ void *object)',
  );
  const CoTaskMemFree = lib.func('void __stdcall CoTaskMemFree(void *memory)');
  const callAsync = (fn: typeof CoInitializeEx, ...args: unknown[]): Promise<number> =>
    new Promise((resolve, reject) =>
      fn.async(...args, (error: unknown, hr: number) => (error ? reject(error) : resolve(hr))),
    );

  let initialized: Promise<void> | undefined;
  const runtime: ComRuntime = {
    pathStyle: 'win32',
    initialize() {
      initialized ??= (async () => {
        // The JS thread joins the MTA where it can. Electron's main thread is already an STA
        // (RPC_E_CHANGED_MODE): then a worker thread creates the MTA and keeps it alive, so that the
        // worker threads our calls run on belong to it implicitly.
        const main = toUnsignedHresult(CoInitializeEx(null, COINIT_MULTITHREADED) as number);
        if (main === RPC_E_CHANGED_MODE) {
          const worker = toUnsignedHresult(await callAsync(CoInitializeEx, null, COINIT_MULTITHREADED));
          if (isFailure(worker)) throw new ComError(worker, 'ole32', 'CoInitializeEx');
        } else if (isFailure(main)) {
          throw new ComError(main, 'ole32', 'CoInitializeEx');
        }
      })();
      return initialized;
    },
    async createInstance(clsid, iid) {
      await runtime.initialize();
      const slot = pointerSlot();
      const hr = await callAsync(CoCreateInstance, encodeGuid(clsid), null, CLSCTX_LOCAL_SERVER, encodeGuid(iid), slot);
      if (isFailure(hr)) throw new ComError(hr, 'ole32', `CoCreateInstance(${clsid})`);
      return readPointer(slot);
    },
    freeTaskMemory(address) {
      CoTaskMemFree(address);
    },
  };
  ole32 = { runtime };
  return runtime;
}

/** ole32 on Windows; elsewhere an {@link UnsupportedPlatformError}. */
export function defaultRuntime(): ComRuntime {
  if (process.platform !== 'win32') throw new UnsupportedPlatformError(process.platform);
  return win32Runtime();
}
