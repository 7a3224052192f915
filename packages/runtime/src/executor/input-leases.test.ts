import { describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import { InputLeases, type InputLeaseContext } from './input-leases.js';
import type { IoSpec } from './io-spec.js';

/* An instance's lease rings: one per input and item shape, laid out anew when the instance's batch sizes change. */

const io = { inputs: [{ name: 'x', type: 'float32', dims: [1, 3], batchAxis: 0 }], stateInputs: [] } as unknown as IoSpec;
const context = (): InputLeaseContext => ({ serviceId: 's', io, maxBatchSize: 4, batchSize: 4, knownOutputs: undefined, slabBytes: 1 << 20, maxSlabs: 2, maxBytes: 0 });

describe('InputLeases', () => {
  it('lays out a new ring once the batch sizes change (an instance batches only after its verdict)', () => {
    const leases = new InputLeases();
    // Unbatched at first: one lease per slab.
    const early = [0, 1].map(() => leases.allocate(() => ({ ...context(), maxBatchSize: 1, batchSize: 1 }), { batchSize: 1, maxBatchSize: 1 }, 'x', [1, 3]));
    expect(early.map((l) => l.slot)).toEqual([0, 0]);
    expect(early[0]!.slab).not.toBe(early[1]!.slab);
    // Batching now: leases share a slab four at a time; the counters keep the first ring's leases.
    const later = [0, 1, 2].map(() => leases.allocate(context, { batchSize: 4, maxBatchSize: 4 }, 'x', [1, 3]));
    expect(later.map((l) => l.slot)).toEqual([0, 1, 2]);
    expect(later[2]!.slab).toBe(later[0]!.slab);
    expect(leases.stats()['x']).toMatchObject({ leases: 5, fellBack: 0 });
  });

  it('refuses an input the model does not take, or dims it does not take for one item', () => {
    const leases = new InputLeases();
    const code = (f: () => unknown): string => {
      try {
        f();
        return 'returned';
      } catch (err) {
        return isEparaError(err) ? err.code : String(err);
      }
    };
    expect(code(() => leases.allocate(context, { batchSize: 4, maxBatchSize: 4 }, 'y', [1, 3]))).toBe('INVALID_INPUT');
    expect(code(() => leases.allocate(context, { batchSize: 4, maxBatchSize: 4 }, 'x', [2, 3]))).toBe('INVALID_INPUT');
    expect(code(() => leases.allocate(context, { batchSize: 4, maxBatchSize: 4 }, 'x', [1, 0]))).toBe('INVALID_INPUT');
  });
});
