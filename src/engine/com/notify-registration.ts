import type { MethodHandlers } from '../../com/com-object.js';
import { ALL_NOTIFY_FLAGS, NotifyFlags } from '../../com/enums.js';
import { encodeGuid } from '../../com/guid.js';
import { E_INVALIDARG, E_NOINTERFACE, E_NOTIMPL, S_OK } from '../../com/hresult.js';
import { IBackgroundCopyCallback, IBackgroundCopyCallback2, IBackgroundCopyJob, IUnknown } from '../../com/interfaces.js';
import { invokeSync } from '../../com/invoke.js';
import { pointerSlot, readPointer, type Pointer } from '../../com/native-types.js';
import type { NotifyTarget } from '../notifier.js';
import { missing, outUint, writePointer } from './context.js';

/**
 * A job's notify flags and notify interface, as the in-process servers answer them (the portable
 * engine's jobs and the Delivery Optimization bridge's): last writer wins, one reference held on the
 * registered callback, and no FileRangesTransferred (neither has IBackgroundCopyCallback3).
 */

/** Where a server keeps each job's registered callback. */
export interface NotifyRegistry<J> {
  target(job: J): NotifyTarget | undefined;
  /** Replaces a job's callback: adopts the reference `target` comes with, releases the old one's. */
  setTarget(job: J, target: NotifyTarget | undefined): void;
}

type RegistrationMethods = 'SetNotifyFlags' | 'GetNotifyFlags' | 'SetNotifyInterface' | 'GetNotifyInterface';

/** The callback's IBackgroundCopyCallback2 (FileTransferred too) or IBackgroundCopyCallback, with one reference. */
export function callbackOf(address: Pointer): NotifyTarget | undefined {
  for (const iface of [IBackgroundCopyCallback2, IBackgroundCopyCallback]) {
    const slot = pointerSlot();
    const hr = invokeSync(address, IUnknown.method('QueryInterface'), encodeGuid(iface.iid), slot);
    const pointer = readPointer(slot);
    if (hr === S_OK && pointer !== 0n) return { address: pointer, supportsFileTransferred: iface === IBackgroundCopyCallback2 };
  }
  return undefined;
}

export function notifyRegistrationHandlers<J>(
  registry: NotifyRegistry<J>,
  job: J,
  flags: { get(): number; set(flags: number): void },
  unlessFinal: (change: () => number) => number,
): Pick<MethodHandlers<typeof IBackgroundCopyJob>, RegistrationMethods> {
  return {
    SetNotifyFlags: (value) =>
      unlessFinal(() => {
        if ((value & ~ALL_NOTIFY_FLAGS) !== 0 || (value & NotifyFlags.FileRangesTransferred) !== 0) return E_NOTIMPL;
        flags.set(value);
        return S_OK;
      }),
    GetNotifyFlags: (out) => outUint(out, flags.get()),
    SetNotifyInterface: (notify) =>
      unlessFinal(() => {
        if (missing(notify)) {
          registry.setTarget(job, undefined);
          return S_OK;
        }
        const target = callbackOf(notify!);
        if (target === undefined) return E_NOINTERFACE;
        registry.setTarget(job, target);
        return S_OK;
      }),
    GetNotifyInterface: (out) => {
      if (missing(out)) return E_INVALIDARG;
      const target = registry.target(job);
      if (target !== undefined) invokeSync(target.address, IUnknown.method('AddRef'));
      writePointer(out!, target?.address ?? 0n);
      return S_OK;
    },
  };
}
