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
});
