import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Metadata } from '@grpc/grpc-js';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { createGraphBuilder, encodeModel } from '@epara/runtime';
import type { OnnxModel } from '@epara/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oipGrpcClient } from './oip-grpc-client.js';
import { startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';
import { f16bits, f16value } from './float16.js';

/*
 * Every data type onnxruntime-node runs, and signatures EPARA has never met (an input of open rank, a model with
 * no batch dim and a scalar output, an output whose size depends on the values, int64 token ids beside weights
 * of a dynamic length, string tensors), served by `epara serve` and called as outside
 * clients call it: HTTP JSON, HTTP with binary tensors, gRPC with raw_input_contents and with typed contents
 * (grpc-js + proto-loader on the protocol's .proto). Every answer is compared bit for bit with raw
 * onnxruntime-node on the same inputs.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
interface OrtTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: ArrayBufferView & ArrayLike<number | bigint>;
}
interface Ort {
  Tensor: new (type: string, data: ArrayBufferView, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(bytes: Uint8Array): Promise<{ readonly outputNames: readonly string[]; run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>; release(): Promise<void> }> };
}
const ort = createRequire(join(root, 'packages', 'runtime', 'package.json'))('onnxruntime-node') as Ort;

/** Protocol data type → onnxruntime type, typed array, and gRPC typed contents field (FP16 has none). */
const TYPES = {
  BOOL: { ort: 'bool', array: Uint8Array, onnx: 9, contents: 'bool_contents' },
  UINT8: { ort: 'uint8', array: Uint8Array, onnx: 2, contents: 'uint_contents' },
  UINT16: { ort: 'uint16', array: Uint16Array, onnx: 4, contents: 'uint_contents' },
  UINT32: { ort: 'uint32', array: Uint32Array, onnx: 12, contents: 'uint_contents' },
  UINT64: { ort: 'uint64', array: BigUint64Array, onnx: 13, contents: 'uint64_contents' },
  INT8: { ort: 'int8', array: Int8Array, onnx: 3, contents: 'int_contents' },
  INT16: { ort: 'int16', array: Int16Array, onnx: 5, contents: 'int_contents' },
  INT32: { ort: 'int32', array: Int32Array, onnx: 6, contents: 'int_contents' },
  INT64: { ort: 'int64', array: BigInt64Array, onnx: 7, contents: 'int64_contents' },
  FP16: { ort: 'float16', array: Uint16Array, onnx: 10, contents: undefined },
  FP32: { ort: 'float32', array: Float32Array, onnx: 1, contents: 'fp32_contents' },
  FP64: { ort: 'float64', array: Float64Array, onnx: 11, contents: 'fp64_contents' },
} as const;
type Datatype = keyof typeof TYPES;
/** Every type but FP16, which has no typed contents field in gRPC (one model: its typed form is tested too). */
const DATATYPES = (Object.keys(TYPES) as Datatype[]).filter((t) => t !== 'FP16');

/** One request tensor: its values as the typed array the protocol's raw form carries. */
interface Tensor {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
  readonly data: ArrayBufferView & ArrayLike<number | bigint>;
}

const dir = mkdtempSync(join(tmpdir(), 'epara-every-dtype-'));
const files = new Map<string, Uint8Array>();
type B = ReturnType<typeof createGraphBuilder>;

/** Writes a model; `edit` changes element types (ONNX codes) or drops shapes after the builder wrote them. */
function model(name: string, build: (g: B) => void, edit: { types?: Record<string, number>; noShape?: readonly string[] } = {}): void {
  const g = createGraphBuilder({ name });
  build(g);
  const m: OnnxModel = g.toModel();
  const re = <V extends { name?: string; type?: { tensorType?: { elemType?: number; shape?: unknown } } }>(v: V): V => {
    const tt = { ...v.type!.tensorType! };
    if (edit.types?.[v.name ?? ''] !== undefined) tt.elemType = edit.types[v.name ?? '']!;
    if (edit.noShape?.includes(v.name ?? '')) delete tt.shape;
    return { ...v, type: { tensorType: tt } };
  };
  const bytes = encodeModel({ ...m, graph: { ...m.graph!, input: m.graph!.input!.map(re), output: m.graph!.output!.map(re) } });
  files.set(name, bytes);
  writeFileSync(join(dir, `${name}.onnx`), bytes);
}

const tag = (t: Datatype): string => t.toLowerCase();

function buildModels(): void {
  // One input and one output per data type, all batched on 'b': y = x + 1 (computed in float32), NOT for BOOL.
  const types: Record<string, number> = {};
  const plusOne = (name: string, list: readonly Datatype[]): void => model(
    name,
    (g) => {
      for (const t of list) {
        const x = `x_${tag(t)}`;
        const y = `y_${tag(t)}`;
        types[x] = types[y] = TYPES[t].onnx;
        g.input(x, 'float32', ['b', 3]);
        if (t === 'BOOL') g.node('Not', [x], [y]);
        else g.node('Cast', [g.op('Add', [g.op('Cast', [x], { to: 1 }), g.constant(`one_${tag(t)}`, 'float32', [], [1])])], [y], { to: TYPES[t].onnx });
        g.output(y, 'float32', ['b', 3]);
      }
    },
    { types },
  );
  plusOne('all_types', DATATYPES);
  plusOne('half', ['FP16']);
  // 64-bit integers passed through a node exactly (ids, hashes, timestamps in ns past 2^53).
  model('wide', (g) => {
    g.input('u', 'int64', ['b', 3]);
    g.input('i', 'int64', ['b', 3]);
    g.node('Identity', ['u'], ['u2']);
    g.node('Identity', ['i'], ['i2']);
    g.output('u2', 'int64', ['b', 3]);
    g.output('i2', 'int64', ['b', 3]);
  }, { types: { u: 13, u2: 13 } });
  // An input and output with no shape at all (open rank): y = -x.
  model('open_rank', (g) => {
    g.input('x', 'float32', ['b', 3]);
    g.node('Neg', ['x'], ['y']);
    g.output('y', 'float32', ['b', 3]);
  }, { noShape: ['x', 'y'] });
  // No batch dim anywhere, and a scalar output: y = 2x over [4], s = sum(x).
  model('no_batch', (g) => {
    g.input('x', 'float32', [4]);
    g.node('Mul', ['x', g.constant('two', 'float32', [], [2])], ['y']);
    g.node('ReduceSum', ['x'], ['s'], { keepdims: 0 });
    g.output('y', 'float32', [4]);
    g.output('s', 'float32', []);
  });
  // An output whose size depends on the values: the positions of the non-zero entries, [2, k].
  model('nonzero', (g) => {
    g.input('x', 'float32', ['b', 'n']);
    g.node('NonZero', ['x'], ['at']);
    g.output('at', 'int64', [2, 'k']);
  });
  // Token ids (int64) and per-token weights of a dynamic length: an embedding per token and a weighted sum of ids.
  model('tokens', (g) => {
    g.input('ids', 'int64', ['b', 'seq']);
    g.input('w', 'float32', ['b', 'seq']);
    g.node('Gather', [g.constant('table', 'float32', [10, 2], Array.from({ length: 20 }, (_, i) => i / 4 - 2)), 'ids'], ['emb']);
    g.node('ReduceSum', [g.op('Mul', [g.op('Cast', ['ids'], { to: 1 }), 'w']), g.constant('seq_axis', 'int64', [1], [1])], ['score'], { keepdims: 0 });
    g.output('emb', 'float32', ['b', 'seq', 2]);
    g.output('score', 'float32', ['b']);
  });
  // A model onnxruntime refuses to load (ReduceSum took its axes as an attribute before opset 13).
  model('broken', (g) => {
    g.input('x', 'float32', ['b', 3]);
    g.node('ReduceSum', ['x'], ['y'], { axes: [1], keepdims: 0 });
    g.output('y', 'float32', ['b']);
  });
  // String tensors (BYTES) in and out: s upper-cased, r passed through.
  model('strings', (g) => {
    g.input('s', 'float32', ['b']);
    g.input('r', 'float32', ['b']);
    g.node('StringNormalizer', ['s'], ['u'], { case_change_action: 'UPPER', locale: 'C' });
    g.node('Identity', ['r'], ['t']);
    g.output('u', 'float32', ['b']);
    g.output('t', 'float32', ['b']);
  }, { types: { s: 8, r: 8, u: 8, t: 8 } });
}

let serve: ServeProcess;
let client: Client & Record<string, GrpcCall>;
type GrpcCall = (req: object, meta: Metadata, opts: object, cb: (err: ServiceError | null, res: Record<string, unknown>) => void) => void;

beforeAll(async () => {
  buildModels();
  const services = [...files.keys()]
    .map((id) => `  - { id: ${id}, model: ${JSON.stringify(join(dir, `${id}.onnx`))}, sensitivity: latency, slo: { kind: latency, deadlineMs: 10000 }, devices: [cpu0] }`)
    .join('\n');
  serve = await startServe(`node: { id: every-dtype, listen: { host: 127.0.0.1, port: 0 } }
security: { insecure: true }
devices: [ { id: cpu0, threads: 1 } ]
executor: { profiling: { warmup: 0, repetitions: 1, warmShapesMs: 0 } }
services:
${services}
gateway: { http: { host: 127.0.0.1, port: 0 }, grpc: { host: 127.0.0.1, port: 0 }, maxBatchItems: 64 }
metrics: { enabled: false }
dashboard: { enabled: false }
log: { level: error }
`);
  client = oipGrpcClient<GrpcCall>(serve.grpc);
}, 180_000);
afterAll(async () => {
  client?.close();
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

const bytes = (v: ArrayBufferView): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/** What raw onnxruntime-node answers: each output's data type, shape and bytes. */
async function reference(name: string, inputs: readonly Tensor[]): Promise<Answer> {
  const session = await ort.InferenceSession.create(files.get(name)!);
  try {
    const out = await session.run(Object.fromEntries(inputs.map((t) => [t.name, new ort.Tensor(TYPES[t.datatype].ort, t.data, t.shape)])));
    const answer: Answer = {};
    for (const n of session.outputNames) {
      const t = out[n]!;
      answer[n] = { datatype: (Object.keys(TYPES) as Datatype[]).find((d) => TYPES[d].ort === t.type)!, shape: [...t.dims], bytes: bytes(t.data).toString('hex') };
    }
    return answer;
  } finally {
    await session.release();
  }
}

type Answer = Record<string, { datatype: string; shape: number[]; bytes: string }>;

/** JSON `data` values back into the raw form (exact for every type with the values used here). */
function fromJson(datatype: Datatype, values: readonly unknown[]): Buffer {
  const A = TYPES[datatype].array;
  if (datatype === 'FP16') return bytes(Uint16Array.from(values as number[], f16bits));
  if (datatype === 'BOOL') return bytes(Uint8Array.from(values as boolean[], (v) => (v ? 1 : 0)));
  if (A === BigInt64Array || A === BigUint64Array) return bytes((A as typeof BigInt64Array).from(values as number[], (v) => BigInt(v)));
  return bytes((A as typeof Float32Array).from(values as number[]));
}

function jsonValues(t: Tensor): unknown[] {
  if (t.datatype === 'BOOL') return Array.from(t.data as Uint8Array, (v) => v === 1);
  if (t.datatype === 'FP16') return Array.from(t.data as Uint16Array, f16value);
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? v.toString() : v));
}

async function viaJson(model: string, inputs: readonly Tensor[]): Promise<Answer> {
  const body = { inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, data: jsonValues(t) })) };
  const res = await fetch(`${serve.http}/v2/models/${model}/infer`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const json = (await res.json()) as { outputs: { name: string; datatype: Datatype; shape: number[]; data: unknown[] }[]; error?: string };
  expect(res.status, `${model} JSON: ${json.error}`).toBe(200);
  return Object.fromEntries(json.outputs.map((o) => [o.name, { datatype: o.datatype, shape: o.shape, bytes: fromJson(o.datatype, o.data).toString('hex') }]));
}

