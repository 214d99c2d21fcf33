import { expect, test, vi } from 'vitest';

/**
 * win32Runtime() as an application gets it, with ole32.dll replaced by a fake whose functions are JS:
 * the JS thread's apartment must be left alone (Electron makes it an STA later; joining the MTA first
 * breaks OLE drag-and-drop and the clipboard), and a failed CoInitializeEx must be tried again.
 */

const S_OK = 0;
const E_FAIL = 0x80004005 | 0;
const state = vi.hoisted(() => ({ insideInitialize: false, answers: [] as number[], calls: [] as { onJsThread: boolean }[] }));

vi.mock('koffi', async (importOriginal) => {
  const { default: koffi } = await importOriginal<typeof import('koffi')>();
  const CoInitializeEx = (): number => {
    state.calls.push({ onJsThread: state.insideInitialize });
    return state.answers.shift() ?? S_OK;
  };
  const noop = () => 0;
  // Exported functions as native addresses (koffi callbacks: a call from another thread is relayed
  // here after initialize() has returned) and as koffi functions, whichever the runtime asks for.
  const symbols = {
    CoInitializeEx: koffi.register(CoInitializeEx, koffi.pointer(koffi.proto('int FakeCoInitializeEx(void *reserved, uint32 coinit)'))),
    CoCreateInstance: koffi.register(noop, koffi.pointer(koffi.proto('int FakeCoCreateInstance(void *a, void *b, uint32 c, void *d, void *e)'))),
    CoTaskMemFree: koffi.register(() => undefined, koffi.pointer(koffi.proto('void FakeCoTaskMemFree(void *memory)'))),
  };
  const asFunction = (fn: (...args: unknown[]) => number) =>
    Object.assign(fn, { async: (...args: unknown[]) => setImmediate(() => (args.pop() as (e: null, r: number) => void)(null, fn())) });
  const ole32 = {
    symbol: (name: keyof typeof symbols) => symbols[name],
    func: (declaration: string) => asFunction(declaration.includes('CoInitializeEx') ? CoInitializeEx : noop),
  };
  return { default: { ...koffi, load: (name: string | null) => (name === 'ole32.dll' ? ole32 : koffi.load(name)) } };
});

const { win32Runtime } = await import('../src/com/runtime.js');
const { ComError } = await import('../src/com/errors.js');

function initialize(): Promise<void> {
  state.insideInitialize = true;
  try {
    return win32Runtime().initialize();
  } finally {
    state.insideInitialize = false;
  }
}

test('no CoInitializeEx on the JS thread; a failure is tried again on the next initialize(), a success is kept', async () => {
  state.answers.push(E_FAIL, S_OK);
  await expect(initialize()).rejects.toBeInstanceOf(ComError);
  await initialize();
  await initialize();
  expect(state.calls).toEqual([{ onJsThread: false }, { onJsThread: false }]);
});
