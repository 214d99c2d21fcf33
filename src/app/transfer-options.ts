import { BACKENDS, requireSupport, type Backend } from '../com/backend.js';
import type { JobPriority } from '../com/enums.js';
import { InvalidArgumentError } from '../com/errors.js';
import type { BitsJob } from '../com/job.js';
import { BitsManager, connect } from '../com/manager.js';
import { defaultRuntime, type ComRuntime } from '../com/runtime.js';
import { checkBoolean, checkHeaders, checkObject, checkPriority, checkString, MAX_DISPLAY_NAME } from '../com/validate.js';
import { checkHubOptions } from '../observables/hub.js';
import { retryOnJobError, type RetryOnJobErrorOptions } from '../operators/retry-on-job-error.js';
import { checkWindow } from '../operators/sliding-rate.js';

/** What download() and upload() both take. */
export interface TransferOptions {
  /** A manager to use; otherwise one is connected for the job (and released once the job is made). */
  readonly manager?: BitsManager;
  /** As connect()'s: omitted, BITS on Windows (the portable engine when BITS refuses), the portable engine elsewhere. */
  readonly backend?: Backend;
  readonly runtime?: ComRuntime;
  /** The portable engine's state directory (connect()'s `stateDir`). */
  readonly stateDir?: string;
  /** Prefix of the job's display name, `<appName>: <file>`, by which `resumePending` finds it. Default `rx-bits`. */
  readonly appName?: string;
  readonly priority?: JobPriority;
  /** Custom HTTP request headers (BITS only; Delivery Optimization has none). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Retry policy for failed attempts (see `retryOnJobError`). Default: 3 retries with back-off. */
  readonly retry?: RetryOnJobErrorOptions;
  /** Leave the job running in the service when the subscriber leaves (to pick it up after a restart). Default false: cancel it. */
  readonly persist?: boolean;
  /** Backstop poll interval, ms. Default 500. */
  readonly pollInterval?: number;
  /** Window of the transfer rate, ms. Default 5,000. */
  readonly rateWindow?: number;
}

/** Options as checked, and what the job's files are checked against: the backend it will most likely be made on and its path style. */
export interface CheckedTransferOptions<O extends TransferOptions> {
  readonly options: O;
  readonly backend: Backend;
  readonly pathStyle: ComRuntime['pathStyle'];
}

/** The display-name prefix of an app's jobs. */
export function jobPrefix(appName: string): string {
  return `${appName}: `;
}

/** A connection for the options' backend and runtime. */
export function connectFor(options: Pick<TransferOptions, 'backend' | 'runtime' | 'stateDir'>): Promise<BitsManager> {
  return connect({
    ...(options.backend === undefined ? {} : { backend: options.backend }),
    ...(options.runtime === undefined ? {} : { runtime: options.runtime }),
    ...(options.stateDir === undefined ? {} : { stateDir: options.stateDir }),
  });
}

/**
 * The backend connect() would take without asking the service, and how its paths look. `backend`
 * itself is left as given, so that connect() still chooses (and falls back) when none was named.
 */
function expectedBackend(options: TransferOptions): Omit<CheckedTransferOptions<TransferOptions>, 'options'> {
  const { manager } = options;
  if (manager !== undefined) return { backend: manager.backend, pathStyle: manager.runtime.pathStyle };
  const local = process.platform === 'win32' ? 'win32' : 'posix';
  if (options.backend === 'portable' && options.runtime === undefined) return { backend: 'portable', pathStyle: local };
  if (options.backend === undefined && options.runtime === undefined && process.platform !== 'win32') return { backend: 'portable', pathStyle: local };
  // Looking up the default runtime (ole32) starts nothing; on another platform it says so here.
  return { backend: options.backend ?? 'bits', pathStyle: (options.runtime ?? defaultRuntime()).pathStyle };
}

/**
 * Stands in for the job while `retryOnJobError` checks the retry options: it checks them when called
 * and calls `resume` only once subscribed, so nothing reaches this.
 */
const NO_JOB: Pick<BitsJob, 'resume'> = { resume: () => Promise.reject(new Error('only checking retry options')) };

/** Every option both helpers share, checked before anything connects; the caller checks its own on top. */
export function checkTransferOptions<O extends TransferOptions>(value: unknown): CheckedTransferOptions<O> {
  // null, as undefined, is no options.
  const options = checkObject(value ?? {}, 'options', 'an object of options') as O;
  const { manager } = options;
  if (manager !== undefined && !(manager instanceof BitsManager)) throw new InvalidArgumentError('manager', 'expected a BitsManager (from connect())');
  if (options.backend !== undefined && !BACKENDS.includes(options.backend)) {
    throw new InvalidArgumentError('backend', `unknown backend '${String(options.backend)}'; expected one of ${BACKENDS.join(', ')}`);
  }
  if (options.stateDir !== undefined) checkString(options.stateDir, 'stateDir', { maxLength: 4096 });
  const { backend, pathStyle } = expectedBackend(options);
  if (options.appName !== undefined) checkString(options.appName, 'appName', { maxLength: MAX_DISPLAY_NAME - jobPrefix('').length });
  if (options.priority !== undefined) checkPriority(options.priority, 'priority');
  if (options.headers !== undefined) {
    checkHeaders(options.headers, 'headers');
    requireSupport(backend, 'custom headers');
  }
  if (options.persist !== undefined) checkBoolean(options.persist, 'persist');
  if (options.pollInterval !== undefined) checkHubOptions({ pollInterval: options.pollInterval });
  const { rateWindow, retry } = options;
  if (rateWindow !== undefined) renamed(() => 'rateWindow', () => checkWindow(rateWindow));
  // retryOnJobError checks every retry option when made (the object itself as its `options`): the same check, named as ours.
  if (retry !== undefined) renamed((field) => (field === 'options' ? 'retry' : `retry.${field}`), () => retryOnJobError(NO_JOB, retry));
  return { options, backend, pathStyle };
}

/** Runs a check written for another API, naming the field as these options do. */
function renamed(name: (field: string) => string, check: () => unknown): void {
  try {
    check();
  } catch (error) {
    throw error instanceof InvalidArgumentError ? new InvalidArgumentError(name(error.field), error.problem) : error;
  }
}