async function viaBinary(model: string, inputs: readonly Tensor[]): Promise<Answer> {
  const header = Buffer.from(
    JSON.stringify({
      inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: t.data.byteLength } })),
      parameters: { binary_data_output: true },
    }),
  );
  const res = await fetch(`${serve.http}/v2/models/${model}/infer`, {
    method: 'POST',
    body: Buffer.concat([header, ...inputs.map((t) => bytes(t.data))]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
  });
  const body = Buffer.from(await res.arrayBuffer());
  expect(res.status, `${model} binary: ${body.toString().slice(0, 300)}`).toBe(200);
  const jsonLength = Number(res.headers.get('inference-header-content-length'));
  const json = JSON.parse(body.subarray(0, jsonLength).toString()) as { outputs: { name: string; datatype: string; shape: number[]; parameters: { binary_data_size: number } }[] };
  let at = jsonLength;
  const answer: Answer = {};
  for (const o of json.outputs) {
    const size = o.parameters.binary_data_size;
    answer[o.name] = { datatype: o.datatype, shape: o.shape, bytes: body.subarray(at, at + size).toString('hex') };
    at += size;
  }
  expect(at).toBe(body.length);
  return answer;
}

const grpc = (method: string, req: object): Promise<Record<string, unknown>> =>
  new Promise((resolve, reject) => client[method]!(req, new Metadata(), { deadline: Date.now() + 60_000 }, (err, res) => (err ? reject(err) : resolve(res))));

