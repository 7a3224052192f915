import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamedTensors, ParallelPlan, TensorLike, TensorType } from '@epara/core';
import { createGraphBuilder, encodeModel, profileModel, type Executor, type GraphBuilder, type OnnxModel } from '@epara/runtime';
import { f32 } from './fixtures/shape-models.js';
import { expectServedAsReference, reference, serveWithReferences, service, startExecutor, submitAll, type Reference } from './ground-truth.js';
import { rejection } from './helpers.js';

/*
 * Models of kinds the project had not met, each served with concurrent requests of different values and shapes:
 * every answer must be raw onnxruntime-node's on that request alone (bit for bit), what must not share a run
 * does not, and a model no request could use is refused at load with a typed error naming why — never a crash,
 * a failure of every request, or a wrong answer.
 */

const model = (name: string, build: (g: GraphBuilder) => void, o?: { irVersion?: number; opset?: number }, edit?: (m: OnnxModel) => void): Uint8Array => {
  const g = createGraphBuilder({ name });
  build(g);
  const m = g.toModel(o);
  edit?.(m);
  return encodeModel(m);
};
const i64 = (values: readonly bigint[], dims = [values.length]): TensorLike => ({ type: 'int64', dims, data: BigInt64Array.from(values) });
/** Seeded values in [0, 1): boxes and scores. */
const unit = (dims: number[], seed: number): TensorLike => {
  let x = seed * 7919 + 13;
  const n = dims.reduce((a, b) => a * b, 1);
  return { type: 'float32', dims, data: Float32Array.from({ length: n }, () => ((x = (x * 9301 + 49297) % 233280) / 233280)) };
};

interface Case {
  readonly bytes: Uint8Array;
  readonly item: (seed: number) => NamedTensors;
  /** Whether requests may share a run (what a careful reading of the graph says). */
  readonly separable: boolean;
}

