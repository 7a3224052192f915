import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTinyCausalLm, createExecutor, createGraphBuilder, type Executor } from '@epara/runtime';
import type { NamedTensors } from '@epara/core';
import { service } from './ground-truth.js';
import { rejection } from './helpers.js';
import { constantOfShapeModel, expandModel, rangeModel, tileModel } from '../fixtures/response-limit-models.js';

/*
 * Models whose output size an input's value sets: a 24-byte request to `Range` asked for 10^8 elements and held its
 * device (and ~1 GB) while the host copied and encoded them. The response limit refuses such outputs in the device
 * worker, typed, before they reach the host; the device serves on.
 */

const range = rangeModel();
const constantOfShape = constantOfShapeModel();
const tile = tileModel();
const expand = expandModel();
const lm = buildTinyCausalLm({ vocab: 32, dModel: 16, layers: 1, heads: 2, maxSeq: 16, seed: 4 });
/** {@link range} as two pipeline stages: `h = n + 0` on one device, `r = Range(0, h)` on the next. */
const rangeStages = ((): Uint8Array[] => {
  const first = createGraphBuilder({ name: 'range-stage0' });
  first.input('n', 'int64', []);
  first.node('Add', ['n', first.constant('zero', 'int64', [], [0])], ['h']);
  first.output('h', 'int64', []);
  const second = createGraphBuilder({ name: 'range-stage1' });
  second.input('h', 'int64', []);
  second.node('Range', [second.constant('s', 'int64', [], [0]), 'h', second.constant('d', 'int64', [], [1])], ['r']);
  second.output('r', 'int64', ['k']);
  return [first.toBytes(), second.toBytes()];
})();

const i64 = (dims: number[], values: number[]): NamedTensors[string] => ({ type: 'int64', dims, data: BigInt64Array.from(values.map(BigInt)) });
const rangeItem = (n: number): NamedTensors => ({ n: i64([], [n]) });
const KIB = 1024;

