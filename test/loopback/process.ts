import { bitsVersionsThrough } from '../../src/com/bits-versions.js';
import type { ComObject } from '../../src/com/com-object.js';
import { ComError } from '../../src/com/errors.js';
import type { Guid } from '../../src/com/guid.js';
import { E_NOINTERFACE, REGDB_E_CLASSNOTREG, RPC_S_SERVER_UNAVAILABLE } from '../../src/com/hresult.js';
import { CLSID_BackgroundCopyManager, CLSID_DeliveryOptimization, IBackgroundCopyManager, IUnknown } from '../../src/com/interfaces.js';
import { invokeSync } from '../../src/com/invoke.js';
import type { Pointer } from '../../src/com/native-types.js';
import type { ComRuntime } from '../../src/com/runtime.js';
import { createCallbackProxy } from './callback-proxy.js';
import { createJobObject } from './job.js';
import { createManager } from './manager.js';
import type { NotifyTarget } from './notifier.js';
import type { JobEntry, ServiceCore } from './shared.js';
import { TaskMemory } from './task-memory.js';

/** The service a class id reaches, if it is registered: BITS's plain and versioned ids (up to `bitsVersion`), DO's. */
function serviceOf(clsid: Guid, bitsVersion: string): 'bits' | 'delivery-optimization' | undefined {
  if (clsid === CLSID_DeliveryOptimization) return 'delivery-optimization';
  if (clsid === CLSID_BackgroundCopyManager) return 'bits';
  return bitsVersionsThrough(bitsVersion).some((entry) => entry.clsid === clsid) ? 'bits' : undefined;
}

/** Who a client process runs as: BITS lists and hands out jobs by their owner. */
export interface ProcessIdentity {
  /** The user's SID; jobs the process creates belong to this user. */
  readonly user: string;
  /** An administrator's elevated token: may list every user's jobs (BG_JOB_ENUM_ALL_USERS). */
  readonly elevated: boolean;
}

/** An ordinary user at a desktop, not elevated: what an app runs as. */
export const DEFAULT_IDENTITY: ProcessIdentity = { user: 'S-1-5-21-1004336348-1177238915-682003330-1000', elevated: false };

/**
 * One client process of the service. Like a real client, it has its own COM runtime and task
 * allocator, and its own object (a proxy, on Windows) for each job it reaches, whichever process
 * created the job: two processes never share a job pointer. Within one process a job has one
 * object while anyone holds it, as COM keeps one proxy per object and apartment.
 */
export class ClientProcess {
  /** CoTaskMemAlloc/CoTaskMemFree of this process: its strings must be freed here, and only here. */
  readonly taskMemory = new TaskMemory();
  readonly runtime: ComRuntime;
  readonly #jobs = new Map<Guid, ComObject>();
  /** Proxies of other processes' callbacks, by the callback's address. */
  readonly #proxies = new Map<Pointer, ComObject>();
  /**
   * References a service that died held on this process's callbacks: COM keeps them for the dead
   * client until its ping times out, or until CoDisconnectObject (`runtime.disconnectObject`).
   */
  readonly #orphaned: Pointer[] = [];
  /** Job objects of a service that went away, still held by the library (dead proxies). */
  readonly #retired = new Set<ComObject>();

  constructor(
    readonly name: string,
    private readonly core: ServiceCore,
    readonly identity: ProcessIdentity = DEFAULT_IDENTITY,
  ) {
    this.runtime = {
      pathStyle: 'posix',
      initialize: () => Promise.resolve(),
      createInstance: async (clsid, iid) => {
        await new Promise((resolve) => setImmediate(resolve));
        const service = serviceOf(clsid, core.options.bitsVersion);
        if (service === undefined) throw new ComError(REGDB_E_CLASSNOTREG, 'ole32', `CoCreateInstance(${clsid})`);
        const refusal = core.options.refusals[service];
        if (refusal !== undefined) throw new ComError(refusal, 'ole32', `CoCreateInstance(${clsid})`);
        // Delivery Optimization's class is a service of its own (test/loopback-do), on this machine too.
        if (service === 'delivery-optimization') return core.deliveryOptimization.createInstance(clsid, iid);
        if (!core.available) throw new ComError(RPC_S_SERVER_UNAVAILABLE, 'ole32', `CoCreateInstance(${clsid})`);
        if (!IBackgroundCopyManager.iids.includes(iid)) throw new ComError(E_NOINTERFACE, 'ole32', `CoCreateInstance(${clsid})`);
        return createManager(core, this).address;
      },
      freeTaskMemory: (address) => this.taskMemory.free(address),
      automation: core.deliveryOptimization.automation!,
      disconnectObject: async (address) => {
        await new Promise((resolve) => setImmediate(resolve));
        for (let i = this.#orphaned.indexOf(address); i >= 0; i = this.#orphaned.indexOf(address)) {
          this.#orphaned.splice(i, 1);
          invokeSync(address, IUnknown.method('Release'));
        }
        core.disconnect(this, address);
      },
    };
  }

  /** The service died holding a reference on one of this process's objects. */
  orphan(address: Pointer): void {
    this.#orphaned.push(address);
  }

  /** References held for a dead service, not yet disconnected. */
  get orphanedReferences(): number {
    return this.#orphaned.length;
  }

  /** The service process went away: the objects it handed out are dead proxies, never handed out again. */
  forgetService(): void {
    for (const object of this.#jobs.values()) this.#retired.add(object);
    this.#jobs.clear();
    this.#proxies.clear();
  }

  /** This process's object for a job, with one more reference for the receiver. */
  jobObject(entry: JobEntry): ComObject {
    const existing = this.#jobs.get(entry.model.id);
    if (existing !== undefined) {
      existing.addRef();
      return existing;
    }
    const object = createJobObject(this.core, this, entry, () => {
      if (this.#jobs.get(entry.model.id) === object) this.#jobs.delete(entry.model.id);
      this.#retired.delete(object);
    });
    this.#jobs.set(entry.model.id, object);
    return object;
  }

  /**
   * What GetNotifyInterface hands this process: the registered object itself if it lives here,
   * else a proxy of it (wine.md: "An object of another process comes back as a proxy, a different
   * address"). One proxy per callback while anyone holds it.
   */
  notifyInterface(target: NotifyTarget): Pointer {
    if (target.process === this) {
      invokeSync(target.address, IUnknown.method('AddRef'));
      return target.address;
    }
    const existing = this.#proxies.get(target.address);
    if (existing !== undefined) {
      existing.addRef();
      return existing.address;
    }
    const proxy = createCallbackProxy(this.core, target.address, () => this.#proxies.delete(target.address));
    this.#proxies.set(target.address, proxy);
    return proxy.address;
  }

  /** References the library holds on this process's job objects. */
  jobReferences(): number {
    let total = 0;
    for (const object of [...this.#jobs.values(), ...this.#retired]) total += object.refCount;
    return total;
  }
}
