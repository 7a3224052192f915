import { describe, expect, it } from 'vitest';
import { affineProfile, isEparaError, silentLogger, type NamedTensors } from '@epara/core';
import type { DeviceHandle, LoadedModelInfo } from '../devices/device-port.js';
import type { ExecutorServiceOptions } from './executor-options.js';
import { resolveIoSpec } from './io-spec.js';
import { RUNS_PER_SIZE, warmBatchShapes, warmSizesWithin, type WarmShapesInput } from './warm-shapes.js';

const info: LoadedModelInfo = { inputs: [{ name: 'x', type: 'float32', dims: ['batch', 4] }], outputs: [{ name: 'y', type: 'float32', dims: ['batch', 4] }], memoryBytes: 0, executionProvider: 'cpu' };
const service: ExecutorServiceOptions = { id: 's', model: 'm.onnx', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 100 } };
const io = resolveIoSpec(info, service);

/** A device that records the batch size of every run (the size of `x` on its batch axis). */
function countingDevice(failAt?: number): { device: DeviceHandle; sizes: number[]; recipes: { key: string; warm: (run: (feeds: NamedTensors) => Promise<unknown>) => Promise<number> }[] } {
  const sizes: number[] = [];
  const recipes: { key: string; warm: (run: (feeds: NamedTensors) => Promise<unknown>) => Promise<number> }[] = [];
  const device = {
    id: 'd0',
    warmAfterRestart(key: string, warm: (run: (feeds: NamedTensors) => Promise<unknown>) => Promise<number>): void {
      recipes.push({ key, warm });
    },
    async run(_key: string, feeds: NamedTensors): Promise<NamedTensors> {
      const b = feeds['x']!.dims[0]!;
      if (b === failAt) throw new Error(`no batch of ${b}`);
      sizes.push(b);
      return { y: feeds['x']! };
    },
  } as unknown as DeviceHandle;
  return { device, sizes, recipes };
}

const input = (devices: DeviceHandle[], over: Partial<WarmShapesInput> = {}): WarmShapesInput => ({
  devices,
  modelKey: 'm',
  io,
  sample: undefined,
  state: {},
  outputNames: undefined,
  maxBatch: 6,
  budgetMs: 60_000,
  profile: affineProfile('cpu-1t', { fixedMs: 1, perItemMs: 1, maxBatch: 32 }),
  logger: silentLogger,
  ...over,
});

describe('warmBatchShapes', () => {
  it('runs every batch size up to the largest, twice, on every device, smallest first', async () => {
    const a = countingDevice();
    const b = countingDevice();
    const r = await warmBatchShapes(input([a.device, b.device]));
    const expected = [1, 2, 3, 4, 5, 6].flatMap((n) => Array<number>(RUNS_PER_SIZE).fill(n));
    expect(a.sizes).toEqual(expected);
    expect(b.sizes).toEqual(expected);
    expect(r.sizes).toBe(6);
  });

  it('warms as many sizes as the profile prices within the budget, decided before the first run', async () => {
    // L(b) = 1 + b ms, two runs per size: 4, 6, 8, 10 … ms; 4 + 6 + 8 = 18 ≤ 20 < 28.
    expect(warmSizesWithin(affineProfile('cpu-1t', { fixedMs: 1, perItemMs: 1, maxBatch: 32 }), 6, 20)).toBe(3);
    expect(warmSizesWithin(affineProfile('cpu-1t', { fixedMs: 1, perItemMs: 1, maxBatch: 32 }), 2, 20)).toBe(2);
    expect(warmSizesWithin(affineProfile('cpu-1t', { fixedMs: 1, perItemMs: 1, maxBatch: 32 }), 6, 3)).toBe(0);
    // However slowly the runs go: a device whose every run takes longer than the whole budget still warms 3 sizes.
    const sizes: number[] = [];
    const slow = {
      id: 'd0',
      async run(_key: string, feeds: NamedTensors): Promise<NamedTensors> {
        sizes.push(feeds['x']!.dims[0]!);
        await new Promise((r) => setTimeout(r, 25));
        return { y: feeds['x']! };
      },
    } as unknown as DeviceHandle;
    const r = await warmBatchShapes(input([slow], { budgetMs: 20 }));
    expect(r.sizes).toBe(3);
    expect(sizes).toEqual([1, 1, 2, 2, 3, 3]);
  });

  it('hands each device that can the recipe to warm the same sizes after a restart', async () => {
    const a = countingDevice();
    await warmBatchShapes(input([a.device], { maxBatch: 3 }));
    expect(a.recipes.map((r) => r.key)).toEqual(['m']);
    const rerun: number[] = [];
    const warmed = await a.recipes[0]!.warm(async (feeds) => void rerun.push(feeds['x']!.dims[0]!));
    expect(warmed).toBe(3);
    expect(rerun).toEqual([1, 1, 2, 2, 3, 3]);
    // A failing run ends the re-warm at the sizes done.
    const again = await a.recipes[0]!.warm(async (feeds) => {
      if (feeds['x']!.dims[0] === 2) throw new Error('no');
    });
    expect(again).toBe(1);
  });

  it('runs nothing with no budget', async () => {
    const a = countingDevice();
    expect((await warmBatchShapes(input([a.device], { budgetMs: 0 }))).sizes).toBe(0);
    expect(a.sizes).toEqual([]);
  });

  it('stops at a failing size without failing, and says so', async () => {
    const a = countingDevice(3);
    const warned: unknown[] = [];
    const logger = { ...silentLogger, warn: (obj: unknown) => void warned.push(obj) };
    const r = await warmBatchShapes(input([a.device], { logger }));
    expect(r.sizes).toBe(2);
    expect(a.sizes).toEqual([1, 1, 2, 2]);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ batch: 3 });
  });

  it('does not warm a model with free dims and no sample to size them', async () => {
    const free = resolveIoSpec({ ...info, inputs: [{ name: 'x', type: 'float32', dims: ['batch', 'n'] }] }, service);
    const a = countingDevice();
    expect((await warmBatchShapes(input([a.device], { io: free }))).sizes).toBe(0);
    expect(a.sizes).toEqual([]);
  });

  it('rejects ABORTED when the load is aborted', async () => {
    const a = countingDevice();
    const ac = new AbortController();
    ac.abort();
    const err: unknown = await warmBatchShapes(input([a.device], { signal: ac.signal })).catch((e: unknown) => e);
    expect(isEparaError(err) && err.code).toBe('ABORTED');
    expect(a.sizes).toEqual([]);
  });
});