function grpcAnswer(res: Record<string, unknown>): Answer {
  const outputs = res['outputs'] as { name: string; datatype: string; shape: number[] }[];
  const raw = res['raw_output_contents'] as Buffer[];
  return Object.fromEntries(outputs.map((o, i) => [o.name, { datatype: o.datatype, shape: o.shape.map(Number), bytes: raw[i]!.toString('hex') }]));
}

async function viaGrpcRaw(model: string, inputs: readonly Tensor[]): Promise<Answer> {
  const res = await grpc('ModelInfer', { model_name: model, inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })), raw_input_contents: inputs.map((t) => bytes(t.data)) });
  return grpcAnswer(res);
}

/** gRPC with typed `contents` (proto-loader encodes uint64/int64 from numbers); `undefined` when some type has no field. */
async function viaGrpcTyped(model: string, inputs: readonly Tensor[]): Promise<Answer | undefined> {
  if (inputs.some((t) => TYPES[t.datatype].contents === undefined)) return undefined;
  const contents = (t: Tensor): Record<string, unknown[]> => ({
    [TYPES[t.datatype].contents!]: Array.from(t.data as ArrayLike<number | bigint>, (v) => (t.datatype === 'BOOL' ? v === 1 : typeof v === 'bigint' ? v.toString() : v)),
  });
  const res = await grpc('ModelInfer', { model_name: model, inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, contents: contents(t) })) });
  return grpcAnswer(res);
}

