import { describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import type { LoadedModelInfo } from '../devices/device-port.js';
import { resolveProfileInputs } from './profile-inputs.js';

/** Silero VAD's interface as onnxruntime reports it. */
const vad: LoadedModelInfo = {
  inputs: [
    { name: 'input', type: 'float32', dims: ['batch', 'sequence'] },
    { name: 'state', type: 'float32', dims: [2, 'batch', 128] },
    { name: 'sr', type: 'int64', dims: [] },
  ],
  outputs: [
    { name: 'output', type: 'float32', dims: ['batch', 1] },
    { name: 'stateN', type: 'float32', dims: ['AddstateN_dim_0', 'batch', 'AddstateN_dim_2'] },
  ],
  memoryBytes: 0,
  executionProvider: 'cpu',
};

describe('resolveProfileInputs (the executor reading of a model, for the profiler)', () => {
  it('stacks each input on its own batch axis and shares a rank-0 input', () => {
    const p = resolveProfileInputs(vad, { dims: { input: [1, 512] }, fill: { sr: 16000 } });
    const feeds = p.batch(3);
    expect(feeds['input']!.dims).toEqual([3, 512]);
    expect(feeds['state']!.dims).toEqual([2, 3, 128]);
    expect(feeds['sr']!.dims).toEqual([]);
    expect(Array.from(feeds['sr']!.data as BigInt64Array)).toEqual([16000n]);
  });

  it('names the input whose dims are free, with the dims to pass', () => {
    const err = (() => {
      try {
        resolveProfileInputs(vad);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isEparaError(err) && err.code).toBe('INVALID_OPTIONS');
    expect(String((err as Error).message)).toContain('--input input=1xN');
  });

  it('takes an explicit axis, and refuses unknown input names', () => {
    const p = resolveProfileInputs(vad, { dims: { input: [1, 512], state: [2, 1, 128] }, batchAxis: { state: null } });
    expect(p.batch(2)['state']!.dims).toEqual([2, 1, 128]);
    expect(() => resolveProfileInputs(vad, { dims: { inptu: [1, 512] } })).toThrow(/one of the model's inputs/);
  });

  /** One input of each element type, `[batch, 2]`. */
  const typed: LoadedModelInfo = {
    inputs: (['int64', 'uint64', 'int32', 'uint8', 'int8', 'bool', 'float16', 'float32', 'string'] as const).map((type) => ({ name: type, type, dims: ['batch', 2] })),
    outputs: [{ name: 'y', type: 'float32', dims: ['batch', 2] }],
    memoryBytes: 0,
    executionProvider: 'cpu',
  };
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      return isEparaError(e) ? `${e.code}: ${e.message}` : `crash: ${String(e)}`;
    }
    return 'no error';
  };

  it('fills every element type with the value asked for (uint64 as a bigint, float16 as the half of the value)', () => {
    const p = resolveProfileInputs(typed, { fill: { int64: 3, uint64: 7, int32: -2, uint8: 200, int8: -5, bool: 1, float16: 1.5, float32: 0.25, string: 4 } });
    const item = p.batch(1);
    expect(Array.from(item['int64']!.data as BigInt64Array)).toEqual([3n, 3n]);
    expect(Array.from(item['uint64']!.data as BigUint64Array)).toEqual([7n, 7n]);
    expect(Array.from(item['int32']!.data as Int32Array)).toEqual([-2, -2]);
    expect(Array.from(item['uint8']!.data as Uint8Array)).toEqual([200, 200]);
    expect(Array.from(item['int8']!.data as Int8Array)).toEqual([-5, -5]);
    expect(Array.from(item['bool']!.data as Uint8Array)).toEqual([1, 1]);
    expect(Array.from(item['float16']!.data as Uint16Array)).toEqual([0x3e00, 0x3e00]); // 1.5 as a half
    expect(Array.from(item['float32']!.data as Float32Array)).toEqual([0.25, 0.25]);
    expect(item['string']!.data).toEqual(['4', '4']);
  });

  it.each([
    ['NaN for an int64 input', { int64: Number.NaN }],
    ['NaN for a uint64 input', { uint64: Number.NaN }],
    ['a fraction for an int32 input', { int32: 1.5 }],
    ['256 for a uint8 input', { uint8: 256 }],
    ['-1 for a uint64 input', { uint64: -1 }],
    ['2 for a bool input', { bool: 2 }],
    ['-129 for an int8 input', { int8: -129 }],
  ])('refuses %s with INVALID_OPTIONS naming --fill, never a crash', (_what, fill) => {
    expect(code(() => resolveProfileInputs(typed, { fill }))).toMatch(/^INVALID_OPTIONS: .*--fill/);
  });

  it('refuses LOAD_FAILED, before allocating its item, a model one item of which is larger than maxRequestBytes', () => {
    const huge: LoadedModelInfo = { ...vad, inputs: [{ name: 'x', type: 'float32', dims: ['batch', 1048576, 4096] }] };
    const refused = (o: Parameters<typeof resolveProfileInputs>[1], info = huge): unknown => {
      try {
        resolveProfileInputs(info, o);
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const err = refused({});
    expect(isEparaError(err) && err.code).toBe('LOAD_FAILED');
    expect(isEparaError(err) && err.details['maxRequestBytes']).toBe(128 * 1024 * 1024);
    // Given dims count: an item of 2 x 4 floats is 32 bytes.
    const small: LoadedModelInfo = { ...vad, inputs: [{ name: 'x', type: 'float32', dims: ['batch', 'n', 4] }] };
    expect(resolveProfileInputs(small, { dims: { x: [1, 2, 4] }, maxRequestBytes: 32 }).item['x']!.dims).toEqual([1, 2, 4]);
    const over = refused({ dims: { x: [1, 3, 4] }, maxRequestBytes: 32 }, small); // 48 bytes
    expect(isEparaError(over) && over.code).toBe('LOAD_FAILED');
  });

  it('refuses dims that are not sizes with INVALID_OPTIONS naming --input', () => {
    expect(code(() => resolveProfileInputs(vad, { dims: { input: [1, Number.NaN] } }))).toMatch(/^INVALID_OPTIONS: .*--input/);
    expect(code(() => resolveProfileInputs(vad, { dims: { input: [1, -3] } }))).toMatch(/^INVALID_OPTIONS: .*--input/);
    expect(code(() => resolveProfileInputs(vad, { dims: { input: [1, 2.5] } }))).toMatch(/^INVALID_OPTIONS: .*--input/);
  });
});
