import { InvalidArgumentError } from '../com/errors.js';
import { DO_COST_POLICIES, type DoCostPolicy } from '../com/do-interfaces.js';

/**
 * What only Delivery Optimization takes, given to `createJob({ deliveryOptimization })` on the
 * 'delivery-optimization' backend. Each is a DODownloadProperty set on every download of the job
 * before it starts (DO takes them in Created, as every client sets them). A property this Windows
 * build does not know is a PropertyNotSupportedError from createJob, and no job is left behind.
 */
export interface DeliveryOptimizationOptions {
  /** CostPolicy: on which networks DO may download. DO's default: 'standard' in the background. */
  readonly costPolicy?: DoCostPolicy;
  /** CallbackFreqSeconds and CallbackFreqPercent: how often DO reports progress (DO's default: every second). */
  readonly callbackFrequency?: { readonly seconds?: number; readonly percent?: number };
  /**
   * NonVolatile (Windows 11 22H2, build 22621): DO keeps the downloads across a reboot. rx-bits asks
   * for it by default, so that jobs outlive a reboot as BITS's do, and goes on without it on an older
   * build; `true` makes an older build an error, `false` keeps them in DO's memory only.
   */
  readonly nonVolatile?: boolean;
  /** IntegrityCheckInfo (DO's piece-hash JSON) and IntegrityCheckMandatory (build 19041). */
  readonly integrityCheck?: { readonly info?: string; readonly mandatory?: boolean };
  /** DisallowOnCellular (build 22000). */
  readonly disallowOnCellular?: boolean;
}

const KEYS = ['costPolicy', 'callbackFrequency', 'nonVolatile', 'integrityCheck', 'disallowOnCellular'] as const;

function record(value: unknown, field: string, expected: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError(field, `expected ${expected}`);
  return value as Record<string, unknown>;
}

function onlyKeys(value: Record<string, unknown>, keys: readonly string[], field: string): void {
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) throw new InvalidArgumentError(`${field}.${key}`, `is not an option (expected ${keys.join(', ')})`);
  }
}

function bool(value: unknown, field: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(field, `expected true or false, got ${String(value)}`);
  return value;
}

function whole(value: unknown, field: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(field, `expected a whole number from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** Checks every option before any call into DO; the result holds only what was given. */
export function checkDeliveryOptimization(value: unknown, field = 'deliveryOptimization'): DeliveryOptimizationOptions {
  const options = record(value, field, `{ ${KEYS.join('?, ')}? }`);
  onlyKeys(options, KEYS, field);
  const costPolicy = options['costPolicy'];
  if (costPolicy !== undefined && !DO_COST_POLICIES.includes(costPolicy as DoCostPolicy)) {
    throw new InvalidArgumentError(`${field}.costPolicy`, `expected one of ${DO_COST_POLICIES.join(', ')}, got ${String(costPolicy)}`);
  }
  let callbackFrequency: DeliveryOptimizationOptions['callbackFrequency'];
  if (options['callbackFrequency'] !== undefined) {
    const frequency = record(options['callbackFrequency'], `${field}.callbackFrequency`, '{ seconds?, percent? }');
    onlyKeys(frequency, ['seconds', 'percent'], `${field}.callbackFrequency`);
    const seconds = whole(frequency['seconds'], `${field}.callbackFrequency.seconds`, 1, 0xffffffff);
    const percent = whole(frequency['percent'], `${field}.callbackFrequency.percent`, 1, 100);
    callbackFrequency = { ...(seconds === undefined ? {} : { seconds }), ...(percent === undefined ? {} : { percent }) };
  }
  let integrityCheck: DeliveryOptimizationOptions['integrityCheck'];
  if (options['integrityCheck'] !== undefined) {
    const check = record(options['integrityCheck'], `${field}.integrityCheck`, '{ info?, mandatory? }');
    onlyKeys(check, ['info', 'mandatory'], `${field}.integrityCheck`);
    const info = check['info'];
    if (info !== undefined && (typeof info !== 'string' || info === '')) throw new InvalidArgumentError(`${field}.integrityCheck.info`, 'expected a non-empty JSON string');
    const mandatory = bool(check['mandatory'], `${field}.integrityCheck.mandatory`);
    integrityCheck = { ...(info === undefined ? {} : { info: info as string }), ...(mandatory === undefined ? {} : { mandatory }) };
  }
  const nonVolatile = bool(options['nonVolatile'], `${field}.nonVolatile`);
  const disallowOnCellular = bool(options['disallowOnCellular'], `${field}.disallowOnCellular`);
  return {
    ...(costPolicy === undefined ? {} : { costPolicy: costPolicy as DoCostPolicy }),
    ...(callbackFrequency === undefined ? {} : { callbackFrequency }),
    ...(nonVolatile === undefined ? {} : { nonVolatile }),
    ...(integrityCheck === undefined ? {} : { integrityCheck }),
    ...(disallowOnCellular === undefined ? {} : { disallowOnCellular }),
  };
}