/**
 * The answer of every transport equals onnxruntime-node's, bit for bit. `json: false` for 64-bit values past
 * 2^53, which this test's JSON.parse would round (the gateway's JSON text is checked on its own).
 */
async function sameEverywhere(model: string, inputs: readonly Tensor[], o: { json?: boolean } = {}): Promise<void> {
  const want = await reference(model, inputs);
  if (o.json !== false) expect(await viaJson(model, inputs), `${model} over HTTP JSON`).toEqual(want);
  expect(await viaBinary(model, inputs), `${model} over HTTP binary`).toEqual(want);
  expect(await viaGrpcRaw(model, inputs), `${model} over gRPC raw_input_contents`).toEqual(want);
  const typed = await viaGrpcTyped(model, inputs);
  if (typed !== undefined) expect(typed, `${model} over gRPC typed contents`).toEqual(want);
}

/** Values of `datatype` that survive +1 in its range and JSON exactly. */
function values(datatype: Datatype, n: number, seed: number): Tensor['data'] {
  const pick = (i: number): number => ((i * 37 + seed * 11) % 100) - 50;
  const A = TYPES[datatype].array;
  switch (datatype) {
    case 'BOOL':
      return Uint8Array.from({ length: n }, (_, i) => (pick(i) > 0 ? 1 : 0));
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
      return (A as typeof Uint8Array).from({ length: n }, (_, i) => pick(i) + 50 + (datatype === 'UINT8' ? 0 : datatype === 'UINT16' ? 60_000 : 4_000_000_000));
    case 'UINT64':
      return BigUint64Array.from({ length: n }, (_, i) => BigInt(pick(i) + 50) * 1_000_000_000n);
    case 'INT64':
      return BigInt64Array.from({ length: n }, (_, i) => BigInt(pick(i)) * 1_000_000n);
    case 'INT16':
      return Int16Array.from({ length: n }, (_, i) => pick(i) * 600);
    case 'FP16':
      return Uint16Array.from({ length: n }, (_, i) => f16bits(pick(i) / 4));
    default:
      return (A as typeof Float32Array).from({ length: n }, (_, i) => pick(i) / 8);
  }
}

