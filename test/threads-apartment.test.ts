import koffi from 'koffi';
import { afterAll, expect, test } from 'vitest';
import { apartmentThread, comCallThreads, type CallThreadStats } from '../src/com/call-threads.js';
import { ComError } from '../src/com/errors.js';
import { parseGuid } from '../src/com/guid.js';
import { createWin32Runtime } from '../src/com/runtime.js';
import type { Pointer } from '../src/com/native-types.js';

/**
 * The ole32 runtime over a fake ole32 whose exports are koffi callbacks on this (the JS) thread. A
 * call from another thread reaches them relayed, after the caller's synchronous code has run; a call
 * from this thread would run at once, inside `initialize()`.
 */

const S_OK = 0;
const E_FAIL = 0x80004005 | 0;
const OBJECT = 0x5eed0n;

interface Seen {
  readonly name: string;
  /** Whether it ran synchronously inside initialize()/createInstance(), i.e. on the JS thread. */
  readonly onCallingThread: boolean;
  readonly apartment: CallThreadStats;
  readonly calls: CallThreadStats;
  readonly coinit?: number;
  /** CoSetProxyBlanket's authentication, authorization, level, impersonation and capabilities. */
  readonly blanket?: readonly number[];
}

const seen: Seen[] = [];
let insideCall = false;
const answers = [E_FAIL, S_OK];
const record = (name: string, extra: Partial<Seen> = {}) =>
  seen.push({ name, onCallingThread: insideCall, apartment: apartmentThread.stats(), calls: comCallThreads.stats(), ...extra });

const callbacks = {
  CoSetProxyBlanket: koffi.register(
    (_proxy: unknown, authn: number, authz: number, principal: Pointer, level: number, impersonation: number, _identity: unknown, capabilities: number) => (
      record('CoSetProxyBlanket', { blanket: [authn, authz, Number(principal === 0xffffffffffffffffn), level, impersonation, capabilities] }), S_OK
    ),
    koffi.pointer(koffi.proto('int FakeCoSetProxyBlanket(void *proxy, uint32 authn, uint32 authz, void *principal, uint32 level, uint32 impersonation, void *identity, uint32 capabilities)')),
  ),
  CoInitializeEx: koffi.register(
    (_reserved: unknown, coinit: number) => (record('CoInitializeEx', { coinit }), answers.shift() ?? S_OK),
    koffi.pointer(koffi.proto('int FakeCoInitializeEx(void *reserved, uint32 coinit)')),
  ),
  CoCreateInstance: koffi.register(
    (_clsid: unknown, _outer: unknown, _context: number, _iid: unknown, object: Pointer) => {
      record('CoCreateInstance');
      koffi.encode(object, 0, 'void *', OBJECT);
      return S_OK;
    },
    koffi.pointer(koffi.proto('int FakeCoCreateInstance(void *clsid, void *outer, uint32 context, void *iid, void *object)')),
  ),
  CoTaskMemFree: koffi.register(() => undefined, koffi.pointer(koffi.proto('void FakeCoTaskMemFree(void *memory)'))),
  CoDisconnectObject: koffi.register(
    (unknown: Pointer) => (record('CoDisconnectObject'), unknown === OBJECT ? S_OK : E_FAIL),
    koffi.pointer(koffi.proto('int FakeCoDisconnectObject(void *unknown, uint32 reserved)')),
  ),
};
afterAll(() => {
  for (const callback of Object.values(callbacks)) koffi.unregister(callback);
});

/** Calls `start` with the flag up during its synchronous part only. */
function run<T>(start: () => Promise<T>): Promise<T> {
  insideCall = true;
  try {
    return start();
  } finally {
    insideCall = false;
  }
}

test('CoInitializeEx(MTA) runs on the apartment thread, never the JS thread; a failure is retried, then kept', async () => {
  const runtime = createWin32Runtime(() => ({ symbol: (name) => callbacks[name] }));
  const failure = await run(() => runtime.initialize()).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(ComError);
  expect((failure as ComError).hresult).toBe(0x80004005);
  await run(() => runtime.initialize()); // tried again, not the first failure cached
  await run(() => runtime.initialize()); // success is kept
  const clsid = parseGuid('4991D34B-80A1-4291-83B6-3328366B9097');
  expect(await run(() => runtime.createInstance(clsid, clsid))).toBe(OBJECT);
  expect(await run(() => runtime.createInstance(clsid, clsid))).toBe(OBJECT);
  await run(() => runtime.disconnectObject(OBJECT));
  await expect(runtime.disconnectObject(0x1n)).rejects.toThrow(/CoDisconnectObject failed with E_FAIL/);
  seen.pop();

  const onApartmentThread = { apartment: { threads: 1, busy: 1, queued: 0 }, calls: expect.objectContaining({ busy: 0 }) };
  const onCallThread = { apartment: { threads: 1, busy: 0, queued: 0 }, calls: expect.objectContaining({ busy: 1 }) };
  expect(seen).toEqual([
    { name: 'CoInitializeEx', onCallingThread: false, coinit: 0, ...onApartmentThread },
    { name: 'CoInitializeEx', onCallingThread: false, coinit: 0, ...onApartmentThread },
    { name: 'CoCreateInstance', onCallingThread: false, ...onCallThread },
    { name: 'CoCreateInstance', onCallingThread: false, ...onCallThread },
    { name: 'CoDisconnectObject', onCallingThread: false, ...onCallThread },
  ]);
});

test("CoSetProxyBlanket on a DO download's proxy: winget's values (impersonate), on a call thread", async () => {
  const runtime = createWin32Runtime(() => ({ symbol: (name) => callbacks[name] }));
  seen.length = 0;
  await run(() => runtime.setProxyBlanket!(OBJECT));
  expect(seen).toEqual([
    expect.objectContaining({ name: 'CoSetProxyBlanket', onCallingThread: false, blanket: [0xffffffff, 0xffffffff, 1, 0, 3, 0x800] }),
  ]);
});
