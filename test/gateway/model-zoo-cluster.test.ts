import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Metadata } from '@grpc/grpc-js';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { createGraphBuilder, encodeModel } from '@epara/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oipGrpcClient } from './oip-grpc-client.js';
import { startTwoWorkerCluster, type ServeProcess } from './serve-process.js';

/*
 * Signatures a user may bring that EPARA had not met, built in code and served by a cluster of three `epara serve`
 * processes — two workers that run every model, and an entry that runs none (every request it takes is offloaded) —
 * with concurrent requests of every transport (HTTP JSON, HTTP binary, gRPC raw contents) at a worker and at the
 * entry, so that batches form. Every 200 must be raw onnxruntime-node's answer to that request alone, bit for bit:
 * output values, shapes and types; a request onnxruntime answers must be answered.
 *
 * The zoo: an output whose dims come from an input's value (TopK's k, Range's n) or from how many values pass a
 * test (NonZero), so answers are ragged across requests of one batch window; a dynamic sequence with per-row
 * lengths, different in concurrent requests; tensors without elements (a dim of 0: a KV cache's first step, an
 * empty box list); a model that mixes its rows; one whose declared output dims lie about the batch; one with no
 * batch dim; a scalar input shared by a request's rows; an input with a default; tensor names with dots, slashes
 * and colons, and a model name with dots; INT8, INT16, UINT16, UINT32, UINT64 and FP16 with NaN payloads, -0 and ∞.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
interface OrtTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: ArrayBufferView;
}
interface Ort {
  Tensor: new (type: string, data: ArrayBufferView, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(bytes: Uint8Array): Promise<{ readonly outputNames: readonly string[]; run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>; release(): Promise<void> }> };
}
/** onnxruntime-node, from the runtime package (the repository root does not depend on it). */
const ort = createRequire(join(root, 'packages', 'runtime', 'package.json'))('onnxruntime-node') as Ort;

/** Protocol data type → onnxruntime type and the typed array of its raw bytes. */
const TYPES = {
  BOOL: { ort: 'bool', array: Uint8Array },
  UINT8: { ort: 'uint8', array: Uint8Array },
  UINT16: { ort: 'uint16', array: Uint16Array },
  UINT32: { ort: 'uint32', array: Uint32Array },
  UINT64: { ort: 'uint64', array: BigUint64Array },
  INT8: { ort: 'int8', array: Int8Array },
  INT16: { ort: 'int16', array: Int16Array },
  INT32: { ort: 'int32', array: Int32Array },
  INT64: { ort: 'int64', array: BigInt64Array },
  FP16: { ort: 'float16', array: Uint16Array },
  FP32: { ort: 'float32', array: Float32Array },
  FP64: { ort: 'float64', array: Float64Array },
} as const;
type Datatype = keyof typeof TYPES;
const DATATYPE_OF = Object.fromEntries(Object.entries(TYPES).map(([k, v]) => [v.ort, k])) as Record<string, Datatype>;
/** ONNX element type codes, for the types the graph builder does not declare itself. */
const ONNX = { int8: 3, int16: 5, uint16: 4, uint32: 12, uint64: 13, float16: 10 } as const;

/** A tensor as its raw bytes: what the binary extension and gRPC's raw contents carry. */
interface Tensor {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
  readonly bytes: Buffer;
}
const raw = (v: ArrayBufferView): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
/** The values of raw bytes, in a fresh aligned buffer. */
function values(t: Tensor): ArrayBufferView & ArrayLike<number | bigint> {
  const copy = Uint8Array.from(t.bytes);
  const A = TYPES[t.datatype].array;
  return new A(copy.buffer, 0, copy.byteLength / A.BYTES_PER_ELEMENT);
}
const t = (name: string, datatype: Datatype, shape: readonly number[], data: readonly (number | bigint)[]): Tensor => ({
  name,
  datatype,
  shape,
  bytes: raw((TYPES[datatype].array as unknown as { from(x: readonly unknown[]): ArrayBufferView }).from(data)),
});
const range = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));

