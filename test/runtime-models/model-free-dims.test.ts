import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamedTensors, ParallelPlan, TensorLike } from '@epara/core';
import { createGraphBuilder, type Executor, type ExecutorServiceOptions, type GraphBuilder } from '@epara/runtime';
import { f32 } from './fixtures/shape-models.js';
import { expectServedAsReference, reference, service, startExecutor, submitAll, type Reference } from './ground-truth.js';
import { rejection } from './helpers.js';

/*
 * Models whose inputs leave dims free besides the batch (a text model's `seq`, an image's height and width), loaded
 * with neither a profile nor `sampleInputs` — what a host that knows nothing of the model gives. The shape of an
 * item then comes from the requests themselves: each request must get raw onnxruntime-node's answer on it alone,
 * requests of different shapes never share a run, and a model no size can be found for is refused at load with a
 * typed error naming what to give.
 */

const model = (name: string, build: (g: GraphBuilder) => void): Uint8Array => {
  const g = createGraphBuilder({ name, seed: 7 });
  build(g);
  return g.toBytes();
};
const i64 = (dims: number[], values: (i: number) => number): TensorLike => ({
  type: 'int64',
  dims,
  data: BigInt64Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => BigInt(values(i))),
});
const i32 = (dims: number[], values: (i: number) => number): TensorLike => ({
  type: 'int32',
  dims,
  data: Int32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => values(i)),
});

interface Case {
  readonly bytes: Uint8Array;
  /** Request `k`: its shape varies with `k`, and repeats, so that requests of equal shapes can share a run. */
  readonly item: (k: number) => NamedTensors;
}

const CASES: Record<string, Case> = {
  /**
   * A text encoder: token embeddings masked by `attention_mask`, per token (`hidden [batch, seq, 4]`) and summed
   * over the sequence (`pooled [batch, 4]`); both inputs `[batch, seq]` with `seq` free.
   */
  textEncoder: {
    bytes: model('text-encoder', (g) => {
      g.input('input_ids', 'int64', ['batch', 'seq']);
      g.input('attention_mask', 'int64', ['batch', 'seq']);
      const emb = g.op('Gather', [g.weight('table', [32, 4], 1), 'input_ids']);
      const mask = g.op('Unsqueeze', [g.op('Cast', ['attention_mask'], { to: 1 }), g.constant('last', 'int64', [1], [2])]);
      g.node('Mul', [emb, mask], ['hidden']);
      g.node('ReduceSum', ['hidden', g.constant('seqAxis', 'int64', [1], [1])], ['pooled'], { keepdims: 0 });
      g.output('hidden', 'float32', ['batch', 'seq', 4]);
      g.output('pooled', 'float32', ['batch', 4]);
    }),
    item: (k) => {
      const seq = 1 + (k % 4) * 3;
      return { input_ids: i64([1, seq], (i) => (k * 7 + i * 5) % 32), attention_mask: i64([1, seq], (i) => (i < seq - (k % 2) ? 1 : 0)) };
    },
  },
  /** An image model with free batch, height and width: a 3×3 convolution (padding 1) and its global average. */
  imageConv: {
    bytes: model('image-conv', (g) => {
      g.input('x', 'float32', ['N', 3, 'H', 'W']);
      g.node('Conv', ['x', g.weight('w', [2, 3, 3, 3], 0.5), g.weight('b', [2], 0.1)], ['y'], { pads: [1, 1, 1, 1] });
      g.node('GlobalAveragePool', ['y'], ['pooled']);
      g.output('y', 'float32', ['N', 2, 'H', 'W']);
      g.output('pooled', 'float32', ['N', 2, 1, 1]);
    }),
    item: (k) => ({ x: f32([1, 3, 2 + (k % 3) * 3, 3 + (k % 2) * 4], k) }),
  },
  /** A window of 5 without padding over a free length `[N, L]`: a length under 5 fails, so a size of 1 cannot be measured. */
  window5: {
    bytes: model('window-5', (g) => {
      g.input('x', 'float32', ['N', 'L']);
      const x3 = g.op('Unsqueeze', ['x', g.constant('channel', 'int64', [1], [1])]);
      g.node('Conv', [x3, g.weight('w', [1, 1, 5], 0.5)], ['y']);
      g.output('y', 'float32', ['N', 1, 'L_out']);
    }),
    item: (k) => ({ x: f32([1, 5 + (k % 3) * 4], k) }),
  },
  /** An integer division by an input of free length: zeros as a divisor fail, so a sample of zeros cannot be measured. */
  intDivide: {
    bytes: model('int-divide', (g) => {
      g.input('a', 'int32', ['N', 'L']);
      g.input('d', 'int32', ['N', 'L']);
      g.node('Div', ['a', 'd'], ['q']);
      g.output('q', 'int32', ['N', 'L']);
    }),
    item: (k) => ({ a: i32([1, 2 + (k % 3)], (i) => 1000 * k - 37 * i), d: i32([1, 2 + (k % 3)], (i) => ((k + i) % 5) + 1) }),
  },
};

