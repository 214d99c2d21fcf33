import { AUTH_TARGETS, COST_FLAGS, TRANSFER_POLICIES, type AuthTarget, type CostFlag, type TransferPolicyName } from './enums.js';
import { InvalidArgumentError } from './errors.js';
import { flagBits, flagNames } from './flags.js';
import { decodeGuid, encodeGuid, parseGuid, type Guid } from './guid.js';
import { BG_SIZE_UNKNOWN } from './native-types.js';

/**
 * IBackgroundCopyJob5's properties (BITS_JOB_PROPERTY_ID, bits5_0.h) as one table: each one's id, the
 * BITS version that introduced it, and how its value is checked and laid out in the 16 bytes of the
 * BITS_JOB_PROPERTY_VALUE union (Dword, Enable and Target at bytes 0-3, Uint64 at 0-7, ClsID at 0-15).
 */

/** A job's transfer policy as read back: the BITS_JOB_TRANSFER_POLICY it is exactly, if any, and its cost flags. */
export interface TransferPolicy {
  readonly policy: TransferPolicyName | undefined;
  readonly costFlags: readonly CostFlag[];
}

/** What each property takes (`set`) and gives back (`get`). */
export interface JobPropertyTypes {
  /** BITS_JOB_PROPERTY_ID_COST_FLAGS: a BITS_JOB_TRANSFER_POLICY by name, or the cost flags themselves. Changeable at any time. */
  transferPolicy: { set: TransferPolicyName | readonly CostFlag[]; get: TransferPolicy };
  /** BITS_JOB_PROPERTY_NOTIFICATION_CLSID: a registered out-of-process COM server BITS notifies; null clears (GUID_NULL). */
  notificationClsid: { set: Guid | null; get: Guid | undefined };
  /** BITS_JOB_PROPERTY_DYNAMIC_CONTENT: content without HEAD, Content-Length or ranges (download jobs, before the first resume). */
  dynamicContent: { set: boolean; get: boolean };
  /** BITS_JOB_PROPERTY_HIGH_PERFORMANCE: less persistence, straight into the destination (download jobs, before any file). */
  highPerformance: { set: boolean; get: boolean };
  /** BITS_JOB_PROPERTY_MAX_DOWNLOAD_SIZE: bytes the job may download in all (download jobs, before the first resume); undefined: no limit. */
  maxDownloadSize: { set: number; get: number | undefined };
  /** BITS_JOB_PROPERTY_USE_STORED_CREDENTIALS: send the user's stored credentials to proxies (BITS takes the proxy target only). */
  useStoredCredentials: { set: Extract<AuthTarget, 'proxy'>; get: AuthTarget | undefined };
  /** BITS_JOB_PROPERTY_MINIMUM_NOTIFICATION_INTERVAL_MS: milliseconds between notifications (BITS's default 500). BITS 10.1. */
  minimumNotificationInterval: { set: number; get: number };
  /** BITS_JOB_PROPERTY_ON_DEMAND_MODE: ranges on request (IBackgroundCopyFile6) instead of start to end. BITS 10.1. */
  onDemand: { set: boolean; get: boolean };
}

export type JobPropertyName = keyof JobPropertyTypes;
export type JobPropertyInput<K extends JobPropertyName> = JobPropertyTypes[K]['set'];
export type JobPropertyOutput<K extends JobPropertyName> = JobPropertyTypes[K]['get'];

interface JobProperty<T> {
  /** BITS_JOB_PROPERTY_ID. */
  readonly id: number;
  /** The BITS version whose service knows it ('5.0' for those of bits5_0.h that no page dates, see the reference). */
  readonly introducedIn: string;
  /** The union's 16 bytes for a value, checked first (errors name `field`). */
  encode(value: unknown, field: string): Buffer;
  decode(union: Buffer): T;
}

const UINT32_MAX = 0xffffffff;
/**
 * A maximum download size of every bit set, read back as "no limit": (UINT64)-1, BITS's usual "none"
 * (BG_SIZE_UNKNOWN, BG_LENGTH_TO_EOF). An inference: no page gives a new job's value.
 */
const NO_LIMIT = BG_SIZE_UNKNOWN;
/** The cost flags that name a kind of network: a policy without any would never transfer. */
const NETWORK_FLAGS = Object.entries(COST_FLAGS).reduce((bits, [name, bit]) => (name === 'ignoreCongestion' ? bits : bits | bit), 0);