describe('every data type, over HTTP JSON, HTTP binary and gRPC (raw and typed), as onnxruntime-node answers', () => {
  it('metadata names every data type', async () => {
    const meta = (await (await fetch(`${serve.http}/v2/models/all_types`)).json()) as { inputs: { name: string; datatype: string; shape: number[] }[] };
    expect(meta.inputs).toEqual(DATATYPES.map((t) => ({ name: `x_${tag(t)}`, datatype: t, shape: [-1, 3] })));
    const viaGrpc = await grpc('ModelMetadata', { name: 'all_types', version: '' });
    expect((viaGrpc['outputs'] as { datatype: string }[]).map((o) => o.datatype)).toEqual(DATATYPES);
  });

  it('one item and a batch of three', async () => {
    for (const b of [1, 3]) {
      await sameEverywhere('all_types', DATATYPES.map((t, k) => ({ name: `x_${tag(t)}`, datatype: t, shape: [b, 3], data: values(t, b * 3, k + b) })));
    }
  });

  it('FP16, which gRPC carries only raw', async () => {
    await sameEverywhere('half', [{ name: 'x_fp16', datatype: 'FP16', shape: [2, 3], data: values('FP16', 6, 1) }]);
  });

  it('UINT64 and INT64 past 2^53 come back exact in JSON and in binary', async () => {
    const u = ['18446744073709551615', '9007199254740993', '1'];
    const i = ['-9223372036854775808', '9007199254740993', '-1'];
    const body = { inputs: [{ name: 'u', datatype: 'UINT64', shape: [1, 3], data: u }, { name: 'i', datatype: 'INT64', shape: [1, 3], data: i }] };
    const res = await fetch(`${serve.http}/v2/models/wide/infer`, { method: 'POST', body: JSON.stringify(body) });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(text).toContain(`"data":[${u.join(',')}]`);
    expect(text).toContain(`"data":[${i.join(',')}]`);
    await sameEverywhere('wide', [
      { name: 'u', datatype: 'UINT64', shape: [1, 3], data: BigUint64Array.from(u, BigInt) },
      { name: 'i', datatype: 'INT64', shape: [1, 3], data: BigInt64Array.from(i, BigInt) },
    ], { json: false });
  });

  it('values out of a type\'s range are refused, never wrapped', async () => {
    const inputs = DATATYPES.map((t) => ({ name: `x_${tag(t)}`, datatype: t, shape: [1, 3], data: values(t, 3, 0) }));
    for (const [t, v] of [['UINT64', '-1'], ['UINT64', '18446744073709551616'], ['UINT32', 4294967296], ['UINT16', 65536], ['INT16', -32769]] as const) {
      const bad = { inputs: inputs.map((x) => ({ ...x, data: x.datatype === t ? [v, 0, 0] : jsonValues(x) })) };
      const r = await fetch(`${serve.http}/v2/models/all_types/infer`, { method: 'POST', body: JSON.stringify(bad) });
      expect({ t, status: r.status, body: await r.json() }).toMatchObject({ t, status: 400, body: { code: 'INVALID_INPUT', error: expect.stringMatching(new RegExp(`does not fit ${t}`)) } });
    }
  });
});

