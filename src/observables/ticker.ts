/**
 * A timer that asks for one run after `interval` and is re-armed by whoever ran: the backstop poll
 * and the lease renewal. It never holds the process (the hub's keep-alive does, while attached).
 */
export class Ticker {
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly due: () => void) {}

  get armed(): boolean {
    return this.#timer !== undefined;
  }

  /** Arms the timer unless it is armed already; undefined stops it. */
  arm(interval: number | undefined): void {
    if (interval === undefined) return this.stop();
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.due();
    }, interval);
    this.#timer.unref();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
