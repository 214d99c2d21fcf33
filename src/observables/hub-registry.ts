import type { Guid } from '../com/guid.js';

/** What the registry needs of a hub. */
export interface RegisteredHub {
  readonly id: Guid;
  idle(): Promise<void>;
}

/**
 * One hub per job GUID per process, whatever handle the job came from: BITS keeps one notify
 * interface per job, so two hubs of one job would take it from each other. A hub is dropped when it
 * says it is idle (detached, nobody registered, no work queued).
 */
export class HubRegistry<H extends RegisteredHub> {
  readonly #hubs = new Map<Guid, H>();

  constructor(private readonly create: (id: Guid, onIdle: (hub: H) => void) => H) {}

  /** The hub of a job, created on first use. */
  of(id: Guid): H {
    let hub = this.#hubs.get(id);
    if (hub === undefined) {
      hub = this.create(id, (idle) => {
        if (this.#hubs.get(idle.id) === idle) this.#hubs.delete(idle.id);
      });
      this.#hubs.set(id, hub);
    }
    return hub;
  }

  get size(): number {
    return this.#hubs.size;
  }

  /** Resolves when every hub has finished its queued work (including hubs that work created). */
  async idle(): Promise<void> {
    for (;;) {
      const current = [...this.#hubs.values()];
      await Promise.all(current.map((hub) => hub.idle()));
      await new Promise((resolve) => setImmediate(resolve));
      if ([...this.#hubs.values()].every((hub) => current.includes(hub))) return;
    }
  }
}