/** The service without a profile and without `sampleInputs`. */
const bare = (id: string, bytes: Uint8Array): ExecutorServiceOptions => {
  const { profile: _given, ...rest } = service(id, bytes);
  return { ...rest, maxBatch: 4 };
};

describe('free dims besides the batch, with neither a profile nor sampleInputs: the shape comes from the requests', () => {
  const names = Object.keys(CASES);
  let executor: Executor;
  const refs = new Map<string, Reference>();
  beforeAll(async () => {
    for (const name of names) refs.set(name, await reference(CASES[name]!.bytes));
    executor = await startExecutor(
      names.map((name) => bare(name, CASES[name]!.bytes)),
      { warmup: 0, repetitions: 1 },
    );
  });
  afterAll(async () => {
    await executor?.close();
    for (const r of refs.values()) await r.release();
  });

  it.each(names)('%s: loads, and answers requests of every shape as raw onnxruntime-node, batching equal shapes once checked', async (name) => {
    const c = CASES[name]!;
    const items = (): NamedTensors[] => Array.from({ length: 12 }, (_, k) => c.item(k + 1));
    await expectServedAsReference(executor, name, refs.get(name)!, items());
    // Twice: the check the first request ran decides for the second round.
    const again = await expectServedAsReference(executor, name, refs.get(name)!, items());
    expect(executor.itemSeparability(name)).toBe('separable');
    expect(Math.max(...again.batchSizes)).toBeGreaterThan(1);
    expect(executor.instances().find((i) => i.serviceId === name)?.runMs).toBeGreaterThan(0);
  });

  it('refuses a model that runs on no size it could measure (a reshape to exactly 3 columns) with INVALID_OPTIONS naming sampleInputs', async () => {
    const exactly3 = model('exactly-3', (g) => {
      g.input('x', 'float32', ['N', 'L']);
      g.node('Reshape', ['x', g.constant('shape', 'int64', [2], [-1, 3])], ['r']);
      g.node('Mul', ['r', g.constant('two', 'float32', [], [2])], ['y']);
      g.output('y', 'float32', ['N', 3]);
    });
    const refused = bare('exactly3', exactly3);
    executor.register(refused);
    const err = await rejection(executor.load({ serviceId: 'exactly3' } as ParallelPlan, { deviceIds: ['cpu0'] }));
    expect(err.code).toBe('INVALID_OPTIONS');
    expect((err as Error).message).toMatch(/sampleInputs/);
    expect((err as Error).message).toMatch(/'x'/);
    expect(executor.instances().some((i) => i.serviceId === 'exactly3')).toBe(false);
    // With a sample it is served.
    executor.register({ ...bare('exactly3-sampled', exactly3), sampleInputs: { x: f32([1, 3], 0) } });
    await executor.load({ serviceId: 'exactly3-sampled' } as ParallelPlan, { deviceIds: ['cpu0'] });
    const ref = await reference(exactly3);
    try {
      const served = await submitAll(executor, 'exactly3-sampled', [1, 2, 3].map((k) => ({ x: f32([1, 3], k) })));
      expect(served.results.every((r) => r.ok)).toBe(true);
      await expectServedAsReference(executor, 'exactly3-sampled', ref, [4, 5].map((k) => ({ x: f32([1, 3], k) })));
    } finally {
      await ref.release();
    }
  });
});
