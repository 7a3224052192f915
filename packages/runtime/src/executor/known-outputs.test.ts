import { describe, expect, it } from 'vitest';
import { knownOutputs, SLAB_OUTPUT_MAX_ITEM_BYTES } from './known-outputs.js';

describe('knownOutputs', () => {
  it('gives per-item dims when every dim but the batch axis is fixed', () => {
    const known = knownOutputs([{ name: 'p', type: 'float32', dims: ['N', 2] }, { name: 'k', type: 'int64', dims: [] }], undefined, { p: 0 });
    expect(known).toEqual([
      { name: 'p', type: 'float32', dims: [1, 2], axis: 0 },
      { name: 'k', type: 'int64', dims: [], axis: null },
    ]);
    expect(Object.isFrozen(known![0]!.dims)).toBe(true);
  });

  it('follows a non-leading batch axis and only the fetched outputs', () => {
    const outputs = [{ name: 's', type: 'float32' as const, dims: [2, 'b', 3] }, { name: 'big', type: 'float32' as const, dims: ['b', 'w'] }];
    expect(knownOutputs(outputs, ['s'], { s: 1, big: 0 })).toEqual([{ name: 's', type: 'float32', dims: [2, 1, 3], axis: 1 }]);
  });

  it('is undefined when a size depends on more than the batch, or the outputs are too large to copy per request', () => {
    expect(knownOutputs([{ name: 'r', type: 'float32', dims: ['N', 'T', 6625] }], undefined, { r: 0 })).toBeUndefined();
    expect(knownOutputs([{ name: 'f', type: 'float32', dims: [4, 2] }], undefined, { f: 0 })).toBeUndefined(); // fixed batch of 4
    expect(knownOutputs([{ name: 'u', type: 'float32', dims: ['N', 2] }], ['missing'], { u: 0 })).toBeUndefined();
    const wide = SLAB_OUTPUT_MAX_ITEM_BYTES / 4 + 1;
    expect(knownOutputs([{ name: 'w', type: 'float32', dims: ['N', wide] }], undefined, { w: 0 })).toBeUndefined();
  });
});
