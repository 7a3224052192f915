import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, type Logger, type NamedTensors, type ParallelPlan, type TensorLike } from '@epara/core';
import { createExecutor, createGraphBuilder, type Executor, type ExecutorServiceOptions, type GraphBuilder } from '@epara/runtime';
import { models, seededFloats } from '../fixtures/models.js';
import { f32, ITEMS, MODELS, SEPARABLE, type Name } from './fixtures/shape-models.js';
import { expectServedAsReference, reference, service, submitAll, type Reference } from './ground-truth.js';
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
  /**
   * For float outputs summed along a free dim: onnxruntime's reduction adds in another order at another batch
   * size (a batch of two answers a row 1 ulp away from the row alone), as raw onnxruntime-node does on a batch.
   */
  readonly tolerance?: number;
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
    tolerance: 1e-6,
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

/**
 * The service without a profile and without `sampleInputs`. Its plan fixes batches of up to 4: the batch size
 * the deadline rule would pick from a profile measured on a loaded host is noise.
 */
const bare = (id: string, bytes: Uint8Array | string): ExecutorServiceOptions => {
  const { profile: _given, ...rest } = service(id, bytes);
  return { ...rest, maxBatch: 4, plan: { batchSize: 4 } };
};

describe('free dims besides the batch, with neither a profile nor sampleInputs: the shape comes from the requests', () => {
  const names = Object.keys(CASES);
  let executor: Executor;
  const refs = new Map<string, Reference>();
  // The check a first request runs ends in the background: the executor logs its verdict.
  const verdicts = new Map<string, (how: string) => void>();
  const decided = new Map(names.map((name) => [name, new Promise<string>((resolve) => verdicts.set(name, resolve))]));
  const logger: Logger = {
    ...silentLogger,
    info: (o, msg) => {
      if (msg === 'service batches after checking its first request') verdicts.get((o as { serviceId: string }).serviceId)?.('batches');
    },
    warn: (o, msg) => {
      if (msg === 'service runs unbatched') verdicts.get((o as { serviceId: string }).serviceId)?.('unbatched');
    },
  };
  beforeAll(async () => {
    for (const name of names) refs.set(name, await reference(CASES[name]!.bytes));
    const services = names.map((name) => bare(name, CASES[name]!.bytes));
    executor = createExecutor({ devices: [{ id: 'cpu0', threads: 1 }], services, launchWhenIdle: true, profiling: { warmup: 0, repetitions: 1 }, logger });
    await executor.start();
  });
  afterAll(async () => {
    await executor?.close();
    for (const r of refs.values()) await r.release();
  });

  it.each(names)('%s: loads, and answers requests of every shape as raw onnxruntime-node, batching equal shapes once checked', async (name) => {
    const c = CASES[name]!;
    const items = (): NamedTensors[] => Array.from({ length: 12 }, (_, k) => c.item(k + 1));
    const o = { tolerance: c.tolerance ?? 0 };
    await expectServedAsReference(executor, name, refs.get(name)!, items(), o);
    // The first request's check decides for the second round.
    expect(await decided.get(name)).toBe('batches');
    const again = await expectServedAsReference(executor, name, refs.get(name)!, items(), o);
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

describe('models that declare one item larger than any request may be', () => {
  const relu = (name: string, dims: (number | string)[], outDims = dims): Uint8Array =>
    model(name, (g) => {
      g.input('x', 'float32', dims);
      g.node('Relu', ['x'], ['y']);
      g.output('y', 'float32', outDims);
    });
  let executor: Executor;
  let ref: Reference;
  const small = relu('small', ['N', 4]);
  beforeAll(async () => {
    executor = createExecutor({ devices: [{ id: 'cpu0', threads: 1 }], services: [service('small', small)], launchWhenIdle: true, profiling: { warmup: 0, repetitions: 1 } });
    await executor.start();
    ref = await reference(small);
  });
  afterAll(async () => {
    await executor?.close();
    await ref?.release();
  });
  const load = (id: string, bytes: Uint8Array, more: Partial<ExecutorServiceOptions> = {}): Promise<unknown> => {
    executor.register({ ...service(id, bytes), ...more });
    return executor.load({ serviceId: id } as ParallelPlan, { deviceIds: ['cpu0'] });
  };

  it.each<[string, Uint8Array, Partial<ExecutorServiceOptions>, RegExp]>([
    // 16 GiB of zeros to measure, check or warm with: the host ran out of memory, or paged for minutes.
    ['[N, 1048576, 4096] float32 (16 GiB an item), no profile', relu('huge', ['N', 1048576, 4096]), { profile: undefined }, /'x' float32\[1, 1048576, 4096\] hold at least 17179869184 bytes/],
    ['the same with a profile (the batch check would allocate it)', relu('huge', ['N', 1048576, 4096]), {}, /17179869184 bytes.*maxRequestBytes \(134217728\)/],
    ['[N, 2^40, 2^20] (beyond any typed array)', relu('beyond', ['N', 2 ** 40, 2 ** 20]), { profile: undefined }, /about 4\.\d+e\+18 bytes/],
    ['[N, 4096, 4096] float32 (64 MiB) under maxRequestBytes of 1 MiB', relu('capped', ['N', 4096, 4096]), { maxRequestBytes: 2 ** 20 }, /67108864 bytes.*maxRequestBytes \(1048576\)/],
  ])('refuses %s at load with LOAD_FAILED naming the input and the bytes', async (what, bytes, more, message) => {
    const id = `huge ${what}`;
    const err = await rejection(load(id, bytes, more));
    expect(err.code).toBe('LOAD_FAILED');
    expect((err as Error).message).toMatch(message);
    expect(executor.instances().some((i) => i.serviceId === id)).toBe(false);
    await expectServedAsReference(executor, 'small', ref, [1, 2, 3].map((k) => ({ x: f32([1, 4], k) })));
  });

  it('serves a model whose free dims could be huge (only what a request sends counts)', async () => {
    const open = relu('open', ['N', 'rows', 4096]);
    await load('open', open, { profile: undefined, sampleInputs: { x: f32([1, 2, 4096], 0) } });
    const openRef = await reference(open);
    try {
      await expectServedAsReference(executor, 'open', openRef, [1, 2, 3].map((k) => ({ x: f32([1, k, 4096], k) })));
    } finally {
      await openRef.release();
    }
  });
});

describe('every shape model, with neither a profile nor sampleInputs', () => {
  const names = Object.keys(MODELS) as Name[];
  let executor: Executor;
  const refs = new Map<Name, Reference>();
  beforeAll(async () => {
    for (const name of names) refs.set(name, await reference(MODELS[name]));
    const services = names.map((name) => bare(name, MODELS[name]));
    executor = createExecutor({ devices: [{ id: 'cpu0', threads: 1 }], services, launchWhenIdle: true, profiling: { warmup: 0, repetitions: 1 } });
    await executor.start();
  });
  afterAll(async () => {
    await executor?.close();
    for (const r of refs.values()) await r.release();
  });

  it.each(names)('%s: loads, measures and answers as raw onnxruntime-node, never stacking what may not be', async (name) => {
    const items = (): NamedTensors[] => [1, 2, 3, 4, 5, 6].map((k) => ITEMS[name](k));
    const first = await expectServedAsReference(executor, name, refs.get(name)!, items());
    const again = await expectServedAsReference(executor, name, refs.get(name)!, items());
    if (!SEPARABLE[name]) expect(Math.max(...first.batchSizes, ...again.batchSizes)).toBe(1);
    expect(executor.instances().find((i) => i.serviceId === name)?.runMs).toBeGreaterThan(0);
  });
});

describe('the PP-OCR recognizer and detector (free height and width), with neither a profile nor sampleInputs', () => {
  const image = (h: number, w: number, seed: number): NamedTensors => ({ x: { type: 'float32', dims: [1, 3, h, w], data: seededFloats(3 * h * w, seed) } });
  let executor: Executor;
  const refs = new Map<string, Reference>();
  beforeAll(async () => {
    refs.set('rec', await reference(models.ocrRec));
    refs.set('det', await reference(models.ocrDet));
    const services = [bare('rec', models.ocrRec), bare('det', models.ocrDet)];
    executor = createExecutor({ devices: [{ id: 'cpu0', threads: 1 }], services, launchWhenIdle: true, profiling: { warmup: 0, repetitions: 1 } });
    await executor.start();
  }, 120_000);
  afterAll(async () => {
    await executor?.close();
    for (const r of refs.values()) await r.release();
  });

  it.each<[string, [number, number][]]>([
    ['rec', [[48, 64], [48, 96], [48, 64], [48, 128]]],
    ['det', [[32, 32], [64, 32], [32, 32], [32, 64]]],
  ])('%s: loads and answers images of several sizes as raw onnxruntime-node (within float rounding: a batch may take other kernels)', async (id, sizes) => {
    await expectServedAsReference(executor, id, refs.get(id)!, sizes.map(([h, w], k) => image(h, w, k + 30)), { tolerance: 1e-4 });
  }, 120_000);
});
