import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { classify, printfFloat } from './classification.js';

describe('classify', () => {
  it('ranks integers in digits, uint64 past 2^53 exactly, and float16 decoded', () => {
    expect(classify({ type: 'int32', dims: [4], data: new Int32Array([1, 5, 10, 4]) }, 2, 'y', 'INT32').data).toEqual(['10:2', '5:1']);
    expect(classify({ type: 'uint64', dims: [2], data: new BigUint64Array([2n ** 63n + 1n, 3n]) }, 1, 'y', 'UINT64').data).toEqual(['9223372036854775809:0']);
    // 0x3c00 is 1.0 and 0xc000 is -2.0 in binary16.
    expect(classify({ type: 'float16', dims: [2], data: new Uint16Array([0xc000, 0x3c00]) }, 2, 'y', 'FP16').data).toEqual(['1.000000:1', '-2.000000:0']);
  });

  it('puts NaN last and refuses BOOL and BYTES', () => {
    expect(classify({ type: 'float32', dims: [3], data: new Float32Array([Number.NaN, -Infinity, 0]) }, 3, 'y', 'FP32').data).toEqual(['0.000000:2', '-inf:1', 'nan:0']);
    expect(() => classify({ type: 'bool', dims: [1], data: new Uint8Array([1]) }, 1, 'output y', 'BOOL')).toThrow(/output y\.parameters\.classification: an output of type BOOL has no values to rank/);
    expect(() => classify({ type: 'string', dims: [1], data: ['a'] }, 1, 'output y', 'BYTES')).toThrow(/BYTES has no values to rank/);
  });

  it('picks the same classes in one pass over a large tensor as a full sort does', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 30 }), (values, k) => {
        const t = { type: 'int32' as const, dims: [values.length], data: new Int32Array(values) };
        const expected = values
          .map((v, i) => ({ v, i }))
          .sort((a, b) => b.v - a.v || a.i - b.i)
          .slice(0, k)
          .map(({ v, i }) => `${v}:${i}`);
        expect(classify(t, k, 'y', 'INT32').data).toEqual(expected);
      }),
      { seed: 5, numRuns: 300 },
    );
  });

  it('prints floats as %f does', () => {
    // 123.4567895 is 123.45678949999… as a double: rounded down, as printf rounds the exact value.
    expect([0.5030592679977417, -1e-9, -0, 1e21, 123.4567895, 2.5e-7].map(printfFloat)).toEqual(['0.503059', '-0.000000', '-0.000000', '1000000000000000000000.000000', '123.456789', '0.000000']);
  });

  it('rounds a value exactly halfway between two six-decimal numbers to the even one, as printf does', () => {
    // 0.0078125 = 2^-7 and 0.0234375 = 3·2^-7 are exact halves at the seventh decimal: glibc's %f gives
    // 0.007812 and 0.023438 (ties to even), where Number#toFixed rounds every half up.
    expect([0.0078125, 0.0234375, -0.0078125, 0.0390625, 1.0078125, 2 ** -20].map(printfFloat)).toEqual(['0.007812', '0.023438', '-0.007812', '0.039062', '1.007812', '0.000001']);
    // Everything that is not such a tie as toFixed(6), which rounds the exact value of the double too.
    fc.assert(
      fc.property(fc.double({ min: -1e20, max: 1e20, noNaN: true, noDefaultInfinity: true }), (v) => {
        fc.pre(!Object.is(v, -0) && !Number.isInteger(v * 2e6));
        expect(printfFloat(v)).toBe(v.toFixed(6));
      }),
      { seed: 7, numRuns: 2000 },
    );
  });
});
