import type { Backend } from './backend.js';
import type { ComPtr } from './com-ptr.js';
import type { ComInterface } from './interface-table.js';
import type { ComRuntime } from './runtime.js';

/**
 * What the modules of a job's later interfaces (job2.ts ... job5.ts) need of the job (BitsJob offers
 * it), and those of a file's (file2.ts ... file6.ts) of the file (BitsFile offers the same): its
 * backend and runtime (path style, freeing what the service returns), and its other interfaces
 * through `withInterface`. Spelled out rather than picked from BitsJob, whose members for this are
 * internal.
 */
export interface JobHost {
  readonly backend: Backend;
  readonly runtime: ComRuntime;
  withInterface<I extends ComInterface, T>(target: I, use: (ptr: ComPtr<I>) => Promise<T>): Promise<T>;
}