type Builder = ReturnType<typeof createGraphBuilder>;
/** A model of the zoo: its graph, element types to set after the builder (by value name), request `i`. */
interface Zoo {
  readonly build: (g: Builder) => void;
  readonly retype?: Readonly<Record<string, number>>;
  readonly request: (i: number) => Tensor[];
  /**
   * For a model with an input that has a default: the same graph with that input a plain one, and the default, which
   * raw onnxruntime-node is given where a request leaves the input out (onnxruntime-node runs an initializer listed
   * as an input on its stored value, whatever it is fed).
   */
  readonly reference?: { readonly build: (g: Builder) => void; readonly defaults: readonly Tensor[] };
}

function biasGraph(g: Builder): void {
  g.input('x', 'float32', ['b', 4]);
  g.input('bias', 'float32', [4]);
  g.node('Add', ['x', 'bias'], ['y']);
  g.output('y', 'float32', ['b', 4]);
}

const ZOO: Record<string, Zoo> = {
  // y, i = TopK(x, k): the width of the answer is the request's k, a shared input (items stack only when alike).
  topk: {
    build: (g) => {
      g.input('x', 'float32', ['b', 6]);
      g.input('k', 'int64', [1]);
      g.node('TopK', ['x', 'k'], ['v', 'i'], { axis: 1 });
      g.output('v', 'float32', ['b', 'k']);
      g.output('i', 'int64', ['b', 'k']);
    },
    request: (i) => {
      const rows = 1 + (i % 3);
      return [t('x', 'FP32', [rows, 6], range(rows * 6, (j) => ((j * 7 + i * 3) % 11) - 5)), t('k', 'INT64', [1], [BigInt(1 + (i % 5))])];
    },
  },
  // Each row's sums over a dynamic sequence, zeroed past the row's own length: concurrent requests of other lengths.
  lens: {
    build: (g) => {
      g.input('x', 'float32', ['b', 'seq', 2]);
      g.input('len', 'int64', ['b']);
      const sums = g.op('ReduceSum', ['x', g.constant('last', 'int64', [1], [2])], { keepdims: 0 });
      const seq = g.op('Gather', [g.op('Shape', ['x']), g.constant('one', 'int64', [], [1])], { axis: 0 });
      const steps = g.op('Unsqueeze', [g.op('Range', [g.constant('zero', 'int64', [], [0]), seq, g.constant('step', 'int64', [], [1])]), g.constant('a0', 'int64', [1], [0])]);
      const within = g.op('Less', [steps, g.op('Unsqueeze', ['len', g.constant('a1', 'int64', [1], [1])])]);
      g.node('Where', [within, sums, g.constant('zf', 'float32', [], [0])], ['y']);
      g.output('y', 'float32', ['b', 'seq']);
    },
    request: (i) => {
      const rows = 1 + (i % 3);
      const seq = 1 + (i % 4);
      return [t('x', 'FP32', [rows, seq, 2], range(rows * seq * 2, (j) => j * 0.5 - i)), t('len', 'INT64', [rows], range(rows, (j) => (j + i) % (seq + 1)).map(BigInt))];
    },
  },
  // 0..n-1: no batch, its length the request's value (0 included: an empty answer).
  arange: {
    build: (g) => {
      g.input('n', 'int64', []);
      g.node('Range', [g.constant('zero', 'int64', [], [0]), 'n', g.constant('step', 'int64', [], [1])], ['y']);
      g.output('y', 'int64', ['len']);
    },
    request: (i) => [t('n', 'INT64', [], [BigInt(i % 7)])],
  },
  // The indices of the scores above 0.5: [2, k], k from the values (0: no box).
  boxes: {
    build: (g) => {
      g.input('scores', 'float32', ['b', 'n']);
      g.node('NonZero', [g.op('Greater', ['scores', g.constant('h', 'float32', [], [0.5])])], ['idx']);
      g.output('idx', 'int64', [2, 'k']);
    },
    request: (i) => {
      const n = 1 + (i % 4);
      return [t('scores', 'FP32', [1, n], range(n, (j) => ((j + i) % 3) * 0.4))];
    },
  },
  // Row sums of [b, n]: requests of no rows, rows of no values, and both.
  rows: {
    build: (g) => {
      g.input('x', 'float32', ['b', 'n']);
      g.node('ReduceSum', ['x', g.constant('ax', 'int64', [1], [1])], ['s'], { keepdims: 0 });
      g.output('s', 'float32', ['b']);
    },
    request: (i) => {
      const [b, n] = ([[2, 0], [0, 4], [1, 3], [3, 0], [2, 2], [0, 0]] as const)[i % 6]!;
      return [t('x', 'FP32', [b, n], range(b * n, (j) => j + i))];
    },
  },
  // A decoder step with a KV cache under exporter names: the cache so far (none at the first step) and this step's.
  past: {
    build: (g) => {
      g.input('past_key_values.0.key', 'float32', ['batch', 2, 'past', 4]);
      g.input('key', 'float32', ['batch', 2, 'seq', 4]);
      g.node('Concat', ['past_key_values.0.key', 'key'], ['present.0.key'], { axis: 2 });
      g.node('ReduceSum', ['present.0.key', g.constant('ax', 'int64', [3], [1, 2, 3])], ['logits'], { keepdims: 0 });
      g.output('present.0.key', 'float32', ['batch', 2, 'total', 4]);
      g.output('logits', 'float32', ['batch']);
    },
    request: (i) => {
      const b = 1 + (i % 2);
      const p = i % 3;
      return [t('past_key_values.0.key', 'FP32', [b, 2, p, 4], range(b * 2 * p * 4, (j) => j - i)), t('key', 'FP32', [b, 2, 1, 4], range(b * 8, (j) => j * 0.5 + i))];
    },
  },
  // Names with dots, slashes and colons (tensors and the model).
  'zoo.dotted-v1': {
    build: (g) => {
      g.input('input.1', 'float32', ['b', 3]);
      g.input('x/y:0', 'int32', ['b', 3]);
      g.node('Neg', ['input.1'], ['out.0']);
      g.node('Add', ['x/y:0', 'x/y:0'], ['a/b:0']);
      g.output('out.0', 'float32', ['b', 3]);
      g.output('a/b:0', 'int32', ['b', 3]);
    },
    request: (i) => {
      const rows = 1 + (i % 2);
      return [t('input.1', 'FP32', [rows, 3], range(rows * 3, (j) => (j % 2 === 0 ? 0 : j - i))), t('x/y:0', 'INT32', [rows, 3], range(rows * 3, (j) => j * i))];
    },
  },
  // Each row less the mean over the batch: rows that must never be stacked with another request's.
  mixrows: {
    build: (g) => {
      g.input('x', 'float32', ['b', 4]);
      g.node('Sub', ['x', g.op('ReduceMean', ['x'], { axes: [0], keepdims: 1 })], ['y']);
      g.output('y', 'float32', ['b', 4]);
    },
    request: (i) => {
      const rows = 1 + (i % 3);
      return [t('x', 'FP32', [rows, 4], range(rows * 4, (j) => j * j - i))];
    },
  },
  // An output declared [1, 4] (an exporter that traced batch 1) while it is [b, 4].
  liar: {
    build: (g) => {
      g.input('x', 'float32', ['b', 4]);
      g.node('Mul', ['x', g.constant('two', 'float32', [], [2])], ['y']);
      g.output('y', 'float32', [1, 4]);
    },
    request: (i) => {
      const rows = 1 + (i % 3);
      return [t('x', 'FP32', [rows, 4], range(rows * 4, (j) => j - i))];
    },
  },
  // No batch dim anywhere.
  nobatch: {
    build: (g) => {
      g.input('x', 'float32', [3, 3]);
      g.node('MatMul', ['x', 'x'], ['y']);
      g.output('y', 'float32', [3, 3]);
    },
    request: (i) => [t('x', 'FP32', [3, 3], range(9, (j) => j - i))],
  },
  // A scalar shared by the request's rows (-0 and 0 among them: x * k tells them apart).
  scale: {
    build: (g) => {
      g.input('x', 'float32', ['b', 3]);
      g.input('k', 'float32', []);
      g.node('Mul', ['x', 'k'], ['y']);
      g.output('y', 'float32', ['b', 3]);
    },
    request: (i) => [t('x', 'FP32', [1 + (i % 2), 3], range(3 * (1 + (i % 2)), (j) => j + i + 1)), t('k', 'FP32', [], [[0, -0, 0.5, -2][i % 4]!])],
  },
  // An input with a default (an initializer of its name): given in some requests, left out in others.
  bias: {
    build: (g) => {
      biasGraph(g);
      g.constant('bias', 'float32', [4], [1, 2, 3, 4]);
    },
    reference: { build: biasGraph, defaults: [t('bias', 'FP32', [4], [1, 2, 3, 4])] },
    request: (i) => {
      const x = t('x', 'FP32', [1 + (i % 2), 4], range(4 * (1 + (i % 2)), (j) => j * i));
      return i % 3 === 0 ? [x] : [x, t('bias', 'FP32', [4], [i, -i, 0.5, 0])];
    },
  },
  // Each type's extremes passed through; FP32 with NaN, -0 and ±∞, FP16 with a NaN payload (sent in binary only).
  ints: {
    build: (g) => {
      for (const name of ['f32', 'i8', 'i16', 'u16', 'u32', 'u64', 'f16']) {
        g.input(name, 'float32', ['b', 2]);
        g.node('Identity', [name], [`${name}_out`]);
        g.output(`${name}_out`, 'float32', ['b', 2]);
      }
    },
    retype: Object.fromEntries(
      ([['i8', ONNX.int8], ['i16', ONNX.int16], ['u16', ONNX.uint16], ['u32', ONNX.uint32], ['u64', ONNX.uint64], ['f16', ONNX.float16]] as const).flatMap(([n, code]) => [[n, code], [`${n}_out`, code]]),
    ),
    request: (i) => {
      const rows = 1 + (i % 2);
      const pick = <V>(xs: readonly V[]): V[] => Array.from({ length: rows * 2 }, (_, j) => xs[(j + i) % xs.length]!);
      return [
        { name: 'f32', datatype: 'FP32', shape: [rows, 2], bytes: raw(Uint32Array.from(pick([0x7fc00000, 0x80000000, 0x7f800000, 0xff800000]))) },
        t('i8', 'INT8', [rows, 2], pick([-128, 127, -1, 0])),
        t('i16', 'INT16', [rows, 2], pick([-32768, 32767, -1, 0])),
        t('u16', 'UINT16', [rows, 2], pick([65535, 0, 1, 32768])),
        t('u32', 'UINT32', [rows, 2], pick([4294967295, 0, 1, 2147483648])),
        t('u64', 'UINT64', [rows, 2], pick([18446744073709551615n, 0n, 9007199254740993n, 1n])),
        { name: 'f16', datatype: 'FP16', shape: [rows, 2], bytes: raw(Uint16Array.from(pick([0x7e01, 0x8000, 0x7c00, 0x3c00]))) },
      ];
    },
  },
};

