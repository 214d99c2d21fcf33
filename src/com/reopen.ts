import type { BitsJob } from './job.js';
import { connect } from './manager.js';

/**
 * The same job through a new connection: after the service went away (stopped, crashed,
 * restarted), every proxy of the old connection fails for good. BG_E_NOT_FOUND if the service no
 * longer has the job (Wine's keeps none across a restart).
 */
export async function reopenJob(job: BitsJob): Promise<BitsJob> {
  const manager = await connect({ runtime: job.runtime, backend: job.backend });
  try {
    return await manager.getJob(job.id);
  } finally {
    await manager.release();
  }
}