const CASES: Record<string, Case> = {
  /** A fixed batch of 4: each request is the whole batch, `y = 2x` over `x [4, 3]`. */
  fixedBatchOf4: {
    bytes: model('fixed-4', (g) => {
      g.input('x', 'float32', [4, 3]);
      g.node('Mul', ['x', g.constant('two', 'float32', [], [2])], ['y']);
      g.output('y', 'float32', [4, 3]);
    }),
    item: (s) => ({ x: f32([4, 3], s) }),
    separable: false,
  },
  /** Outputs of three layouts, one a sum over the batch: `y [N, 4]`, `t = xᵀ [4, N]`, `m = Σ_n x[n] [4]`. */
  layoutsWithBatchSum: {
    bytes: model('layouts-sum', (g) => {
      g.input('x', 'float32', ['N', 4]);
      g.node('Mul', ['x', g.constant('two', 'float32', [], [2])], ['y']);
      g.node('Transpose', ['x'], ['t'], { perm: [1, 0] });
      g.node('ReduceSum', ['x', g.constant('down', 'int64', [1], [0])], ['m'], { keepdims: 0 });
      g.output('y', 'float32', ['N', 4]);
      g.output('t', 'float32', [4, 'N']);
      g.output('m', 'float32', [4]);
    }),
    item: (s) => ({ x: f32([1, 4], s) }),
    separable: false,
  },
  /** The same sum over the batch declared with an unnamed free leading dim (`[?, 4]`): only the numbers tell. */
  batchSumUnnamed: {
    bytes: model('sum-unnamed', (g) => {
      g.input('x', 'float32', ['N', 4]);
      g.node('Mul', ['x', g.constant('two', 'float32', [], [2])], ['y']);
      g.node('ReduceSum', ['x', g.constant('down', 'int64', [1], [0])], ['m'], { keepdims: 1 });
      g.output('y', 'float32', ['N', 4]);
      g.output('m', 'float32', [null, 4]);
    }),
    item: (s) => ({ x: f32([1, 4], s) }),
    separable: false,
  },
  /** Outputs of three layouts, every one per item: `y [N, 4]`, `t = xᵀ [4, N]`, `m = Σ_k x[n, k] [N]`. */
  layoutsPerItem: {
    bytes: model('layouts-item', (g) => {
      g.input('x', 'float32', ['N', 4]);
      g.node('Mul', ['x', g.constant('two', 'float32', [], [2])], ['y']);
      g.node('Transpose', ['x'], ['t'], { perm: [1, 0] });
      g.node('ReduceSum', ['x', g.constant('across', 'int64', [1], [1])], ['m'], { keepdims: 0 });
      g.output('y', 'float32', ['N', 4]);
      g.output('t', 'float32', [4, 'N']);
      g.output('m', 'float32', ['N']);
    }),
    item: (s) => ({ x: f32([1, 4], s) }),
    separable: true,
  },
  /**
   * NonMaxSuppression as detectors export it: `selected [num_selected, 3]` rows of (batch index, class, box) — a
   * count that depends on the values, and a batch index that a shared run would shift.
   */
  nms: {
    bytes: model('nms', (g) => {
      g.input('boxes', 'float32', ['batch', 'num_boxes', 4]);
      g.input('scores', 'float32', ['batch', 1, 'num_boxes']);
      const consts = [g.constant('max', 'int64', [1], [3]), g.constant('iou', 'float32', [1], [0.5]), g.constant('threshold', 'float32', [1], [0.2])];
      g.node('NonMaxSuppression', ['boxes', 'scores', ...consts], ['selected']);
      g.output('selected', 'int64', ['num_selected', 3]);
    }),
    item: (s) => ({ boxes: unit([1, 5 + (s % 3), 4], s), scores: unit([1, 1, 5 + (s % 3)], s + 50) }),
    separable: false,
  },
  /** The same with a fixed count of boxes, the per-class maximum from the request and the output dims unnamed. */
  nmsFixed: {
    bytes: model('nms-fixed', (g) => {
      g.input('boxes', 'float32', [null, 6, 4]);
      g.input('scores', 'float32', [null, 1, 6]);
      g.input('max', 'int64', [1]);
      g.node('NonMaxSuppression', ['boxes', 'scores', 'max', g.constant('iou', 'float32', [1], [0.5]), g.constant('threshold', 'float32', [1], [0.2])], ['selected']);
      g.output('selected', 'int64', [null, 3]);
    }),
    item: (s) => ({ boxes: unit([1, 6, 4], s), scores: unit([1, 1, 6], s + 50), max: i64([BigInt(1 + (s % 3))]) }),
    separable: false,
  },
  /** Free dims whose dim_param is the empty string (as some exporters write them): `y = concat(a, b)` along axis 1. */
  emptyDimNames: {
    bytes: model(
      'empty-dim-names',
      (g) => {
        g.input('a', 'float32', ['N', 'k']);
        g.input('b', 'float32', ['N', 'm']);
        g.node('Concat', ['a', 'b'], ['y'], { axis: 1 });
        g.output('y', 'float32', ['N', 'km']);
      },
      undefined,
      (m) => {
        for (const v of m.graph!.input!) v.type!.tensorType!.shape!.dim![1] = { dimParam: '' };
      },
    ),
    item: (s) => ({ a: f32([1, 2], s), b: f32([1, 3], s + 1) }),
    separable: true,
  },
  /** Values named like `Object.prototype`'s members: `valueOf = constructor + toString`, `hasOwnProperty = constructor · toString`. */
  prototypeNames: {
    bytes: model('prototype-names', (g) => {
      g.input('constructor', 'float32', ['N', 2]);
      g.input('toString', 'float32', ['N', 2]);
      g.node('Add', ['constructor', 'toString'], ['valueOf']);
      g.node('Mul', ['constructor', 'toString'], ['hasOwnProperty']);
      g.output('valueOf', 'float32', ['N', 2]);
      g.output('hasOwnProperty', 'float32', ['N', 2]);
    }),
    item: (s) => ({ constructor: f32([1, 2], s), toString: f32([1, 2], s + 9) }),
    separable: true,
  },
  /** No input at all: a constant answer. */
  noInputs: {
    bytes: model('no-inputs', (g) => {
      g.node('Identity', [g.constant('c', 'float32', [2, 3], [1, 2, 3, 4, 5, 6])], ['y']);
      g.output('y', 'float32', [2, 3]);
    }),
    item: () => ({}),
    separable: false,
  },
  /** bfloat16 inside the graph only (rounded through it and back): the boundary is float32. */
  bfloat16Inside: {
    bytes: model('bf16-inside', (g) => {
      g.input('x', 'float32', ['N', 4]);
      g.node('Cast', ['x'], ['h'], { to: 16 });
      g.node('Cast', ['h'], ['y'], { to: 1 });
      g.output('y', 'float32', ['N', 4]);
    }),
    item: (s) => ({ x: f32([1, 4], s) }),
    separable: true,
  },
  /** A declared output shape that lies (`[N, 3]`; the reshape answers `[N, 6]`): the answer is what the model computes. */
  lyingShape: {
    bytes: model('lying-shape', (g) => {
      g.input('x', 'float32', ['N', 6]);
      g.node('Reshape', ['x', g.constant('shape', 'int64', [2], [-1, 6])], ['r']);
      g.node('Mul', ['r', g.constant('two', 'float32', [], [2])], ['y']);
      g.output('y', 'float32', ['N', 3]);
    }),
    item: (s) => ({ x: f32([1, 6], s) }),
    separable: true,
  },
};