function modelBytes(name: string, z: Zoo, build = z.build): Uint8Array {
  const g = createGraphBuilder({ name: name.replace(/[^a-z]/g, '') });
  build(g);
  const m = g.toModel();
  const types = z.retype ?? {};
  const re = <V extends { name?: string; type?: { tensorType?: object } }>(v: V): V => (types[v.name ?? ''] === undefined ? v : { ...v, type: { tensorType: { ...v.type!.tensorType!, elemType: types[v.name ?? '']! } } });
  return encodeModel({ ...m, graph: { ...m.graph!, input: m.graph!.input!.map(re), output: m.graph!.output!.map(re) } });
}

const bytes: Record<string, Uint8Array> = Object.fromEntries(Object.entries(ZOO).map(([id, z]) => [id, modelBytes(id, z)]));
const referenceBytes: Record<string, Uint8Array> = Object.fromEntries(Object.entries(ZOO).map(([id, z]) => [id, z.reference ? modelBytes(id, z, z.reference.build) : bytes[id]!]));


type Unary = (req: object, meta: Metadata, opts: object, cb: (err: ServiceError | null, res: Record<string, unknown>) => void) => void;
interface Server {
  readonly name: string;
  readonly http: string;
  readonly client: Client & Record<string, Unary>;
}
const processes: ServeProcess[] = [];
const servers: Server[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'epara-zoo-'));
  const paths = Object.fromEntries(Object.entries(bytes).map(([id, b]) => (writeFileSync(join(dir, `${id}.onnx`), b), [id, join(dir, `${id}.onnx`)])));
  const { a, entry } = await startTwoWorkerCluster(paths, processes);
  servers.push({ name: 'worker', http: a.http, client: oipGrpcClient<Unary>(a.grpc) }, { name: 'entry', http: entry.http, client: oipGrpcClient<Unary>(entry.grpc) });
  // Every model served through the entry: its view holds a worker's instance of each.
  for (const id of Object.keys(ZOO)) while ((await fetch(`${entry.http}/v2/models/${id}/ready`)).status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
}, 240_000);
afterAll(async () => {
  for (const s of servers) s.client.close();
  for (const p of processes) p.child.kill('SIGTERM');
  expect(await Promise.all(processes.map((p) => p.exited))).toEqual(processes.map(() => 0));
});