describe('the response limit (real onnxruntime-node)', () => {
  let executor: Executor;
  beforeAll(async () => {
    executor = createExecutor({
      devices: [
        { id: 'cpu0', threads: 1 },
        { id: 'cpu1', threads: 1 },
      ],
      launchWhenIdle: true,
      // Executor-wide: 64 KiB a request, unless the service says otherwise.
      maxResponseBytes: 64 * KIB,
      services: [
        service('range', range, { sampleInputs: rangeItem(4) }),
        service('range-big', range, { sampleInputs: rangeItem(4), maxResponseBytes: 1024 * KIB }),
        service('constant-of-shape', constantOfShape, { sampleInputs: { shape: i64([2], [1, 1]) } }),
        service('tile', tile, { sampleInputs: { x: { type: 'float32', dims: [1, 4], data: new Float32Array(4) }, reps: i64([2], [1, 1]) } }),
        // Checked for batching at load on a batch of two 40 KiB items: 80 KiB, above the limit of one request — the
        // executor's own runs at load are not refused (its profile stops at one item: two would hold 80 KiB).
        service('tile-measured', tile, {
          profile: undefined,
          maxBatch: 8,
          sampleInputs: { x: { type: 'float32', dims: [1, 4], data: new Float32Array(4) }, reps: i64([2], [1, 2560]) },
        }),
        // Two stages, one per device, handing values worker to worker (and, below, through the host).
        { ...service('range-stages', range), model: { stages: rangeStages }, profile: undefined, plan: { batchSize: 1 }, devices: ['cpu0', 'cpu1'] },
        { ...service('range-stages-host', range), model: { stages: rangeStages }, profile: undefined, plan: { batchSize: 1 }, devices: ['cpu0', 'cpu1'], pipeline: { handoff: 'host' } },
        // Six tokens, int64: 48 bytes an answer, above a limit of 40 and within one of 48.
        ...[40, 48].map((limit) => ({
          id: `chat-${limit}`,
          model: lm,
          generation: { maxBatch: 1, maxSeq: 16, maxNewTokens: 6, calibrate: false },
          sensitivity: 'latency' as const,
          slo: { kind: 'latency' as const, deadlineMs: 60_000 },
          devices: ['cpu1'],
          maxResponseBytes: limit,
        })),
        service('expand', expand, { sampleInputs: { x: { type: 'uint8', dims: [1], data: new Uint8Array([7]) }, shape: i64([1], [1]) } }),
      ],
    });
    await executor.start();
  });
  afterAll(async () => {
    await executor?.close();
  });

  it('refuses a response above the executor-wide limit with OUT_OF_MEMORY and its sizes, and serves the next request', async () => {
    const err = (await rejection(executor.submit('range', rangeItem(100_000)))) as { code?: string; details?: Record<string, unknown> };
    expect(err.code).toBe('OUT_OF_MEMORY');
    expect(err.details).toMatchObject({ reason: 'response-too-large', outputBytes: 800_000, maxResponseBytes: 64 * KIB, output: 'r' });
    // At the limit exactly: served.
    const out = await executor.submit('range', rangeItem((64 * KIB) / 8));
    expect(out['r']!.dims).toEqual([8192]);
    expect((out['r']!.data as BigInt64Array)[8191]).toBe(8191n);
    const over = (await rejection(executor.submit('range', rangeItem((64 * KIB) / 8 + 1)))) as { code?: string; details?: Record<string, unknown> };
    expect(over).toMatchObject({ code: 'OUT_OF_MEMORY', details: { outputBytes: 64 * KIB + 8 } });
  });

  it("takes a service's own limit over the executor's", async () => {
    const out = await executor.submit('range-big', rangeItem(100_000));
    expect(out['r']!.dims).toEqual([100_000]);
    const err = (await rejection(executor.submit('range-big', rangeItem(200_000)))) as { code?: string; details?: Record<string, unknown> };
    expect(err).toMatchObject({ code: 'OUT_OF_MEMORY', details: { reason: 'response-too-large', outputBytes: 1_600_000, maxResponseBytes: 1024 * KIB } });
  });

  it('refuses ConstantOfShape, Expand and Tile outputs a small request asks to be large; requests within the limit are answered', async () => {
    const cos = (await rejection(executor.submit('constant-of-shape', { shape: i64([2], [1000, 1000]) }))) as { code?: string; details?: Record<string, unknown> };
    expect(cos).toMatchObject({ code: 'OUT_OF_MEMORY', details: { outputBytes: 4_000_000 } });
    expect((await executor.submit('constant-of-shape', { shape: i64([2], [3, 5]) }))['y']!.dims).toEqual([3, 5]);
    const ex = (await rejection(executor.submit('expand', { x: { type: 'uint8', dims: [1], data: new Uint8Array([9]) }, shape: i64([1], [100_000]) }))) as { code?: string; details?: Record<string, unknown> };
    expect(ex).toMatchObject({ code: 'OUT_OF_MEMORY', details: { outputBytes: 100_000 } });
    const small = await executor.submit('expand', { x: { type: 'uint8', dims: [1], data: new Uint8Array([9]) }, shape: i64([1], [64 * KIB]) });
    expect(small['y']!.dims).toEqual([64 * KIB]);
    const x = { type: 'float32' as const, dims: [1, 4], data: new Float32Array([1, 2, 3, 4]) };
    const tiled = (await rejection(executor.submit('tile', { x, reps: i64([2], [1, 10_000]) }))) as { code?: string; details?: Record<string, unknown> };
    expect(tiled).toMatchObject({ code: 'OUT_OF_MEMORY', details: { outputBytes: 160_000, requests: 1 } });
    const ok = await executor.submit('tile', { x, reps: i64([2], [1, 2]) });
    expect(Array.from(ok['y']!.data as Float32Array)).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
  });

  it('counts the limit per request of a batch: a batch within n times it is answered, its requests alike', async () => {
    // Eight requests sharing one repeat count run as one batch where the model stacks; each gets 16 KiB.
    const x = (v: number): NamedTensors[string] => ({ type: 'float32', dims: [1, 4], data: new Float32Array([v, v, v, v]) });
    const reps = i64([2], [1, 1024]);
    const outs = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((v) => executor.submit('tile', { x: x(v), reps })));
    outs.forEach((o, i) => {
      expect(o['y']!.dims).toEqual([1, 4096]);
      expect((o['y']!.data as Float32Array)[4095]).toBe(i + 1);
    });
  });

  it("loads a model whose load-time batches hold more than one request's limit, and serves its requests", async () => {
    const x = { type: 'float32' as const, dims: [1, 4], data: new Float32Array([1, 2, 3, 4]) };
    const outs = await Promise.all([1, 2, 3].map(() => executor.submit('tile-measured', { x, reps: i64([2], [1, 1024]) })));
    for (const o of outs) expect(o['y']!.dims).toEqual([1, 4096]);
  });

  it('refuses a pipeline answer above the limit, whichever way its stages hand values on, and serves the next request', async () => {
    for (const id of ['range-stages', 'range-stages-host']) {
      const err = (await rejection(executor.submit(id, rangeItem(100_000)))) as { code?: string; details?: Record<string, unknown> };
      expect(err, id).toMatchObject({ code: 'OUT_OF_MEMORY', details: { reason: 'response-too-large', outputBytes: 800_000, maxResponseBytes: 64 * KIB, output: 'r' } });
      const out = await executor.submit(id, rangeItem((64 * KIB) / 8));
      expect(out['r']!.dims, id).toEqual([8192]);
      expect((out['r']!.data as BigInt64Array)[8191], id).toBe(8191n);
    }
  });

  it('refuses a generated answer above the limit, typed, and answers within it', async () => {
    const prompt = { input_ids: i64([1, 3], [1, 2, 3]) };
    const err = (await rejection(executor.submit('chat-40', prompt))) as { code?: string; details?: Record<string, unknown> };
    expect(err).toMatchObject({ code: 'OUT_OF_MEMORY', details: { reason: 'response-too-large', outputBytes: 48, maxResponseBytes: 40, output: 'tokens' } });
    const out = await executor.submit('chat-48', prompt);
    expect(out['tokens']!.dims).toEqual([1, 6]);
  });

  it('refuses a limit that is not a positive number of bytes', () => {
    expect(() => createExecutor({ devices: [{ id: 'cpu0' }], maxResponseBytes: 0 })).toThrow(/maxResponseBytes/);
    expect(() => createExecutor({ devices: [{ id: 'cpu0' }], services: [service('r', range, { maxResponseBytes: -1 })] })).toThrow(/services\[0\]\.maxResponseBytes/);
  });
});

