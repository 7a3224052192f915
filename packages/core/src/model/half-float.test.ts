import { describe, expect, it } from 'vitest';
import { floatToHalf, halfToFloat } from './half-float.js';

describe('float16 conversions', () => {
  it('reads the bit patterns of IEEE 754 binary16 by their definition', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x0400)).toBe(2 ** -14);
    expect(halfToFloat(0x3555)).toBeCloseTo(1 / 3, 3);
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
    expect(halfToFloat(0x7c00)).toBe(Number.POSITIVE_INFINITY);
    expect(halfToFloat(0xfc00)).toBe(Number.NEGATIVE_INFINITY);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });

  it('writes every finite and infinite half back to its own bits', () => {
    // Mismatches are collected and checked once: an `expect` per pattern made the walk the file's whole cost.
    const wrong: number[] = [];
    for (let bits = 0; bits <= 0xffff; bits++) {
      if ((bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0) continue; // NaN: any quiet NaN will do
      if (floatToHalf(halfToFloat(bits)) !== bits) wrong.push(bits);
    }
    expect(wrong).toEqual([]);
    expect(floatToHalf(Number.NaN) & 0x7c00).toBe(0x7c00);
    expect(floatToHalf(Number.NaN) & 0x3ff).not.toBe(0);
  });

  it('rounds to the nearest half, ties to the even one, and past the largest half to infinity', () => {
    const wrong: string[] = [];
    for (const sign of [1, -1]) {
      const signBit = sign < 0 ? 0x8000 : 0;
      for (let bits = 0; bits < 0x7bff; bits++) {
        const low = halfToFloat(bits);
        const high = halfToFloat(bits + 1);
        const mid = (low + high) / 2;
        const even = bits % 2 === 0 ? bits : bits + 1;
        if (floatToHalf(sign * mid) !== (signBit | even)) wrong.push(`tie above ${signBit | bits}`);
        if (floatToHalf(sign * (mid + (high - low) / 8)) !== (signBit | (bits + 1))) wrong.push(`past the tie above ${signBit | bits}`);
        if (floatToHalf(sign * (mid - (high - low) / 8)) !== (signBit | bits)) wrong.push(`short of the tie above ${signBit | bits}`);
      }
      expect(floatToHalf(sign * 65520)).toBe(signBit | 0x7c00);
      expect(floatToHalf(sign * 65519)).toBe(signBit | 0x7bff);
      expect(floatToHalf(sign * 1e9)).toBe(signBit | 0x7c00);
      expect(floatToHalf(sign * 2 ** -26)).toBe(signBit);
    }
    expect(wrong).toEqual([]);
  });
});