type How = 'json' | 'binary' | 'grpc';
type Answer = { ok: true; outputs: Tensor[] } | { ok: false; error: string };

/** A JSON `data` array's text: -0 spelled as such, NaN and ±∞ as the strings the protocol reads, 64-bit integers as digits. */
function jsonData(x: Tensor): string {
  const spell = (v: number | bigint): string => {
    if (typeof v === 'bigint') return `"${v}"`;
    if (x.datatype === 'BOOL') return String(v !== 0);
    if (Object.is(v, -0)) return '-0';
    return Number.isFinite(v) ? String(v) : `"${String(v)}"`;
  };
  return `[${Array.from(values(x), spell).join(',')}]`;
}

/** One request through one transport, every output asked for in binary (JSON cannot spell -0 or a NaN's bits back). */
async function send(s: Server, model: string, request: readonly Tensor[], how: How): Promise<Answer> {
  const inputs = request.map((x) => ({ name: x.name, datatype: x.datatype, shape: x.shape }));
  if (how === 'grpc') {
    const res = await new Promise<Record<string, unknown> | ServiceError>((resolve) =>
      s.client['ModelInfer']!({ model_name: model, inputs, raw_input_contents: request.map((x) => x.bytes) }, new Metadata(), { deadline: Date.now() + 60_000 }, (err, r) => resolve(err ?? r)),
    );
    if (res instanceof Error) return { ok: false, error: `gRPC ${res.code} ${res.details}` };
    const outs = res['outputs'] as { name: string; datatype: Datatype; shape: (number | string)[] }[];
    const contents = res['raw_output_contents'] as Buffer[];
    return { ok: true, outputs: outs.map((o, i) => ({ name: o.name, datatype: o.datatype, shape: o.shape.map(Number), bytes: contents[i]! })) };
  }
  let body: Buffer;
  const headers: Record<string, string> = {};
  if (how === 'json') {
    const tensors = request.map((x) => `{"name":${JSON.stringify(x.name)},"datatype":"${x.datatype}","shape":${JSON.stringify(x.shape)},"data":${jsonData(x)}}`);
    body = Buffer.from(`{"inputs":[${tensors.join(',')}],"parameters":{"binary_data_output":true}}`);
    headers['content-type'] = 'application/json';
  } else {
    const head = Buffer.from(JSON.stringify({ inputs: inputs.map((x, i) => ({ ...x, parameters: { binary_data_size: request[i]!.bytes.length } })), parameters: { binary_data_output: true } }));
    body = Buffer.concat([head, ...request.map((x) => x.bytes)]);
    headers['content-type'] = 'application/octet-stream';
    headers['inference-header-content-length'] = String(head.length);
  }
  const res = await fetch(`${s.http}/v2/models/${model}/infer`, { method: 'POST', body, headers });
  const buf = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) return { ok: false, error: `HTTP ${res.status} ${buf.toString().slice(0, 300)}` };
  const headerLength = Number(res.headers.get('inference-header-content-length'));
  const head = JSON.parse(buf.subarray(0, headerLength).toString()) as { outputs: { name: string; datatype: Datatype; shape: number[]; parameters: { binary_data_size: number } }[] };
  let at = headerLength;
  return {
    ok: true,
    outputs: head.outputs.map((o) => {
      const b = buf.subarray(at, (at += o.parameters.binary_data_size));
      return { name: o.name, datatype: o.datatype, shape: o.shape, bytes: b };
    }),
  };
}

