import koffi from 'koffi';
import { loadOleAutomation, type OleAutomation } from './automation.js';
import { apartmentThread, comCallThreads } from './call-threads.js';
import { ComError, UnsupportedPlatformError } from './errors.js';
import { encodeGuid, type Guid } from './guid.js';
import { isFailure, toUnsignedHresult } from './hresult.js';
import { pointerSlot, readPointer, type Pointer } from './native-types.js';

/**
 * What the library needs from a COM runtime: an apartment, object creation and the task allocator.
 * On Windows this is ole32; tests inject the loopback service in its place.
 */
export interface ComRuntime {
  /** How local paths look to the service: Windows paths, or POSIX paths for a runtime on Linux. */
  readonly pathStyle: 'win32' | 'posix';
  /** Keeps a multithreaded apartment alive for the process; idempotent once it succeeded. */
  initialize(): Promise<void>;
  /** CoCreateInstance: an owned pointer to `iid` on a new instance of `clsid`. */
  createInstance(clsid: Guid, iid: Guid): Promise<Pointer>;
  /** CoTaskMemFree, for every string the service returns. */
  freeTaskMemory(address: Pointer): void;
  /**
   * CoDisconnectObject: drops the references other processes hold on one of our objects through COM.
   * When the service dies holding our callback object, COM keeps those references for the dead
   * client until its ping times out (minutes); a process that exits meanwhile has COM calling into
   * an object whose code is being torn down.
   */
  disconnectObject(address: Pointer): Promise<void>;
  /**
   * oleaut32's BSTR and VARIANT functions, for Delivery Optimization's properties. Optional: only
   * the 'delivery-optimization' backend needs them, and a runtime without them cannot serve it.
   */
  readonly automation?: OleAutomation;
  /**
   * CoSetProxyBlanket with impersonation, on a Delivery Optimization download's proxy, as winget does
   * right after CreateDownload: DO writes LocalPath as the caller, which the default (identify) level
   * does not let it do. Optional: a runtime whose objects are not proxies (a test's) has none.
   */
  setProxyBlanket?(address: Pointer): Promise<void>;
}

const COINIT_MULTITHREADED = 0x0;
const CLSCTX_LOCAL_SERVER = 0x4;
const RPC_C_AUTHN_DEFAULT = 0xffffffff;
const RPC_C_AUTHZ_DEFAULT = 0xffffffff;
/** COLE_DEFAULT_PRINCIPAL: (OLECHAR *)-1. */
const COLE_DEFAULT_PRINCIPAL = 0xffffffffffffffffn;
const RPC_C_AUTHN_LEVEL_DEFAULT = 0;
const RPC_C_IMP_LEVEL_IMPERSONATE = 3;
const EOAC_DEFAULT = 0x800;

/** The ole32 exports the runtime calls, as native function addresses. @internal */
export interface Ole32Binding {
  symbol(name: 'CoInitializeEx' | 'CoCreateInstance' | 'CoTaskMemFree' | 'CoDisconnectObject' | 'CoSetProxyBlanket'): Pointer;
}

function loadOle32(): Ole32Binding {
  const lib = koffi.load('ole32.dll');
  // The closure holds `lib`: the addresses stay valid while the runtime lives.
  return { symbol: (name) => lib.symbol(name) as Pointer };
}

/**
 * A COM runtime over an ole32 binding: ole32.dll on Windows, a fake one in tests.
 *
 * The JS thread's apartment is left alone, always: Electron makes its main thread a single-threaded
 * apartment after `ready`, and a thread that joined the MTA first breaks OLE drag-and-drop and the
 * clipboard. Instead the apartment thread (call-threads.ts) calls CoInitializeEx(MTA) and never
 * uninitializes, which keeps the MTA alive for the life of the process; the call threads, which never
 * initialize COM, belong to that MTA implicitly, so the interface pointers they use are valid on any
 * of them. CoCreateInstance runs on a call thread: starting the service can take a second, and the JS
 * thread must stay free for the calls the service makes into our objects.
 * @internal
 */
