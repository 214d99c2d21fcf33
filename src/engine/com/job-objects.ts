import type { ComObject } from '../../com/com-object.js';

/**
 * An in-process server's job objects (the portable engine's, the DO bridge's): one per job while
 * anyone holds it, as COM keeps one proxy per object, each counted as held until its final release.
 */
export class JobObjects {
  readonly #objects = new Map<string, ComObject>();

  /**
   * The job's object with one more reference for the caller: the live one, or a new one made by
   * `create`, which must call the `onFinalRelease` it is given when its last reference goes.
   */
  get(id: string, opened: () => { onFinalRelease(): void }, create: (onFinalRelease: () => void) => ComObject): ComObject {
    const existing = this.#objects.get(id);
    if (existing !== undefined) {
      existing.addRef();
      return existing;
    }
    const live = opened();
    const object = create(() => {
      this.#objects.delete(id);
      live.onFinalRelease();
    });
    this.#objects.set(id, object);
    return object;
  }
}
