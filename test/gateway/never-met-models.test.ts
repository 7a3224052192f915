import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGraphBuilder, encodeModel } from '@epara/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';
import { f16bits, f16value } from './float16.js';
import { addTfStyleGraph } from '../fixtures/tf-style-model.js';

/*
 * Models EPARA has never met, built in code: several inputs and outputs of every carried type, dynamic
 * non-batch dims, scalar inputs and outputs, outputs without a batch dim, an input with a default
 * (an initializer of the same name), an output whose first dim is not the batch. Each is served by
 * `epara serve` and every answer is compared with what raw onnxruntime-node computes for the same request:
 * a 200 must carry exactly that answer; anything else must be a typed refusal.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The part of onnxruntime-node's API used here (the package is the runtime's dependency, not the root's). */
interface OrtTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: ArrayLike<number | bigint | boolean>;
}
interface Ort {
  Tensor: new (type: string, data: ArrayLike<number | bigint>, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(bytes: Uint8Array): Promise<{ readonly outputNames: readonly string[]; run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>; release(): Promise<void> }> };
}
const ort = createRequire(join(root, 'packages', 'runtime', 'package.json'))('onnxruntime-node') as Ort;

const dir = mkdtempSync(join(tmpdir(), 'epara-never-met-'));
const files = new Map<string, Uint8Array>();
let serve: ServeProcess;

type B = ReturnType<typeof createGraphBuilder>;
function model(name: string, build: (g: B) => void, retype?: Record<string, number>): void {
  const g = createGraphBuilder({ name, seed: 3 });
  build(g);
  let m = g.toModel();
  if (retype) {
    const re = <V extends { name?: string; type?: { tensorType?: object } }>(v: V): V => (retype[v.name ?? ''] === undefined ? v : { ...v, type: { tensorType: { ...v.type!.tensorType!, elemType: retype[v.name ?? '']! } } });
    m = { ...m, graph: { ...m.graph!, input: m.graph!.input!.map(re), output: m.graph!.output!.map(re) } };
  }
  const bytes = encodeModel(m);
  files.set(name, bytes);
  writeFileSync(join(dir, `${name}.onnx`), bytes);
}