export function createWin32Runtime(load: () => Ole32Binding): ComRuntime {
  const ole32 = load();
  const CoInitializeEx = ole32.symbol('CoInitializeEx');
  const CoCreateInstance = ole32.symbol('CoCreateInstance');
  const CoTaskMemFree = koffi.decode(ole32.symbol('CoTaskMemFree'), koffi.proto('void __stdcall (void *memory)')) as (
    memory: Pointer,
  ) => void;

  let initialized: Promise<void> | undefined;
  let automation: OleAutomation | undefined;
  const runtime: ComRuntime = {
    pathStyle: 'win32',
    // Loaded on first use: only Delivery Optimization needs oleaut32.
    get automation() {
      automation ??= loadOleAutomation();
      return automation;
    },
    initialize() {
      // A failure is not kept: the next connect() tries again.
      initialized ??= apartmentThread
        .call(CoInitializeEx, 'int __stdcall (void *reserved, uint32 coinit)', [null, COINIT_MULTITHREADED])
        .then((hr) => {
          if (isFailure(hr)) throw new ComError(toUnsignedHresult(hr), 'ole32', 'CoInitializeEx');
        })
        .catch((error: unknown) => {
          initialized = undefined;
          throw error;
        });
      return initialized;
    },
    async createInstance(clsid, iid) {
      await runtime.initialize();
      const slot = pointerSlot();
      const hr = await comCallThreads.call(
        CoCreateInstance,
        'int __stdcall (const void *clsid, void *outer, uint32 context, const void *iid, _Out_ void *object)',
        [encodeGuid(clsid), null, CLSCTX_LOCAL_SERVER, encodeGuid(iid), slot],
      );
      if (isFailure(hr)) throw new ComError(hr, 'ole32', `CoCreateInstance(${clsid})`);
      return readPointer(slot);
    },
    freeTaskMemory(address) {
      CoTaskMemFree(address);
    },
    async disconnectObject(address) {
      // On a call thread: COM releases the references now, and our object's Release runs on the JS thread.
      const hr = await comCallThreads.call(ole32.symbol('CoDisconnectObject'), 'int __stdcall (void *unknown, uint32 reserved)', [address, 0]);
      if (isFailure(hr)) throw new ComError(hr, 'ole32', 'CoDisconnectObject');
    },
    async setProxyBlanket(address) {
      // winget's values (do-com.md, "COM security"): default authentication, authorization and
      // principal, the default level, impersonation, no identity, EOAC_DEFAULT.
      const hr = await comCallThreads.call(
        ole32.symbol('CoSetProxyBlanket'),
        'int __stdcall (void *proxy, uint32 authn, uint32 authz, void *principal, uint32 level, uint32 impersonation, void *identity, uint32 capabilities)',
        [address, RPC_C_AUTHN_DEFAULT, RPC_C_AUTHZ_DEFAULT, COLE_DEFAULT_PRINCIPAL, RPC_C_AUTHN_LEVEL_DEFAULT, RPC_C_IMP_LEVEL_IMPERSONATE, null, EOAC_DEFAULT],
      );
      if (isFailure(hr)) throw new ComError(hr, 'ole32', 'CoSetProxyBlanket');
    },
  };
  return runtime;
}

let ole32Runtime: ComRuntime | undefined;

/** ole32 on Windows: one runtime per process. */
export function win32Runtime(): ComRuntime {
  ole32Runtime ??= createWin32Runtime(loadOle32);
  return ole32Runtime;
}

/** ole32 on Windows; elsewhere an {@link UnsupportedPlatformError}. */
export function defaultRuntime(): ComRuntime {
  if (process.platform !== 'win32') throw new UnsupportedPlatformError(process.platform);
  return win32Runtime();
}