/** A scalar input of each type, returned as a scalar output, beside a batched float input. */
const SCALARS: Record<Exclude<TensorType, 'string'>, (odd: boolean) => TensorLike['data']> & { string: (odd: boolean) => string[] } = {
  float32: (odd) => new Float32Array([odd ? -0 : 0]),
  float64: (odd) => new Float64Array([odd ? -0 : Number.NaN]),
  int32: (odd) => new Int32Array([odd ? -(2 ** 31) : 7]),
  int64: (odd) => new BigInt64Array([odd ? 2n ** 60n + 1n : 2n ** 60n]),
  uint8: (odd) => new Uint8Array([odd ? 255 : 0]),
  int8: (odd) => new Int8Array([odd ? -128 : 127]),
  bool: (odd) => new Uint8Array([odd ? 1 : 0]),
  float16: (odd) => new Uint16Array([odd ? 0x8000 : 0x0000]),
  int16: (odd) => new Int16Array([odd ? -32768 : 1]),
  uint16: (odd) => new Uint16Array([odd ? 65535 : 0]),
  uint32: (odd) => new Uint32Array([odd ? 2 ** 32 - 1 : 0]),
  uint64: (odd) => new BigUint64Array([odd ? 2n ** 64n - 1n : 2n ** 64n - 2n]),
  string: (odd) => [odd ? 'é,' : 'é'],
};
for (const [type, values] of Object.entries(SCALARS) as [TensorType, (odd: boolean) => TensorLike['data']][]) {
  CASES[`scalar-${type}`] = {
    bytes: model(`scalar-${type}`, (g) => {
      g.input('x', 'float32', ['N', 2]);
      g.input('s', type, []);
      g.node('Identity', ['s'], ['t']);
      g.node('Neg', ['x'], ['y']);
      g.output('y', 'float32', ['N', 2]);
      g.output('t', type, []);
    }),
    item: (seed) => ({ x: f32([1, 2], seed), s: { type, dims: [], data: values(seed % 2 === 1) } as TensorLike }),
    // A scalar output is the batch's as a whole: by its names the model has no place for one row per item.
    separable: false,
  };
}

