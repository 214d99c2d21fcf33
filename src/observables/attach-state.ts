/**
 * The life of a hub's registration with the service, as an explicit state machine:
 *
 * - `detached`: no reference to the job, nothing registered.
 * - `attaching`: taking a reference, setting the flags, registering our callback, looking at the job.
 * - `attached`: our callback is the job's notify interface; notifications flow.
 * - `unregistered`: our registration is cleared around this process's own Complete or Cancel.
 * - `displaced`: another process took the notify interface (or, for an observing hub, had it first);
 *   the streams go on by polling.
 * - `reconnecting`: the service is gone (stopped, crashed, restarted); reconnecting with back-off.
 * - `left`: the job left the queue; the streams end and the hub lets go.
 */
export type AttachState = 'detached' | 'attaching' | 'attached' | 'unregistered' | 'displaced' | 'reconnecting' | 'left';

const TRANSITIONS: Readonly<Record<AttachState, readonly AttachState[]>> = {
  detached: ['attaching'],
  // 'displaced' straight away: an observing hub found the job registered by someone else.
  attaching: ['attached', 'displaced', 'left', 'reconnecting', 'detached'],
  attached: ['unregistered', 'displaced', 'reconnecting', 'left', 'detached'],
  unregistered: ['attached', 'left', 'reconnecting', 'detached'],
  displaced: ['attached', 'left', 'reconnecting', 'detached'],
  reconnecting: ['attaching', 'left', 'detached'],
  left: ['detached'],
};

export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError';
}

export class AttachMachine {
  #state: AttachState = 'detached';

  constructor(private readonly onChange: (state: AttachState, previous: AttachState) => void) {}

  get state(): AttachState {
    return this.#state;
  }

  /** Whether the hub holds a reference to the job (every state but `detached`). */
  get holdsJob(): boolean {
    return this.#state !== 'detached';
  }

  can(next: AttachState): boolean {
    return TRANSITIONS[this.#state].includes(next);
  }

  /** Moves to `next`; a move the table does not list is a bug of the hub, and throws. */
  to(next: AttachState): void {
    if (next === this.#state) return;
    if (!this.can(next)) throw new IllegalTransitionError(`hub: ${this.#state} -> ${next} is not a transition`);
    const previous = this.#state;
    this.#state = next;
    this.onChange(next, previous);
  }
}
