/**
 * The engine's optional bandwidth cap, shared by all its transfers: a token bucket that refills at
 * `bytesPerSecond` and holds at most one second's worth, so a transfer that was idle may burst for a
 * second and no longer. Waiting here stops reading the response, and TCP's flow control slows the
 * server down: the bytes are not fetched and then held, they are not fetched yet.
 */
export class BandwidthLimit {
  #tokens: number;
  #updated: number;
  /** Takes are served in arrival order, so one big transfer cannot starve the others. */
  #queue: Promise<void> = Promise.resolve();

  constructor(
    readonly bytesPerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) throw new RangeError(`bytesPerSecond must be a positive number, got ${bytesPerSecond}`);
    this.#tokens = bytesPerSecond;
    this.#updated = now();
  }

  /** Resolves once `bytes` may go; rejects with the signal's reason if it aborts first. */
  take(bytes: number, signal: AbortSignal): Promise<void> {
    const turn = this.#queue.then(() => this.#wait(bytes, signal));
    // The next take waits for this one's turn, not for its outcome.
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  async #wait(bytes: number, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    this.#refill();
    this.#tokens -= bytes;
    if (this.#tokens >= 0) return;
    // In debt: wait until the bucket is back at zero.
    await delay((-this.#tokens / this.bytesPerSecond) * 1000, signal);
  }

  #refill(): void {
    const now = this.now();
    this.#tokens = Math.min(this.bytesPerSecond, this.#tokens + ((now - this.#updated) / 1000) * this.bytesPerSecond);
    this.#updated = now;
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
