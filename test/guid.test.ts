import { describe, expect, test } from 'vitest';
import { decodeGuid, encodeGuid, formatGuid, GuidFormatError, InvalidArgumentError, parseGuid } from '../src/index.js';

describe('GUIDs', () => {
  test('parse accepts registry format with or without braces, any case, and canonicalises', () => {
    const upper = '4991D34B-80A1-4291-83B6-3328366B9097';
    expect(parseGuid(upper)).toBe(upper);
    expect(parseGuid(upper.toLowerCase())).toBe(upper);
    expect(parseGuid(`{${upper}}`)).toBe(upper);
    expect(formatGuid(parseGuid(upper), true)).toBe(`{${upper}}`);
  });

  test.each([
    ['', 'empty'],
    ['4991D34B-80A1-4291-83B6-3328366B909', 'one digit short'],
    ['4991D34B80A1429183B63328366B9097', 'no dashes'],
    ['{4991D34B-80A1-4291-83B6-3328366B9097', 'unbalanced brace'],
    ['4991D34B-80A1-4291-83B6-3328366B909G', 'not hex'],
  ])('parse rejects %j (%s) with a GuidFormatError naming the field', (text) => {
    const attempt = () => parseGuid(text, 'jobId');
    expect(attempt).toThrow(GuidFormatError);
    expect(attempt).toThrow(/^jobId: /);
    try {
      attempt();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).field).toBe('jobId');
    }
  });

  test('parse rejects non-strings', () => {
    expect(() => parseGuid(42)).toThrow(GuidFormatError);
  });

  test('encode lays out Data1-3 little-endian and Data4 as written (the COM layout)', () => {
    const bytes = encodeGuid(parseGuid('00112233-4455-6677-8899-AABBCCDDEEFF'));
    expect([...bytes]).toEqual([0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
  });

  test('decode is the inverse of encode', () => {
    const guid = parseGuid('5CE34C0D-0DC9-4C1F-897C-DAA1B78CEE7C');
    expect(decodeGuid(encodeGuid(guid))).toBe(guid);
    expect(() => decodeGuid(new Uint8Array(15))).toThrow(GuidFormatError);
  });
});