/** Raw onnxruntime-node's answer to each request alone (one session, one request at a time), or its refusal. */
async function expected(model: string, requests: readonly (readonly Tensor[])[]): Promise<Answer[]> {
  const session = await ort.InferenceSession.create(referenceBytes[model]!);
  try {
    const answers: Answer[] = [];
    for (const request of requests) {
      const feeds = [...(ZOO[model]!.reference?.defaults ?? []).filter((d) => !request.some((x) => x.name === d.name)), ...request];
      try {
        const out = await session.run(Object.fromEntries(feeds.map((x) => [x.name, new ort.Tensor(TYPES[x.datatype].ort, values(x), x.shape)])));
        answers.push({ ok: true, outputs: session.outputNames.map((n) => ({ name: n, datatype: DATATYPE_OF[out[n]!.type]!, shape: [...out[n]!.dims], bytes: raw(out[n]!.data) })) });
      } catch (err) {
        answers.push({ ok: false, error: String(err) });
      }
    }
    return answers;
  } finally {
    await session.release();
  }
}

/** How `got` differs from onnxruntime's `want`, bit for bit; `undefined` when it does not. */
function difference(got: Answer, want: Answer): string | undefined {
  if (!want.ok) return got.ok ? `answered, but onnxruntime refuses it: ${want.error}` : undefined;
  if (!got.ok) return `refused, but onnxruntime answers it: ${got.error}`;
  const byName = (xs: readonly Tensor[]): Tensor[] => [...xs].sort((p, q) => p.name.localeCompare(q.name));
  const [g, w] = [byName(got.outputs), byName(want.outputs)];
  if (g.map((x) => x.name).join() !== w.map((x) => x.name).join()) return `outputs ${g.map((x) => x.name).join()}, expected ${w.map((x) => x.name).join()}`;
  for (let i = 0; i < w.length; i++) {
    const [a, e] = [g[i]!, w[i]!];
    if (a.datatype !== e.datatype || a.shape.join() !== e.shape.join() || !a.bytes.equals(e.bytes)) return `${e.name}: ${a.datatype}[${a.shape.join(',')}] ${a.bytes.toString('hex')}, expected ${e.datatype}[${e.shape.join(',')}] ${e.bytes.toString('hex')}`;
  }
  return undefined;
}

