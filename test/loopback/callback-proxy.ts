import type { ComObject } from '../../src/com/com-object.js';
import { IBackgroundCopyCallback2, IUnknown } from '../../src/com/interfaces.js';
import type { ComMethod } from '../../src/com/interface-table.js';
import { invokeSync } from '../../src/com/invoke.js';
import type { Pointer } from '../../src/com/native-types.js';
import { counted, loopbackClass, type ServiceCore } from './shared.js';

/**
 * What a process receives from GetNotifyInterface when the registered callback lives in another
 * process: a proxy of it, at an address of its own (wine.md: "An object of another process comes
 * back as a proxy, a different address"). Like a COM proxy it keeps the object alive while it lives
 * (its stub holds a reference), counts its own references, and forwards the calls.
 */

const proxyClass = loopbackClass(IBackgroundCopyCallback2);

export function createCallbackProxy(core: ServiceCore, callback: Pointer, onFinalRelease: () => void): ComObject {
  invokeSync(callback, IUnknown.method('AddRef'));
  const live = core.tracked('callbackProxies');
  // A proxy relays whatever arguments came: the method is called as one chosen at run time.
  const forward =
    (method: 'JobTransferred' | 'JobError' | 'JobModification' | 'FileTransferred') =>
    (...args: readonly unknown[]) => {
      const target: ComMethod = IBackgroundCopyCallback2.method(method);
      return invokeSync(callback, target, ...args);
    };
  return proxyClass.create({
    onFinalRelease: () => {
      invokeSync(callback, IUnknown.method('Release'));
      live.onFinalRelease();
      onFinalRelease();
    },
    methods: counted(core, IBackgroundCopyCallback2, {
      JobTransferred: forward('JobTransferred'),
      JobError: forward('JobError'),
      JobModification: forward('JobModification'),
      FileTransferred: forward('FileTransferred'),
    }),
  });
}