function buildModels(): void {
  // Five inputs of five types, five outputs of five types, all batched on 'b'.
  model('types', (g) => {
    g.input('i32', 'int32', ['b', 3]);
    g.input('u8', 'uint8', ['b', 3]);
    g.input('i8', 'int8', ['b', 3]);
    g.input('f64', 'float64', ['b', 3]);
    g.input('flag', 'bool', ['b', 3]);
    g.node('Add', ['i32', 'i32'], ['i32x2']);
    g.node('Cast', ['u8'], ['u8f'], { to: 1 });
    g.node('Abs', ['i8'], ['i8abs']);
    g.node('Mul', ['f64', g.constant('half', 'float64', [], [0.5])], ['f64h']);
    g.node('Not', ['flag'], ['nflag']);
    g.output('i32x2', 'int32', ['b', 3]);
    g.output('u8f', 'float32', ['b', 3]);
    g.output('i8abs', 'int8', ['b', 3]);
    g.output('f64h', 'float64', ['b', 3]);
    g.output('nflag', 'bool', ['b', 3]);
  });
  // A dynamic non-batch dim: softmax over a sequence of any length.
  model('seq', (g) => {
    g.input('x', 'float32', ['b', 'len']);
    g.node('Softmax', ['x'], ['y'], { axis: 1 });
    g.output('y', 'float32', ['b', 'len']);
  });
  // A scalar input (no batch dim) scaling a batched one.
  model('scale', (g) => {
    g.input('x', 'float32', ['b', 4]);
    g.input('k', 'float32', []);
    g.node('Mul', ['x', 'k'], ['y']);
    g.output('y', 'float32', ['b', 4]);
  });
  // A batched output and a scalar output (the count of positive values over everything).
  model('count', (g) => {
    g.input('x', 'float32', ['b', 4]);
    g.node('Relu', ['x'], ['r']);
    const pos = g.op('Greater', ['x', g.constant('zero', 'float32', [], [0])]);
    const asF = g.op('Cast', [pos], { to: 1 });
    g.node('ReduceSum', [asF], ['n'], { keepdims: 0 });
    g.output('r', 'float32', ['b', 4]);
    g.output('n', 'float32', []);
  });
  // An input with a default: `bias` is also an initializer, so a client may leave it out.
  model('bias', (g) => {
    g.input('x', 'float32', ['b', 4]);
    g.input('bias', 'float32', [4]);
    g.constant('bias', 'float32', [4], [1, 2, 3, 4]);
    g.node('Add', ['x', 'bias'], ['y']);
    g.output('y', 'float32', ['b', 4]);
  });
  // The output's first dim is free but is not the batch: x stacked on itself, [2b, 4].
  model('twice', (g) => {
    g.input('x', 'float32', ['b', 4]);
    g.node('Concat', ['x', 'x'], ['y'], { axis: 0 });
    g.output('y', 'float32', ['two_b', 4]);
  });
  // The same with an output whose dims carry no names at all (as exporters often write them).
  model('twice_unnamed', (g) => {
    g.input('x', 'float32', ['b', 4]);
    g.node('Concat', ['x', 'x'], ['y'], { axis: 0 });
    g.output('y', 'float32', ['', 4]);
  });
  // float16 in and out, with a dynamic non-batch dim.
  model(
    'half_seq',
    (g) => {
      g.input('x', 'float32', ['b', 'len']);
      g.node('Add', ['x', 'x'], ['y']);
      g.output('y', 'float32', ['b', 'len']);
    },
    { x: 10, y: 10 },
  );
  // An input passed straight through as an output (no node writes it), under exporter-style names.
  model('passthrough', (g) => {
    g.input('input_1:0', 'float32', ['b', 4]);
    g.node('Neg', ['input_1:0'], ['out/neg']);
    g.output('out/neg', 'float32', ['b', 4]);
    g.output('input_1:0', 'float32', ['b', 4]);
  });
  // Two inputs whose free first dims are different dims: y = x + sum(k), for a k of any length.
  model('offsets', (g) => {
    g.input('x', 'float32', ['b', 4]);
    g.input('k', 'float32', ['n']);
    g.node('Add', ['x', g.op('ReduceSum', ['k'], { keepdims: 1 })], ['y']);
    g.output('y', 'float32', ['b', 4]);
  });
  // int64 in and out (ids, hashes, timestamps in ns): y = x + 1.
  model('next_id', (g) => {
    g.input('x', 'int64', ['b', 2]);
    g.node('Add', ['x', g.constant('one', 'int64', [], [1])], ['y']);
    g.output('y', 'int64', ['b', 2]);
  });
  // A per-row reduction with a free non-batch dim: output [b].
  model('rowmax', (g) => {
    g.input('x', 'float32', ['b', 'len']);
    g.node('ReduceMax', ['x'], ['m'], { axes: [1], keepdims: 0 });
    g.output('m', 'float32', ['b']);
  });
  // Rows kept by a condition on their values (Compress): one row per item, or none. A batch check on values that keep
  // every row passes, so its requests stack.
  model('kept_rows', (g) => {
    g.input('x', 'float32', ['b', 2]);
    g.node('ReduceSum', ['x', g.constant('ax', 'int64', [1], [1])], ['s'], { keepdims: 0 });
    g.node('Greater', ['s', g.constant('zero', 'float32', [], [0])], ['keep']);
    g.node('Compress', ['x', 'keep'], ['y'], { axis: 0 });
    g.output('y', 'float32', ['b', 2]);
  });
  // As tf2onnx exports a text model: every unknown dim named apart (`unk__N`), names with `:0`.
  model('tf_style', addTfStyleGraph);
}

const service = (id: string, extra = ''): string =>
  `  - { id: ${id}, model: ${JSON.stringify(join(dir, `${id}.onnx`))}, sensitivity: latency, slo: { kind: latency, deadlineMs: 10000 }, devices: [cpu0]${extra} }`;

