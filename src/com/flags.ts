import { InvalidArgumentError } from './errors.js';

/**
 * Bit flags as lists of names, both ways, over the data tables of enums.ts: what a caller writes is
 * checked name by name (an unknown one is an error naming its index), and what the service answers
 * is spelled back in the table's order.
 */

export type FlagTable = Readonly<Record<string, number>>;

/** The DWORD for a list of flag names; anything but an array of the table's names is an InvalidArgumentError naming the culprit. */
export function flagBits<T extends FlagTable>(table: T, value: unknown, field: string, what: string): number {
  if (!Array.isArray(value)) throw new InvalidArgumentError(field, `expected an array of ${what} names (${Object.keys(table).join(', ')})`);
  let bits = 0;
  value.forEach((name: unknown, index) => {
    if (typeof name !== 'string' || !Object.hasOwn(table, name)) {
      throw new InvalidArgumentError(`${field}[${index}]`, `unknown ${what} ${typeof name === 'string' ? `'${name}'` : typeof name}; expected one of ${Object.keys(table).join(', ')}`);
    }
    // Unsigned: a flag may be the sign bit (BITS_COST_OPTION_IGNORE_CONGESTION).
    bits = (bits | table[name]!) >>> 0;
  });
  return bits;
}

/** The names of the bits set in a DWORD the service answered; a bit the table does not define is reported, never dropped. */
export function flagNames<T extends FlagTable>(table: T, bits: number, what: string): Array<keyof T & string> {
  const names = Object.keys(table).filter((name) => (bits & table[name]!) !== 0);
  const known = names.reduce((all, name) => (all | table[name]!) >>> 0, 0);
  const unknown = (bits >>> 0) & ~known;
  if (unknown !== 0) throw new RangeError(`the service answered unknown ${what} bits 0x${(unknown >>> 0).toString(16)}`);
  return names;
}
