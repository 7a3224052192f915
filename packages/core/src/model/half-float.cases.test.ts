import { describe, expect, it } from 'vitest';
import { floatToHalf, halfToFloat } from './half-float.js';

// The edges of the binary16 conversions, one rule each, on a few hundred patterns where half-float.test.ts walks all
// 65,536 (about 3 s under mutation instrumentation): the edges of the subnormal range, of the exponent range, ties
// on both sides of each, and a sample of every 97th pattern.

/** The patterns at the edges of the subnormal and exponent ranges; SAMPLE adds every 97th below the largest finite half. */
const EDGES = [0x0000, 0x0001, 0x0002, 0x0003, 0x01ff, 0x0200, 0x0201, 0x03fe, 0x03ff, 0x0400, 0x0401, 0x07ff, 0x0800, 0x3bff, 0x3c00, 0x3c01, 0x7bfd, 0x7bfe];
const hex = (bits: number): string => `0x${bits.toString(16)}`;
const SAMPLE = [...EDGES, ...Array.from({ length: Math.floor(0x7bff / 97) }, (_, i) => i * 97 + 5)];

describe('float16 conversions at their edges', () => {
  it('writes each half back to its own bits, either sign', () => {
    const wrong: string[] = [];
    for (const bits of [...SAMPLE, 0x7bff, 0x7c00]) {
      for (const b of [bits, bits | 0x8000]) if (floatToHalf(halfToFloat(b)) !== b) wrong.push(hex(b));
    }
    expect(wrong).toEqual([]);
  });

  it('rounds a tie to the even neighbour, and just past it to the nearer one, either sign', () => {
    const wrong: string[] = [];
    for (const sign of [1, -1]) {
      const signBit = sign < 0 ? 0x8000 : 0;
      for (const bits of SAMPLE) {
        const low = halfToFloat(bits);
        const high = halfToFloat(bits + 1);
        const mid = (low + high) / 2;
        if (floatToHalf(sign * mid) !== (signBit | (bits % 2 === 0 ? bits : bits + 1))) wrong.push(`tie above ${hex(signBit | bits)}`);
        if (floatToHalf(sign * (mid + (high - low) / 8)) !== (signBit | (bits + 1))) wrong.push(`past the tie above ${hex(signBit | bits)}`);
        if (floatToHalf(sign * (mid - (high - low) / 8)) !== (signBit | bits)) wrong.push(`short of the tie above ${hex(signBit | bits)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('below half the smallest subnormal is zero; at it, the tie goes to zero; past it, the smallest subnormal', () => {
    expect(floatToHalf(2 ** -26)).toBe(0);
    expect(floatToHalf(-(2 ** -26))).toBe(0x8000);
    expect(floatToHalf(2 ** -25)).toBe(0);
    expect(floatToHalf(1.5 * 2 ** -25)).toBe(0x0001);
    expect(floatToHalf(-1.5 * 2 ** -25)).toBe(0x8001);
    expect(floatToHalf(2 ** -24)).toBe(0x0001);
  });

  it('past the largest half is infinity; the largest, and a value that rounds down to it, stay finite', () => {
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(65519)).toBe(0x7bff);
    expect(floatToHalf(65520)).toBe(0x7c00);
    expect(floatToHalf(-65520)).toBe(0xfc00);
    expect(floatToHalf(65536)).toBe(0x7c00);
    expect(floatToHalf(1e9)).toBe(0x7c00);
    expect(floatToHalf(Number.POSITIVE_INFINITY)).toBe(0x7c00);
    expect(floatToHalf(Number.NEGATIVE_INFINITY)).toBe(0xfc00);
  });

  it('keeps NaN a NaN (a quiet one), and reads the special patterns', () => {
    expect(floatToHalf(Number.NaN) & 0x7c00).toBe(0x7c00);
    expect(floatToHalf(Number.NaN) & 0x3ff).not.toBe(0);
    expect(halfToFloat(0x7e00)).toBeNaN();
    expect(halfToFloat(0x7c01)).toBeNaN();
    expect(halfToFloat(0xfc00)).toBe(Number.NEGATIVE_INFINITY);
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
    expect(halfToFloat(0x03ff)).toBe(1023 * 2 ** -24);
  });
});