beforeAll(async () => {
  buildModels();
  serve = await startServe(`node: { id: never-met, listen: { host: 127.0.0.1, port: 0 } }
security: { insecure: true }
devices: [ { id: cpu0, threads: 1 } ]
executor: { profiling: { warmup: 0, repetitions: 1, warmShapesMs: 0 } }
services:
${[...files.keys()].map((id) => service(id)).join('\n')}
gateway: { http: { host: 127.0.0.1, port: 0 }, grpc: false }
log: { level: warn }
`);
}, 180_000);
afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

interface JsonTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}
const ORT_TYPE: Record<string, 'float32' | 'float64' | 'int32' | 'int8' | 'uint8' | 'bool' | 'int64' | 'float16'> = {
  FP32: 'float32', FP64: 'float64', INT32: 'int32', INT8: 'int8', UINT8: 'uint8', BOOL: 'bool', INT64: 'int64', FP16: 'float16',
};
const DATATYPE: Record<string, string> = Object.fromEntries(Object.entries(ORT_TYPE).map(([k, v]) => [v, k]));

function ortTensor(t: JsonTensor): OrtTensor {
  const type = ORT_TYPE[t.datatype]!;
  const nums = t.data as number[];
  const data =
    type === 'float32' ? Float32Array.from(nums) : type === 'float64' ? Float64Array.from(nums) : type === 'int32' ? Int32Array.from(nums) : type === 'int8' ? Int8Array.from(nums)
    : type === 'uint8' ? Uint8Array.from(nums) : type === 'bool' ? Uint8Array.from(nums, (v) => (v ? 1 : 0)) : type === 'int64' ? BigInt64Array.from(nums, (v) => BigInt(v))
    : Uint16Array.from(nums, f16bits);
  return new ort.Tensor(type, data, t.shape);
}

/** What raw onnxruntime-node answers, in the protocol's JSON form (float16 decoded, NaN/Infinity as null). */
async function reference(name: string, inputs: JsonTensor[]): Promise<JsonTensor[]> {
  const session = await ort.InferenceSession.create(files.get(name)!);
  try {
    const out = await session.run(Object.fromEntries(inputs.map((t) => [t.name, ortTensor(t)])));
    return session.outputNames.map((n) => {
      const t = out[n]!;
      const raw = Array.from(t.data as ArrayLike<number | bigint | boolean>);
      const data = t.type === 'float16' ? raw.map((v) => f16value(Number(v))) : t.type === 'bool' ? raw.map((v) => Boolean(v)) : t.type === 'int64' ? raw.map((v) => Number(v)) : raw.map(Number);
      return { name: n, datatype: DATATYPE[t.type]!, shape: [...t.dims], data: data.map((v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)) };
    });
  } finally {
    await session.release();
  }
}

async function infer(name: string, inputs: JsonTensor[]): Promise<{ status: number; body: { outputs?: JsonTensor[]; code?: string; error?: string } }> {
  const res = await fetch(`${serve.http}/v2/models/${name}/infer`, { method: 'POST', body: JSON.stringify({ inputs }), headers: { 'content-type': 'application/json' } });
  return { status: res.status, body: (await res.json()) as never };
}