/** Whether a request holds no items: a tensor of size 0 on dimension 0, which every batched input here batches on. */
const noItems = (request: readonly Tensor[]): boolean => request.some((x) => x.shape.length > 1 && x.shape[0] === 0);

const HOWS: readonly How[] = ['json', 'binary', 'grpc'];
/** Concurrent requests per model and server. */
const REQUESTS = 12;

describe('models EPARA had not met, served by a worker and through an entry without them, answered as onnxruntime answers each request alone', () => {
  it.each(Object.keys(ZOO))('%s', async (model) => {
    const found: string[] = [];
    const requests = Array.from({ length: REQUESTS }, (_, i) => ZOO[model]!.request(i));
    // JSON carries FP16 as the numbers it stands for, not its bits: those requests go in binary.
    const how = (i: number): How => (HOWS[i % 3] === 'json' && requests[i]!.some((x) => x.datatype === 'FP16') ? 'binary' : HOWS[i % 3]!);
    const wanted = await expected(model, requests);
    for (const s of servers) {
      const answers = await Promise.all(requests.map((r, i) => send(s, model, r, how(i))));
      answers.forEach((a, i) => {
        // A request of no items (0 on the batch axis) has none to give an instance that stacks one item per request.
        if (!a.ok && noItems(requests[i]!) && /HTTP 400 .*"INVALID_INPUT"|gRPC 3 /.test(a.error) && a.error.includes('expected 1 (one item per request')) return;
        const d = difference(a, wanted[i]!);
        if (d !== undefined) found.push(`${s.name}, request ${i} over ${how(i)} (${requests[i]!.map((x) => `${x.name}[${x.shape.join(',')}]`).join(' ')}): ${d}`);
      });
    }
    expect(found).toEqual([]);
  });
});
