import { ComError } from '../com/errors.js';
import { E_NOINTERFACE, REGDB_E_CLASSNOTREG } from '../com/hresult.js';
import { CLSID_DeliveryOptimization, IBackgroundCopyManager } from '../com/interfaces.js';
import type { ComRuntime } from '../com/runtime.js';
import { reportEngineBug } from '../engine/com/context.js';
import { TaskMemory } from '../engine/com/task-memory.js';
import { DoBridge } from './bridge.js';

/**
 * The COM runtime the library connects to for Delivery Optimization: over DO's own runtime (ole32 on
 * Windows, the loopback in tests), CoCreateInstance(CLSID_DeliveryOptimization, IID_IBackgroundCopyManager)
 * answers the manager of the bridge (bridge.ts). One bridge at a time per DO runtime: it opens on the
 * first connect(), closes when its last object is released, and the next connect() opens a new one
 * once the old one has let go of DO.
 */

interface Facade {
  readonly service: ComRuntime;
  readonly taskMemory: TaskMemory;
  readonly runtime: ComRuntime;
  bridge: Promise<DoBridge> | undefined;
  /** The bridge once open, until it closes. */
  live: DoBridge | undefined;
  closing: Promise<void>;
}

const byService = new WeakMap<ComRuntime, Facade>();
const byFacade = new WeakMap<ComRuntime, Facade>();

async function liveBridge(facade: Facade): Promise<DoBridge> {
  await facade.closing;
  facade.bridge ??= DoBridge.open(facade.service, facade.taskMemory, (idle) => {
    // The last object was released: a later connect() opens a new bridge, once this one let go.
    facade.bridge = undefined;
    facade.live = undefined;
    facade.closing = idle.close().catch((error: unknown) => reportEngineBug(error, 'closing the delivery-optimization bridge'));
  });
  const opening = facade.bridge;
  try {
    const bridge = await opening;
    if (facade.bridge === opening) facade.live = bridge;
    return bridge;
  } catch (error) {
    // Refused (no service, DO turned off): the next connect() asks again.
    if (facade.bridge === opening) facade.bridge = undefined;
    throw error;
  }
}

/**
 * The COM runtime of the bridge over a Delivery Optimization runtime (ole32 on Windows, the loopback
 * in tests): CoCreateInstance(CLSID_DeliveryOptimization, IID_IBackgroundCopyManager) answers the
 * bridge's manager. One per DO runtime; a bridge's own runtime is returned as it is.
 */
export function bridgedRuntime(service: ComRuntime): ComRuntime {
  const served = byFacade.get(service);
  if (served !== undefined) return served.runtime;
  const known = byService.get(service);
  if (known !== undefined) return known.runtime;
  const taskMemory = new TaskMemory();
  const facade: Facade = {
    service,
    taskMemory,
    bridge: undefined,
    live: undefined,
    closing: Promise.resolve(),
    runtime: {
      pathStyle: service.pathStyle,
      initialize: () => service.initialize(),
      createInstance: async (clsid, iid) => {
        if (clsid !== CLSID_DeliveryOptimization) throw new ComError(REGDB_E_CLASSNOTREG, 'delivery-optimization bridge', `CoCreateInstance(${clsid})`);
        if (!IBackgroundCopyManager.iids.includes(iid)) throw new ComError(E_NOINTERFACE, 'delivery-optimization bridge', `CoCreateInstance(${clsid})`);
        return (await liveBridge(facade)).managerObject().address;
      },
      freeTaskMemory: (address) => taskMemory.free(address),
      disconnectObject: async (address) => facade.live?.disconnect(address),
      ...(service.automation === undefined ? {} : { automation: service.automation }),
    },
  };
  byService.set(service, facade);
  byFacade.set(facade.runtime, facade);
  return facade.runtime;
}

/**
 * Resolves once the bridge over a DO runtime has let go of everything DO gave it (after the last of
 * its objects was released): for tests and orderly shutdown.
 */
export async function whenBridgeClosed(service: ComRuntime): Promise<void> {
  await byService.get(service)?.closing;
}

/** The open bridge behind a bridged runtime, for the calls the BITS surface cannot carry (createJob's DO options, settling). */
export function bridgeOf(runtime: ComRuntime): DoBridge | undefined {
  return byFacade.get(runtime)?.live;
}