describe('models the project had not met, served as raw onnxruntime-node answers them', () => {
  const rig = serveWithReferences(CASES);
  const names = rig.names;

  it.each(names)('%s: each of concurrent requests gets its own answer, batched only when separable', async (name) => {
    const c = CASES[name]!;
    // Fresh items per round: the executor may take over a request's buffers.
    const items = (): NamedTensors[] => Array.from({ length: 8 }, (_, k) => c.item(k + 1));
    const served = await expectServedAsReference(rig.executor, name, rig.ref(name), items());
    // Twice: a check deferred to the first request decides for the second round.
    const again = await expectServedAsReference(rig.executor, name, rig.ref(name), items());
    const largest = Math.max(...served.batchSizes, ...again.batchSizes);
    if (c.separable) expect(largest).toBeGreaterThan(1);
    else expect(largest).toBe(1);
    expect(rig.executor.itemSeparability(name)).toBe(c.separable ? 'separable' : 'not-separable');
  });

  it('refuses a request the fixed batch of 4 cannot take (one row, five rows) with INVALID_INPUT, and answers the others', async () => {
    const items = [CASES['fixedBatchOf4']!.item(1), { x: f32([1, 3], 2) }, CASES['fixedBatchOf4']!.item(3), { x: f32([5, 3], 4) }];
    const served = await submitAll(rig.executor, 'fixedBatchOf4', items);
    expect(served.results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ok', 'INVALID_INPUT', 'ok', 'INVALID_INPUT']);
    const failed = served.results[1]!;
    if (!failed.ok) expect(failed.error.message).toMatch(/input 'x' dim 0 is 1, expected 4/);
  });

  it('refuses a request that lacks an input named like an Object.prototype member as missing', async () => {
    const err = await rejection(rig.executor.submit('prototypeNames', { toString: f32([1, 2], 1) }));
    expect(err).toMatchObject({ code: 'INVALID_INPUT' });
    expect((err as Error).message).toMatch(/missing input 'constructor'/);
  });
});

describe('model files with large weights, in the file and beside it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'epara-unmet-'));
  // An embedding table of 4 Mi floats (16 MiB): `y[n, j] = table[ids[n, j]]`.
  const rows = 2 ** 20;
  const table = new Float32Array(rows * 4);
  for (let i = 0; i < table.length; i += 4099) table[i] = i / 7;
  const g = createGraphBuilder({ name: 'embedding' });
  g.input('ids', 'int64', ['batch', 3]);
  g.node('Gather', [g.constant('table', 'float32', [rows, 4], table), 'ids'], ['y']);
  g.output('y', 'float32', ['batch', 3, 4]);
  const inline = g.toBytes();
  // The same table in `weights/table.bin`, after 16 bytes of something else (ONNX external data: location, offset, length).
  const external = g.toModel();
  const t = external.graph!.initializer![0]!;
  const raw = t.rawData!;
  delete t.rawData;
  t.dataLocation = 1;
  t.externalData = [
    { key: 'location', value: 'weights/table.bin' },
    { key: 'offset', value: '16' },
    { key: 'length', value: String(raw.byteLength) },
  ];
  mkdirSync(join(dir, 'weights'));
  const file = new Uint8Array(16 + raw.byteLength);
  file.set(raw, 16);
  writeFileSync(join(dir, 'weights', 'table.bin'), file);
  writeFileSync(join(dir, 'embedding.onnx'), encodeModel(external));
  const item = (s: number): NamedTensors => ({ ids: i64([BigInt(s * 4099), BigInt(rows - 1 - s), BigInt((s * 104729) % rows)], [1, 3]) });
  let executor: Executor;
  let ref: Reference;
  beforeAll(async () => {
    ref = await reference(inline);
    executor = await startExecutor([service('inline', inline), service('external', join(dir, 'embedding.onnx'))]);
  });
  afterAll(async () => {
    await executor?.close();
    await ref?.release();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['inline', 'external'])('%s: answers as raw onnxruntime-node on the inline model, in batches', async (id) => {
    const items = Array.from({ length: 8 }, (_, k) => item(k + 1));
    const served = await expectServedAsReference(executor, id, ref, items);
    expect(Math.max(...served.batchSizes)).toBeGreaterThan(1);
  });
});

/** `y = dequantize(x)` with `x` of ONNX element type `code` at the boundary (IR 10, opset 21: int4 and uint4). */
const quantizedInput = (code: number): Uint8Array =>
  model(
    'quantized-in',
    (g) => {
      g.input('x', 'float32', ['N', 4]);
      g.node('DequantizeLinear', ['x', g.constant('scale', 'float32', [], [0.5])], ['y']);
      g.output('y', 'float32', ['N', 4]);
    },
    { irVersion: 10, opset: 21 },
    (m) => {
      m.graph!.input![0]!.type!.tensorType!.elemType = code;
    },
  );

/** `q = quantize(x)` as int4 beside `y = 2x`: returning `q` ends raw onnxruntime-node's process out of memory. */
const int4Output = model(
  'int4-out',
  (g) => {
    g.input('x', 'float32', ['N', 4]);
    g.node('QuantizeLinear', ['x', g.constant('scale', 'float32', [], [0.5]), g.constant('zero', 'int8', [], [0])], ['q']);
    g.node('Mul', ['x', g.constant('two', 'float32', [], [2])], ['y']);
    g.output('q', 'float32', ['N', 4]);
    g.output('y', 'float32', ['N', 4]);
  },
  { irVersion: 10, opset: 21 },
  (m) => {
    m.graph!.output![0]!.type!.tensorType!.elemType = 22;
    const zero = m.graph!.initializer!.find((t) => t.name === 'zero')!;
    zero.dataType = 22;
    zero.rawData = new Uint8Array([0]);
  },
);

const relu = (o?: { irVersion?: number; opset?: number }, edit?: (m: OnnxModel) => void): Uint8Array =>
  model(
    'relu',
    (g) => {
      g.input('x', 'float32', ['N', 2]);
      g.node('Relu', ['x'], ['y']);
      g.output('y', 'float32', ['N', 2]);
    },
    o,
    edit,
  );

describe('models no request could use are refused at load with LOAD_FAILED saying why', () => {
  const dir = mkdtempSync(join(tmpdir(), 'epara-refused-'));
  // A weight outside the model's folder, at an absolute path, and a model given as bytes that names one.
  const weight = new Float32Array([1, 2]);
  const withExternal = (location: string): Uint8Array =>
    model(
      'external-add',
      (g) => {
        g.input('x', 'float32', ['N', 2]);
        g.node('Add', ['x', g.constant('w', 'float32', [2], weight)], ['y']);
        g.output('y', 'float32', ['N', 2]);
      },
      undefined,
      (m) => {
        const w = m.graph!.initializer![0]!;
        delete w.rawData;
        w.dataLocation = 1;
        w.externalData = [{ key: 'location', value: location }];
      },
    );
  writeFileSync(join(dir, 'w.bin'), new Uint8Array(weight.buffer));
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'up.onnx'), withExternal('../w.bin'));
  writeFileSync(join(dir, 'absolute.onnx'), withExternal(join(dir, 'w.bin')));
  let executor: Executor;
  let ref: Reference;
  beforeAll(async () => {
    executor = await startExecutor([service('relu', relu())]);
    ref = await reference(relu());
  });
  afterAll(async () => {
    await executor?.close();
    await ref?.release();
    rmSync(dir, { recursive: true, force: true });
  });
  const load = (id: string, bytes: Uint8Array | string, more: Parameters<typeof service>[2] = {}): Promise<unknown> => {
    executor.register(service(id, bytes, more));
    return executor.load({ serviceId: id } as ParallelPlan, { deviceIds: ['cpu0'] });
  };

  it.each<[string, Uint8Array | string, RegExp]>([
    ['a uint4 input', quantizedInput(21), /input 'x' is a uint4 tensor \(a type onnxruntime-node does not hand over\)/],
    ['an int4 input', quantizedInput(22), /input 'x' is an int4 tensor/],
    ['an int4 output returned (raw onnxruntime-node ends its process)', int4Output, /output 'q' is an int4 tensor.*outputNames \(tensors: y\)/],
    ['a bfloat16 input and output', relu({}, (m) => {
      m.graph!.node![0]!.opType = 'Identity';
      for (const v of [m.graph!.input![0]!, m.graph!.output![0]!]) v.type!.tensorType!.elemType = 16;
    }), /Unsupported data type: 16/],
    ['opset 99 (newer than onnxruntime knows)', relu({ opset: 99 }), /opset|Opset/],
    ['IR version 99', relu({ irVersion: 99 }), /IR version|ir_version|Unsupported model IR version/i],
    ['opset 1 (an operator version onnxruntime has no kernel for)', relu({ irVersion: 3, opset: 1 }), /Relu\(1\)/],
    ['an operator of a custom domain', relu({}, (m) => {
      m.graph!.node![0]!.opType = 'FancyRelu';
      m.graph!.node![0]!.domain = 'com.example.custom';
      m.opsetImport!.push({ domain: 'com.example.custom', version: 1 });
    }), /com\.example\.custom:FancyRelu/],
    ['a node that reads a value nothing makes', relu({}, (m) => (m.graph!.node![0]!.input = ['nowhere'])), /nowhere/],
    ['an input named __proto__', model('proto', (g) => {
      g.input('__proto__', 'float32', ['N', 2]);
      g.node('Neg', ['__proto__'], ['y']);
      g.output('y', 'float32', ['N', 2]);
    }), /'__proto__'/],
    ['external data outside the model\'s folder', join(dir, 'sub', 'up.onnx'), /escapes model directory/],
    ['external data at an absolute path', join(dir, 'absolute.onnx'), /Absolute path not allowed/],
    ['bytes whose weights are external data (no folder to find them in)', withExternal('w.bin'), /initializer 'w' is stored as external data in 'w\.bin'/],
    ['a directory as the model path', dir, /directory/],
    ['a device file as the model path (/dev/zero, endless zeros)', '/dev/zero', /Protobuf parsing failed/i],
  ])('%s', async (what, bytes, message) => {
    const id = `refused ${what}`;
    const err = await rejection(load(id, bytes));
    expect(err.code).toBe('LOAD_FAILED');
    expect((err as Error).message).toMatch(message);
    expect(executor.instances().some((i) => i.serviceId === id)).toBe(false);
    // The executor serves its other services as before.
    await expectServedAsReference(executor, 'relu', ref, [1, 2, 3].map((s) => ({ x: f32([1, 2], s) })));
  });

  it('profileModel measures the int4 model fetching its other outputs only, and refuses one whose only output is int4 (LOAD_FAILED)', async () => {
    const profile = await profileModel({ model: int4Output, batchSizes: [1, 2], warmup: 0, repetitions: 1, inputs: (b) => ({ x: f32([b, 4], b) }) });
    expect(profile.points.map((p) => p.batch)).toEqual([1, 2]);
    const onlyInt4 = model('only-int4', (g) => {
      g.input('x', 'float32', ['N', 4]);
      g.node('QuantizeLinear', ['x', g.constant('scale', 'float32', [], [0.5]), g.constant('zero', 'int8', [], [0])], ['q']);
      g.output('q', 'float32', ['N', 4]);
    }, { irVersion: 10, opset: 21 }, (m) => {
      m.graph!.output![0]!.type!.tensorType!.elemType = 22;
      const zero = m.graph!.initializer!.find((t) => t.name === 'zero')!;
      zero.dataType = 22;
      zero.rawData = new Uint8Array([0]);
    });
    const err = await rejection(profileModel({ model: onlyInt4, batchSizes: [1], warmup: 0, repetitions: 1, inputs: (b) => ({ x: f32([b, 4], b) }) }));
    expect(err.code).toBe('LOAD_FAILED');
    expect((err as Error).message).toMatch(/'q' is an int4 tensor/);
  });

  it('serves the int4 model\'s other outputs when outputNames leaves the int4 one out, as raw onnxruntime-node', async () => {
    await load('int4-tensors', int4Output, { outputNames: ['y'] });
    const int4Ref = await reference(int4Output);
    try {
      const served = await expectServedAsReference(executor, 'int4-tensors', int4Ref, [1, 2, 3, 4, 5].map((s) => ({ x: f32([1, 4], s) })), { outputNames: ['y'] });
      expect(Math.max(...served.batchSizes)).toBeGreaterThan(1);
    } finally {
      await int4Ref.release();
    }
  });
});
