import { describe, expect, it } from 'vitest';
import { isEparaError, silentLogger, type NamedTensors } from '@epara/core';
import type { DeviceHandle, LoadedModelInfo } from '../devices/device-port.js';
import type { ExecutorServiceOptions } from './executor-options.js';
import { resolveIoSpec } from './io-spec.js';
import { RUNS_PER_SIZE, warmBatchShapes, type WarmShapesInput } from './warm-shapes.js';

const info: LoadedModelInfo = { inputs: [{ name: 'x', type: 'float32', dims: ['batch', 4] }], outputs: [{ name: 'y', type: 'float32', dims: ['batch', 4] }], memoryBytes: 0, executionProvider: 'cpu' };
const service: ExecutorServiceOptions = { id: 's', model: 'm.onnx', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 100 } };
const io = resolveIoSpec(info, service);

/** A device that records the batch size of every run (the size of `x` on its batch axis). */
function countingDevice(failAt?: number): { device: DeviceHandle; sizes: number[] } {
  const sizes: number[] = [];
  const device = {
    id: 'd0',
    async run(_key: string, feeds: NamedTensors): Promise<NamedTensors> {
      const b = feeds['x']!.dims[0]!;
      if (b === failAt) throw new Error(`no batch of ${b}`);
      sizes.push(b);
      return { y: feeds['x']! };
    },
  } as unknown as DeviceHandle;
  return { device, sizes };
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
