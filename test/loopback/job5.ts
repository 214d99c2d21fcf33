import type { MethodHandlers } from '../../src/com/com-object.js';
import { bitsVersionsThrough } from '../../src/com/bits-versions.js';
import {
  BG_E_INVALID_STATE,
  BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE,
  BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY,
  BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE,
  BG_E_READ_ONLY_PROPERTY_AFTER_RESUME,
  BG_E_UNKNOWN_PROPERTY_ID,
  BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED,
  E_INVALIDARG,
  hresultByName,
  S_OK,
} from '../../src/com/hresult.js';
import type { IBackgroundCopyJob5 } from '../../src/com/interfaces.js';
import { toBigInt } from '../../src/com/native-types.js';
import { JobType, type JobModel } from './job-model.js';
import { missing } from './shared.js';
import { MAX_DOWNLOAD_SIZE } from './download-size.js';
import koffi from 'koffi';

/**
 * IBackgroundCopyJob5's SetProperty and GetProperty (BITS 5.0, slots 53-54) on a loopback job, with
 * each property's rules from its BITS_JOB_PROPERTY_ID entry (and bits-com-extended.md, "Job5 / File5"),
 * written here from those pages rather than taken from the library's table, so that the two check
 * each other. The transfer acts on the maximum download size only (download-size.ts): no network
 * costs, dynamic content, persistence or on-demand reads here.
 */

/** Two configurations BITS refuses together (dynamic content with ranges or on-demand mode). */
const BG_E_UNSUPPORTED_JOB_CONFIGURATION = hresultByName('BG_E_UNSUPPORTED_JOB_CONFIGURATION')!;
const BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD = hresultByName('BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD')!;
/** BG_AUTH_TARGET_PROXY: the one target USE_STORED_CREDENTIALS takes. */
const PROXY = 2;
/** Every BITS_COST_STATE_* bit, BITS_COST_STATE_RESERVED and BITS_COST_OPTION_IGNORE_CONGESTION. */
const COST_BITS = 0xff | 0x40000000 | 0x80000000;

interface Rule {
  /** The BITS version whose service knows the id. */
  readonly since: string;
  /** A new job's value, as the union's first 8 bytes. */
  readonly initial: bigint;
  /** The refusal of a value for this job, or undefined to take it. */
  check?(model: JobModel, value: Buffer): number | undefined;
}

const enabled = (value: Buffer): boolean => value.readInt32LE() !== 0;
const downloadOnly = (model: JobModel): number | undefined => (model.type === JobType.DOWNLOAD ? undefined : BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY);
const beforeResume = (model: JobModel): number | undefined => downloadOnly(model) ?? (model.resumed ? BG_E_READ_ONLY_PROPERTY_AFTER_RESUME : undefined);
const DYNAMIC_CONTENT = 3;
const ON_DEMAND_MODE = 10;
const isSet = (model: JobModel, id: number): boolean => enabled(model.properties.get(id) ?? Buffer.alloc(16));

/**
 * By BITS_JOB_PROPERTY_ID. The initial COST_FLAGS is undocumented (the reference): BITS_JOB_TRANSFER_POLICY_NOT_ROAMING
 * here; no maximum download size is every bit set, as BG_SIZE_UNKNOWN.
 */
const RULES: ReadonlyMap<number, Rule> = new Map<number, Rule>([
  [1, { since: '5.0', initial: 0x8000007fn, check: (_model, value) => ((value.readUInt32LE() & ~COST_BITS) !== 0 ? E_INVALIDARG : undefined) }],
  [2, { since: '5.0', initial: 0n }],
  // "not supported for downloads that use FILE_RANGES"; "may only be set prior to the first time Resume is called".
  [DYNAMIC_CONTENT, {
    since: '5.0',
    initial: 0n,
    check: (model, value) =>
      beforeResume(model) ?? (enabled(value) && (model.files.some((file) => file.ranges !== undefined) || isSet(model, ON_DEMAND_MODE)) ? BG_E_UNSUPPORTED_JOB_CONFIGURATION : undefined),
  }],
  // "may only be set prior to adding any files to a job".
  [4, { since: '5.0', initial: 0n, check: (model) => downloadOnly(model) ?? (model.files.length > 0 ? BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE : undefined) }],
  [MAX_DOWNLOAD_SIZE, { since: '5.0', initial: 0xffffffffffffffffn, check: (model, value) => beforeResume(model) ?? (value.readBigUInt64LE() === 0n ? BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE : undefined) }],
  [7, { since: '5.0', initial: 0n, check: (_model, value) => (value.readInt32LE() === PROXY ? undefined : BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED) }],
  [9, { since: '10.1', initial: 500n }],
  // "The job must not be DYNAMIC".
  [ON_DEMAND_MODE, { since: '10.1', initial: 0n, check: (model, value) => downloadOnly(model) ?? (enabled(value) && isSet(model, DYNAMIC_CONTENT) ? BG_E_UNSUPPORTED_JOB_CONFIGURATION : undefined) }],
]);

export function job5Handlers(model: JobModel, bitsVersion: string): Pick<MethodHandlers<typeof IBackgroundCopyJob5>, 'SetProperty' | 'GetProperty'> {
  const known = new Set(bitsVersionsThrough(bitsVersion).map((entry) => entry.version));
  const ruleOf = (id: number): Rule | undefined => {
    const rule = RULES.get(id);
    return rule !== undefined && known.has(rule.since) ? rule : undefined;
  };
  return {
    SetProperty: (id, value) => {
      const rule = ruleOf(id);
      if (rule === undefined) return BG_E_UNKNOWN_PROPERTY_ID;
      if (model.final) return BG_E_INVALID_STATE;
      const bytes = Buffer.alloc(16);
      bytes.writeBigUInt64LE(toBigInt(value.lo), 0);
      bytes.writeBigUInt64LE(toBigInt(value.hi), 8);
      const refusal = rule.check?.(model, bytes);
      if (refusal !== undefined) return refusal;
      // "SetHttpMethod": "BITS doesn't allow DYNAMIC_CONTENT nor ON_DEMAND_MODE jobs with SetHttpMethod".
      if ((id === DYNAMIC_CONTENT || id === ON_DEMAND_MODE) && enabled(bytes) && model.httpMethod !== undefined) return BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD;
      model.properties.set(id, bytes);
      model.touch();
      return S_OK;
    },
    GetProperty: (id, out) => {
      if (missing(out)) return E_INVALIDARG;
      const rule = ruleOf(id);
      if (rule === undefined) return BG_E_UNKNOWN_PROPERTY_ID;
      const initial = Buffer.alloc(16);
      initial.writeBigUInt64LE(rule.initial, 0);
      koffi.encode(out!, 'uint8_t[16]', [...(model.properties.get(id) ?? initial)]);
      return S_OK;
    },
  };
}
