import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamedTensors } from '@epara/core';
import { createExecutor, type Executor } from '@epara/runtime';
import { models, seededFloats } from '../fixtures/models.js';

/*
 * The executor's input data path end to end on the real classifier: one device stacks batches into input
 * slabs, the other (slabs off) into fresh transferred buffers. Same requests, same outputs; the slab pool
 * neither leaks nor grows over many requests; callers keep their arrays.
 */

const ITEM = 3 * 48 * 192;
const clsItem = (seed: number): NamedTensors => ({ x: { type: 'float32', dims: [1, 3, 48, 192], data: seededFloats(ITEM, seed) } });

describe('executor input slabs (PP-OCR classifier)', () => {
  let ex: Executor;
  beforeAll(async () => {
    const service = (id: string, device: string) => ({
      id,
      model: models.ocrCls,
      sensitivity: 'latency' as const,
      slo: { kind: 'latency' as const, deadlineMs: 10_000 },
      profile: { deviceKind: 'cpu-1t', points: [{ batch: 1, ms: 2 }, { batch: 4, ms: 6 }] },
      plan: { batchSize: 4 },
      maxBatch: 4,
      devices: [device],
    });
    ex = createExecutor({
      launchWhenIdle: true,
      devices: [{ id: 'slab', threads: 1, inputSlabs: 2 }, { id: 'copy', threads: 1, inputSlabBytes: 0 }],
      services: [service('viaSlab', 'slab'), service('viaCopy', 'copy')],
    });
    await ex.start();
  });
  afterAll(async () => {
    await ex.close();
  });

  it('serves the copy path’s outputs and leaves the callers’ arrays readable', async () => {
    const seeds = Array.from({ length: 12 }, (_, i) => i + 1);
    const inputs = seeds.map(clsItem);
    const viaSlab = await Promise.all(inputs.map((x) => ex.submit('viaSlab', x)));
    for (const x of inputs) expect(x['x']!.data.length).toBe(ITEM);
    const viaCopy = await Promise.all(seeds.map((s) => ex.submit('viaCopy', clsItem(s))));
    const name = Object.keys(viaCopy[0]!)[0]!;
    viaSlab.forEach((o, i) => {
      expect(o[name]!.dims).toEqual([1, 2]);
      expect(Array.from(o[name]!.data as Float32Array)).toEqual(Array.from(viaCopy[i]![name]!.data as Float32Array));
    });
    expect(ex.stats().devices['copy']!.inputSlabs).toMatchObject({ slabRuns: 0, allocated: 0 });
    // The classifier's output ([batch, 2]) is known in size: it came back in the slab, copied per request.
    const slab = ex.stats().devices['slab']!.inputSlabs!;
    expect(slab.outputRuns).toBe(slab.slabRuns);
  });

  it('runs many requests from at most its configured slabs, all returned', async () => {
    const before = ex.stats().devices['slab']!.inputSlabs!;
    for (let round = 0; round < 10; round++) await Promise.all(Array.from({ length: 16 }, (_, i) => ex.submit('viaSlab', clsItem(round * 16 + i))));
    const after = ex.stats().devices['slab']!.inputSlabs!;
    expect(after.held).toBeLessThanOrEqual(2);
    expect(after).toMatchObject({ lent: 0, lost: 0, free: after.held });
    expect(after.slabRuns - before.slabRuns).toBeGreaterThanOrEqual(40); // 160 requests in batches of ≤ 4
  });

  it('runs leases written in place with the same outputs as plain inputs (onnxruntime reads the lease slab)', async () => {
    const seeds = Array.from({ length: 8 }, (_, i) => i + 100);
    const leased = await Promise.all(
      seeds.map((seed) => {
        const lease = ex.allocateInput<Float32Array>('viaSlab', 'x', [1, 3, 48, 192]);
        lease.data.set(clsItem(seed)['x']!.data as Float32Array);
        return ex.submit('viaSlab', { x: lease });
      }),
    );
    const plain = await Promise.all(seeds.map((seed) => ex.submit('viaCopy', clsItem(seed))));
    const name = Object.keys(plain[0]!)[0]!;
    leased.forEach((o, i) => expect(Array.from(o[name]!.data as Float32Array)).toEqual(Array.from(plain[i]![name]!.data as Float32Array)));
    const leases = ex.stats().services['viaSlab']!.inputLeases!['x']!;
    expect(leases.slabBatches).toBeGreaterThan(0);
    expect(leases).toMatchObject({ leases: 8, fellBack: 0 });
    expect(leases.inPlaceItems).toBeGreaterThan(0);
  });
});