/** Infers through the gateway and checks the answer against onnxruntime-node's; returns the status. */
async function same(name: string, inputs: JsonTensor[]): Promise<number> {
  const got = await infer(name, inputs);
  if (got.status !== 200) {
    expect(got.body.code, `${name}: ${got.status} ${got.body.error}`).toMatch(/^[A-Z_]+$/);
    expect([400, 404, 413, 429, 503, 504]).toContain(got.status);
    return got.status;
  }
  const want = await reference(name, inputs);
  const outputs = [...(got.body.outputs ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  expect(outputs, name).toEqual([...want].sort((a, b) => a.name.localeCompare(b.name)).map((t) => ({ ...t, data: t.data.map((v) => (typeof v === 'number' ? expect.closeTo(v, 5) : v)) })));
  return 200;
}

const fp32 = (name: string, shape: number[], data: number[]): JsonTensor => ({ name, datatype: 'FP32', shape, data });
const seq = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => Math.round(Math.sin(from + i * 1.7) * 100) / 10);

describe('models never met, served by `epara serve`, answer exactly what onnxruntime-node answers', () => {
  it('five inputs and five outputs of int32, uint8, int8, float64 and bool, one item and three', async () => {
    for (const b of [1, 3]) {
      const n = b * 3;
      const inputs: JsonTensor[] = [
        { name: 'i32', datatype: 'INT32', shape: [b, 3], data: seq(n).map((v) => Math.round(v * 1000)) },
        { name: 'u8', datatype: 'UINT8', shape: [b, 3], data: Array.from({ length: n }, (_, i) => (i * 97) % 256) },
        { name: 'i8', datatype: 'INT8', shape: [b, 3], data: Array.from({ length: n }, (_, i) => ((i * 53) % 256) - 128) },
        { name: 'f64', datatype: 'FP64', shape: [b, 3], data: seq(n, 2) },
        { name: 'flag', datatype: 'BOOL', shape: [b, 3], data: Array.from({ length: n }, (_, i) => i % 3 === 0) },
      ];
      expect(await same('types', inputs)).toBe(200);
    }
  });

  it('a dynamic sequence length, different in concurrent requests', async () => {
    const statuses = await Promise.all([2, 5, 9, 5, 1].map((len, i) => same('seq', [fp32('x', [1 + (i % 2), len], seq((1 + (i % 2)) * len, i))])));
    expect(statuses.every((s) => s === 200)).toBe(true);
  });

  it('a scalar input beside a batched one', async () => {
    expect(await same('scale', [fp32('x', [1, 4], [1, 2, 3, 4]), fp32('k', [], [2.5])])).toBe(200);
    // Three items sharing one scalar: the exact answer or a typed refusal, never a wrong answer.
    expect([200, 400]).toContain(await same('scale', [fp32('x', [3, 4], seq(12)), fp32('k', [], [-1])]));
  });

  it('a scalar output beside a batched one', async () => {
    expect(await same('count', [fp32('x', [1, 4], [1, -2, 3, -4])])).toBe(200);
    expect([200, 400]).toContain(await same('count', [fp32('x', [3, 4], seq(12))]));
  });

  it('an input with a default value may be left out', async () => {
    expect(await same('bias', [fp32('x', [1, 4], [1, 1, 1, 1])])).toBe(200);
    expect(await same('bias', [fp32('x', [2, 4], seq(8))])).toBe(200);
  });

  it('an output whose free first dim is not the batch is never split and stacked', async () => {
    // The gateway used to split [3,4] into three items and stack their [2,4] answers: [x0,x0,x1,x1,x2,x2]
    // instead of [x0,x1,x2,x0,x1,x2], with status 200. Now: the exact answer or a typed refusal, every time.
    for (const name of ['twice', 'twice_unnamed']) {
      expect(await same(name, [fp32('x', [1, 4], [1, 2, 3, 4])])).toBe(200);
      expect([200, 400]).toContain(await same(name, [fp32('x', [3, 4], seq(12))]));
      expect([200, 400]).toContain(await same(name, [fp32('x', [2, 4], seq(8, 5))]));
      expect(await same(name, [fp32('x', [1, 4], [4, 3, 2, 1])])).toBe(200);
    }
  });

  it('an input passed straight through as an output comes back with its values', async () => {
    // onnxruntime leaves a pre-allocated output untouched when no node writes it: it came back as zeros.
    expect(await same('passthrough', [fp32('input_1:0', [1, 4], [1, 2, 3, 4])])).toBe(200);
    expect(await same('passthrough', [fp32('input_1:0', [3, 4], seq(12))])).toBe(200);
  });

  it('float16 in and out with a dynamic dim', async () => {
    expect(await same('half_seq', [{ name: 'x', datatype: 'FP16', shape: [2, 3], data: [0.5, 1, 2, -3, 1000, 0.25] }])).toBe(200);
  });

  it('an input whose free first dim is another dim than the batch is never split with it', async () => {
    // With as many values in k as rows in x, the gateway split both into items and answered x_i + k_i
    // instead of x_i + sum(k), with status 200. Now: the exact answer or a typed refusal.
    expect([200, 400]).toContain(await same('offsets', [fp32('x', [2, 4], seq(8)), fp32('k', [2], [1, 10])]));
    expect([200, 400]).toContain(await same('offsets', [fp32('x', [3, 4], seq(12)), fp32('k', [3], [1, 10, 100])]));
  });

  it('a model that runs unbatched for good takes a whole request of several rows, and a k of any length', async () => {
    // Its batch check failed at load, so it never stacks requests: each runs alone, whole. It used to demand
    // size 1 on every free leading dim (the batch's, and k's taken for one), refusing these with a 400.
    expect(await same('offsets', [fp32('x', [1, 4], seq(4)), fp32('k', [3], [1, 10, 100])])).toBe(200);
    expect(await same('offsets', [fp32('x', [3, 4], seq(12)), fp32('k', [3], [1, 10, 100])])).toBe(200);
    expect(await same('offsets', [fp32('x', [2, 4], seq(8)), fp32('k', [5], seq(5))])).toBe(200);
    // An output with no batch dim (a count over everything) rules batching out by its names: three rows run whole.
    expect(await same('count', [fp32('x', [3, 4], seq(12))])).toBe(200);
  });

  it('int64 values past 2^53 come back exact in JSON', async () => {
    // They were written as JSON numbers through doubles: 2^53 + 3 came back as 2^53 + 4, a timestamp 10 ns off.
    const res = await fetch(`${serve.http}/v2/models/next_id/infer`, {
      method: 'POST',
      body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'INT64', shape: [2, 2], data: ['9007199254740994', '1700000000123456789', '-9223372036854775808', '41'] }] }),
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('"data":[9007199254740995,1700000000123456790,-9223372036854775807,42]');
    // A decimal string past int64 was wrapped modulo 2^64 into another value; now it is refused.
    const over = await infer('next_id', [{ name: 'x', datatype: 'INT64', shape: [1, 2], data: ['9223372036854775808', '0'] }]);
    expect(over).toMatchObject({ status: 400, body: { code: 'INVALID_INPUT', error: expect.stringMatching(/does not fit INT64/) } });
  });

  it('a tf2onnx model (every unknown dim named apart): requests of several rows from the first on, and concurrent ones', async () => {
    // Its inputs' first dims carry different names, so requests go whole; its batch check waits for a request. A
    // first request of three rows was refused 400 (one item per request) and the check never ran.
    const tokens = (rows: number, len: number, from: number): JsonTensor[] => [
      { name: 'input_ids:0', datatype: 'INT64', shape: [rows, len], data: Array.from({ length: rows * len }, (_, i) => (from + i * 7) % 50) },
      { name: 'attention_mask:0', datatype: 'INT64', shape: [rows, len], data: Array.from({ length: rows * len }, (_, i) => (i % 3 === 2 ? 0 : 1)) },
    ];
    expect(await same('tf_style', tokens(3, 4, 0))).toBe(200);
    const statuses = await Promise.all(Array.from({ length: 24 }, (_, i) => same('tf_style', tokens(1 + (i % 3), 1 + ((i * 5) % 4), i))));
    expect(statuses.every((s) => s === 200)).toBe(true);
  });

  it('a model whose outputs do not follow the items: a request it cannot split is refused saying so, and does not spoil the next', async () => {
    // The second row is dropped: its item answers no row, so the items' answers cannot be put together. The gateway
    // then sent the request whole, which the executor refuses (one item per request) — and sent every later request
    // of several rows whole too, refused alike.
    const dropped = await infer('kept_rows', [fp32('x', [3, 2], [1, 1, -5, 1, 2, 2])]);
    expect(dropped).toMatchObject({ status: 400, body: { code: 'INVALID_INPUT', error: expect.stringMatching(/kept_rows.*not one row per item.*one item per request/) } });
    expect(await same('kept_rows', [fp32('x', [3, 2], [1, 1, 5, 1, 2, 2])])).toBe(200);
  });

  it('a per-row reduction over a free dim', async () => {
    expect(await same('rowmax', [fp32('x', [3, 5], seq(15))])).toBe(200);
    const statuses = await Promise.all([3, 7].map((len) => same('rowmax', [fp32('x', [2, len], seq(2 * len, len))])));
    expect(statuses).toEqual([200, 200]);
  });
});