describe('signatures never met', () => {
  it('an input of open rank is shown as [-1] and takes any shape', async () => {
    const meta = (await (await fetch(`${serve.http}/v2/models/open_rank`)).json()) as { inputs: unknown[] };
    // It was shown as a scalar ([]), and every request with a shape was refused.
    expect(meta.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [-1] }]);
    for (const shape of [[2, 3], [5], [1, 2, 2]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      await sameEverywhere('open_rank', [{ name: 'x', datatype: 'FP32', shape, data: values('FP32', n, n) }]);
    }
  });

  it('no batch dim and a scalar output', async () => {
    await sameEverywhere('no_batch', [{ name: 'x', datatype: 'FP32', shape: [4], data: Float32Array.from([1, -2, 3.5, 4]) }]);
  });

  it('an output whose shape depends on the values', async () => {
    await sameEverywhere('nonzero', [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: Float32Array.from([0, 1, 0, 2, 0, 3]) }]);
    await sameEverywhere('nonzero', [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: Float32Array.from([5, 0, 0, 0]) }]);
  });

  it('int64 token ids and weights of a dynamic length, two outputs', async () => {
    for (const [b, seq] of [[1, 5], [2, 3]] as const) {
      await sameEverywhere('tokens', [
        { name: 'ids', datatype: 'INT64', shape: [b, seq], data: BigInt64Array.from({ length: b * seq }, (_, i) => BigInt((i * 7) % 10)) },
        { name: 'w', datatype: 'FP32', shape: [b, seq], data: values('FP32', b * seq, seq) },
      ]);
    }
  });

  it('a model with string tensors (BYTES) is ready and answers as onnxruntime does, on every transport', async () => {
    // It was listed but never ready, and answered LOAD_FAILED.
    const meta = (await (await fetch(`${serve.http}/v2/models/strings`)).json()) as { inputs: unknown[]; outputs: unknown[] };
    expect(meta.inputs).toEqual([{ name: 's', datatype: 'BYTES', shape: [-1] }, { name: 'r', datatype: 'BYTES', shape: [-1] }]);
    expect(meta.outputs).toEqual([{ name: 'u', datatype: 'BYTES', shape: [-1] }, { name: 't', datatype: 'BYTES', shape: [-1] }]);
    expect((await fetch(`${serve.http}/v2/models/strings/ready`)).status, serve.output()).toBe(200);
    expect(await grpc('ModelReady', { name: 'strings', version: '' })).toEqual({ ready: true });
    const s = ['héllo', '', 'Straße 日本 🎉', 'same', 'x'.repeat(300)];
    const r = ['ünï', '', 'other', 'same', 'y'.repeat(300)];
    // Length-prefixed raw form of BYTES: each element a u32 little-endian length, then its UTF-8 bytes.
    const lp = (list: readonly string[]): Buffer => Buffer.concat(list.flatMap((x) => [Buffer.from(Uint32Array.of(Buffer.byteLength(x)).buffer), Buffer.from(x)]));
    const session = await ort.InferenceSession.create(files.get('strings')!);
    const shape = [s.length];
    const out = await session.run({ s: new ort.Tensor('string', s as never, shape), r: new ort.Tensor('string', r as never, shape) });
    await session.release();
    const want = {
      u: { datatype: 'BYTES', shape, bytes: lp(out['u']!.data as unknown as string[]).toString('hex') },
      t: { datatype: 'BYTES', shape, bytes: lp(out['t']!.data as unknown as string[]).toString('hex') },
    };
    expect((out['u']!.data as unknown as string[])[3]).toBe('SAME');
    expect(out['t']!.data as unknown as string[]).toEqual(r);
    const json = await fetch(`${serve.http}/v2/models/strings/infer`, { method: 'POST', body: JSON.stringify({ inputs: [{ name: 's', datatype: 'BYTES', shape, data: s }, { name: 'r', datatype: 'BYTES', shape, data: r }] }) });
    const body = (await json.json()) as { outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[]; error?: string };
    expect(json.status, body.error).toBe(200);
    expect(Object.fromEntries(body.outputs.map((o) => [o.name, { datatype: o.datatype, shape: o.shape, bytes: lp(o.data as string[]).toString('hex') }])), 'strings over HTTP JSON').toEqual(want);
    const inputs = [
      { name: 's', datatype: 'BYTES', shape, data: lp(s) },
      { name: 'r', datatype: 'BYTES', shape, data: lp(r) },
    ] as unknown as Tensor[];
    expect(await viaBinary('strings', inputs), 'strings over HTTP binary').toEqual(want);
    expect(await viaGrpcRaw('strings', inputs), 'strings over gRPC raw_input_contents').toEqual(want);
    const typed = await grpc('ModelInfer', {
      model_name: 'strings',
      inputs: [
        { name: 's', datatype: 'BYTES', shape, contents: { bytes_contents: s.map((x) => Buffer.from(x)) } },
        { name: 'r', datatype: 'BYTES', shape, contents: { bytes_contents: r.map((x) => Buffer.from(x)) } },
      ],
    });
    expect(grpcAnswer(typed), 'strings over gRPC typed contents').toEqual(want);
    // Concurrent one-item requests (which the executor may batch) come back each with its own strings.
    const one = (k: number): Promise<unknown> =>
      fetch(`${serve.http}/v2/models/strings/infer`, { method: 'POST', body: JSON.stringify({ inputs: [{ name: 's', datatype: 'BYTES', shape: [1], data: [s[k]] }, { name: 'r', datatype: 'BYTES', shape: [1], data: [r[k]] }] }) })
        .then((res) => res.json())
        .then((b) => (b as typeof body).outputs.find((o) => o.name === 't')!.data);
    expect(await Promise.all(s.map((_, k) => one(k)))).toEqual(r.map((x) => [x]));
    // A length prefix past the data is the client's mistake: 400 INVALID_INPUT, on HTTP and gRPC.
    const short = lp(s).subarray(0, lp(s).length - 1);
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 's', datatype: 'BYTES', shape, parameters: { binary_data_size: short.length } }, { name: 'r', datatype: 'BYTES', shape, parameters: { binary_data_size: lp(r).length } }] }));
    const bad = await fetch(`${serve.http}/v2/models/strings/infer`, { method: 'POST', body: Buffer.concat([header, short, lp(r)]), headers: { 'inference-header-content-length': String(header.length) } });
    expect({ status: bad.status, body: await bad.json() }).toMatchObject({ status: 400, body: { code: 'INVALID_INPUT', error: expect.stringMatching(/length prefix says 300 bytes, only 299 are left/) } });
    const viaGrpc = await grpc('ModelInfer', { model_name: 'strings', inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape })), raw_input_contents: [short, lp(r)] }).catch((e: ServiceError) => e);
    expect((viaGrpc as ServiceError).code).toBe(3); // INVALID_ARGUMENT
  });

  it('a model onnxruntime cannot load is not served, and the others are', async () => {
    // Its load failure stopped `epara serve` and every other model with it.
    expect(serve.output()).toMatch(/service broken is not served here: could not load model broken/);
    expect((await fetch(`${serve.http}/v2/models/broken/ready`)).status).toBe(503);
    const res = await fetch(`${serve.http}/v2/models/broken/infer`, { method: 'POST', body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] }) });
    expect({ status: res.status, body: await res.json() }).toMatchObject({ status: 503, body: { code: 'NO_INSTANCE' } });
    expect((await fetch(`${serve.http}/v2/health/ready`)).status).toBe(200);
  });

  it('a batch over maxBatchItems is refused before anything runs', async () => {
    const n = 65;
    const huge = DATATYPES.map((t, k) => ({ name: `x_${tag(t)}`, datatype: t, shape: [n, 3], data: values(t, n * 3, k) }));
    const header = Buffer.from(JSON.stringify({ inputs: huge.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: t.data.byteLength } })) }));
    const res = await fetch(`${serve.http}/v2/models/all_types/infer`, {
      method: 'POST',
      body: Buffer.concat([header, ...huge.map((t) => bytes(t.data))]),
      headers: { 'inference-header-content-length': String(header.length) },
    });
    expect({ status: res.status, body: await res.json() }).toMatchObject({ status: 400, body: { code: 'INVALID_INPUT', error: expect.stringMatching(/batch of 65 items.*at most 64/) } });
    const viaGrpc = await viaGrpcRaw('all_types', huge).catch((e: ServiceError) => e);
    expect((viaGrpc as ServiceError).code).toBe(3); // INVALID_ARGUMENT
    // At the limit it is served.
    await sameEverywhere('all_types', DATATYPES.map((t, k) => ({ name: `x_${tag(t)}`, datatype: t, shape: [64, 3], data: values(t, 64 * 3, k) })));
  });

  it('the standard endpoints', async () => {
    const get = async (path: string): Promise<{ status: number; body: unknown }> => {
      const r = await fetch(`${serve.http}${path}`);
      return { status: r.status, body: r.headers.get('content-type')?.includes('json') ? await r.json() : await r.text() };
    };
    expect(await get('/v2')).toMatchObject({ status: 200, body: { name: 'epara', extensions: expect.arrayContaining(['binary_tensor_data']) } });
    expect((await get('/v2/health/live')).status).toBe(200);
    expect((await get('/v2/health/ready')).status).toBe(200);
    expect(await get('/v2/models/tokens/versions/1')).toMatchObject({ status: 200, body: { name: 'tokens', versions: ['1'], platform: 'onnxruntime_onnx' } });
    expect((await get('/v2/models/tokens/versions/1/ready')).status).toBe(200);
    expect((await get('/v2/models/tokens/versions/2')).status).toBe(404);
    // Triton's model configuration, as tritonclient's get_model_config and perf_analyzer read it.
    expect(await get('/v2/models/tokens/config')).toEqual({
      status: 200,
      body: {
        name: 'tokens', platform: 'onnxruntime_onnx', backend: 'onnxruntime', max_batch_size: 0,
        input: [{ name: 'ids', data_type: 'TYPE_INT64', dims: [-1, -1] }, { name: 'w', data_type: 'TYPE_FP32', dims: [-1, -1] }],
        output: [{ name: 'emb', data_type: 'TYPE_FP32', dims: [-1, -1, 2] }, { name: 'score', data_type: 'TYPE_FP32', dims: [-1] }],
      },
    });
    expect(await get('/v2/models/strings/versions/1/config')).toMatchObject({ status: 200, body: { input: [{ name: 's', data_type: 'TYPE_STRING', dims: [-1] }, { name: 'r', data_type: 'TYPE_STRING', dims: [-1] }] } });
    expect(await get('/v2/models/nope/config')).toMatchObject({ status: 404, body: { code: 'UNKNOWN_SERVICE' } });
    const index = async (body?: string): Promise<{ status: number; body: { name: string; version: string; state: string; reason?: string }[] }> => {
      const r = await fetch(`${serve.http}/v2/repository/index`, { method: 'POST', ...(body !== undefined ? { body } : {}) });
      return { status: r.status, body: (await r.json()) as never };
    };
    const all = await index();
    expect(all.status).toBe(200);
    expect(all.body.map((e) => e.name).sort()).toEqual([...files.keys()].sort());
    expect(all.body.find((e) => e.name === 'tokens')).toEqual({ name: 'tokens', version: '1', state: 'READY' });
    expect(all.body.find((e) => e.name === 'strings')).toEqual({ name: 'strings', version: '1', state: 'READY' });
    expect((await index('{"ready":true}')).body.map((e) => e.name)).toContain('strings');
    expect((await index('{"ready":"yes"}')).status).toBe(400);
    expect(await grpc('ServerLive', {})).toEqual({ live: true });
    expect(await grpc('ServerReady', {})).toEqual({ ready: true });
    expect(await grpc('ModelReady', { name: 'tokens', version: '1' })).toEqual({ ready: true });
    expect(await grpc('ModelMetadata', { name: 'tokens', version: '' })).toMatchObject({
      inputs: [{ name: 'ids', datatype: 'INT64', shape: [-1, -1] }, { name: 'w', datatype: 'FP32', shape: [-1, -1] }],
      outputs: [{ name: 'emb', datatype: 'FP32', shape: [-1, -1, 2] }, { name: 'score', datatype: 'FP32', shape: [-1] }],
    });
  });
});