/*
 * A model with free dims and no sampleInputs is checked for batching with its first request's inputs (docs/runtime.md,
 * Batchability). A request the model refuses to answer — its run fails, or its outputs are above the limit — shows
 * nothing about batching: it must neither decide the verdict (a failed single run read as "not separable" left the
 * service unbatched for good) nor have its outputs computed unlimited by the check's own runs.
 */
describe('the batch check deferred to the first request, when that request is refused', () => {
  it('leaves the verdict to the next request, which the service then batches', async () => {
    const verdicts: string[] = [];
    let decided: () => void = () => undefined;
    const note = (_obj: object | string, msg?: string): void => {
      if (msg === 'service batches after checking its first request' || msg === 'service runs unbatched') {
        verdicts.push(msg);
        decided();
      }
    };
    const executor = createExecutor({
      devices: [{ id: 'cpu0', threads: 1 }],
      launchWhenIdle: true,
      maxResponseBytes: 64 * KIB,
      logger: { debug: () => undefined, info: note, warn: note, error: () => undefined },
      // No sampleInputs: the free batch dim of x is checked with the first request.
      services: [service('tile-first', tile, { maxBatch: 8 })],
    });
    try {
      await executor.start();
      // The load's own word (unbatched until the first request checks) is not a verdict.
      verdicts.length = 0;
      const verdict = new Promise<void>((resolve) => (decided = resolve));
      const x = (v: number): NamedTensors[string] => ({ type: 'float32', dims: [1, 4], data: new Float32Array([v, v, v, v]) });
      // Refused by the model itself (an output of 2^44 bytes it cannot allocate), then by the limit (1.6 MB).
      expect((await rejection(executor.submit('tile-first', { x: x(1), reps: i64([2], [1, 2 ** 40]) }))).code).toBe('MODEL_ERROR');
      expect((await rejection(executor.submit('tile-first', { x: x(1), reps: i64([2], [1, 100_000]) }))).code).toBe('OUT_OF_MEMORY');
      expect(verdicts).toEqual([]);
      // An ordinary request decides: batched.
      await executor.submit('tile-first', { x: x(2), reps: i64([2], [1, 2]) });
      await verdict;
      expect(verdicts).toEqual(['service batches after checking its first request']);
      const sizes: number[] = [];
      executor.on('batchDispatched', (e) => sizes.push(e.size));
      const outs = await Promise.all([1, 2, 3, 4].map((v) => executor.submit('tile-first', { x: x(v), reps: i64([2], [1, 2]) })));
      outs.forEach((o, i) => expect(Array.from(o['y']!.data as Float32Array)).toEqual(new Array<number>(8).fill(i + 1)));
      expect(Math.max(...sizes)).toBeGreaterThan(1);
    } finally {
      await executor.close();
    }
  });
});
