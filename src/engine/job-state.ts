import type { JobState } from '../com/enums.js';

/**
 * The portable engine's job states and the moves between them: BITS's life cycle ("Life cycle of a
 * BITS job"), written down once. Any other move is a bug of the engine, and throws.
 */

/** Who may move a job where. The COM methods answer BG_E_INVALID_STATE before asking. */
const MOVES: Readonly<Record<JobState, readonly JobState[]>> = {
  // Resume queues it; the scheduler picks it; Suspend, Cancel and Complete work from every live state.
  suspended: ['queued', 'transferred', 'cancelled', 'acknowledged'],
  queued: ['connecting', 'suspended', 'cancelled', 'acknowledged'],
  connecting: ['transferring', 'transferred', 'transientError', 'error', 'queued', 'suspended', 'cancelled', 'acknowledged'],
  transferring: ['transferred', 'transientError', 'error', 'queued', 'suspended', 'cancelled', 'acknowledged'],
  // After the minimum retry delay the job queues itself again, or the no-progress timeout ends it.
  transientError: ['queued', 'error', 'suspended', 'cancelled', 'acknowledged'],
  error: ['queued', 'suspended', 'cancelled', 'acknowledged'],
  // Files added to a transferred job make Resume queue it again ("Life cycle of a BITS job").
  transferred: ['queued', 'suspended', 'cancelled', 'acknowledged'],
  acknowledged: [],
  cancelled: [],
};

export function canMove(from: JobState, to: JobState): boolean {
  return MOVES[from].includes(to);
}

/** States in which the scheduler owns the job: a transfer is queued or running. */
export function isActive(state: JobState): boolean {
  return state === 'queued' || state === 'connecting' || state === 'transferring';
}