function union(write: (bytes: Buffer) => void): Buffer {
  const bytes = Buffer.alloc(16);
  write(bytes);
  return bytes;
}

function checkBoolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new InvalidArgumentError(field, `expected true or false, got ${typeof value}`);
  return value;
}

const enable = (id: number, introducedIn: string): JobProperty<boolean> => ({
  id,
  introducedIn,
  encode: (value, field) => union((bytes) => bytes.writeInt32LE(checkBoolean(value, field) ? 1 : 0)),
  decode: (bytes) => bytes.readInt32LE() !== 0,
});

function costBits(value: unknown, field: string): number {
  if (typeof value === 'string') {
    if (!Object.hasOwn(TRANSFER_POLICIES, value)) {
      throw new InvalidArgumentError(field, `unknown transfer policy '${value}'; expected one of ${Object.keys(TRANSFER_POLICIES).join(', ')}, or a list of cost flags (${Object.keys(COST_FLAGS).join(', ')})`);
    }
    return flagBits(COST_FLAGS, TRANSFER_POLICIES[value as TransferPolicyName], field, 'cost flag');
  }
  const bits = flagBits(COST_FLAGS, value, field, 'cost flag');
  if ((bits & NETWORK_FLAGS) === 0) throw new InvalidArgumentError(field, 'names no kind of network: the job would never transfer');
  return bits;
}

export const JOB_PROPERTIES: { readonly [K in JobPropertyName]: JobProperty<JobPropertyOutput<K>> } = {
  transferPolicy: {
    id: 1,
    introducedIn: '5.0',
    encode: (value, field) => union((bytes) => bytes.writeUInt32LE(costBits(value, field))),
    decode: (bytes) => {
      const bits = bytes.readUInt32LE();
      const policy = (Object.keys(TRANSFER_POLICIES) as TransferPolicyName[]).find((name) => flagBits(COST_FLAGS, TRANSFER_POLICIES[name], 'policy', 'cost flag') === bits);
      return { policy, costFlags: flagNames(COST_FLAGS, bits, 'cost flag') };
    },
  },
  notificationClsid: {
    id: 2,
    introducedIn: '5.0',
    encode: (value, field) => union((bytes) => (value === null ? undefined : encodeGuid(parseGuid(value, field)).copy(bytes))),
    decode: (bytes) => (bytes.every((byte) => byte === 0) ? undefined : decodeGuid(bytes)),
  },
  dynamicContent: enable(3, '5.0'),
  highPerformance: enable(4, '5.0'),
  maxDownloadSize: {
    id: 5,
    introducedIn: '5.0',
    encode: (value, field) => {
      // BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE below 1.
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(field, `expected a whole number of bytes, at least 1, got ${String(value)}`);
      return union((bytes) => bytes.writeBigUInt64LE(BigInt(value)));
    },
    decode: (bytes) => {
      const size = bytes.readBigUInt64LE();
      if (size === NO_LIMIT) return undefined;
      if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`the service answered a maximum download size of ${size} bytes, beyond what rx-bits represents exactly`);
      return Number(size);
    },
  },
  useStoredCredentials: {
    id: 7,
    introducedIn: '5.0',
    encode: (value, field) => {
      // BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED for any other target.
      if (value !== 'proxy') throw new InvalidArgumentError(field, `expected 'proxy', the one target BITS uses stored credentials for, got ${String(value)}`);
      return union((bytes) => bytes.writeInt32LE(AUTH_TARGETS.proxy));
    },
    decode: (bytes) => {
      const target = bytes.readInt32LE();
      if (target === 0) return undefined;
      const name = (Object.keys(AUTH_TARGETS) as AuthTarget[]).find((key) => AUTH_TARGETS[key] === target);
      if (name === undefined) throw new RangeError(`the service answered an unknown BG_AUTH_TARGET value ${target}`);
      return name;
    },
  },
  minimumNotificationInterval: {
    id: 9,
    introducedIn: '10.1',
    encode: (value, field) => {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > UINT32_MAX) throw new InvalidArgumentError(field, `expected whole milliseconds within 0..${UINT32_MAX}, got ${String(value)}`);
      return union((bytes) => bytes.writeUInt32LE(value));
    },
    decode: (bytes) => bytes.readUInt32LE(),
  },
  onDemand: enable(10, '10.1'),
};
