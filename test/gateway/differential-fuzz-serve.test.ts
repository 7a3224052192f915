import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { createSeededRandom, type NamedTensors, type TensorLike, type TensorType } from '@epara/core';
import { floatToHalf, halfToFloat } from '@epara/core/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstDifference, randomModel, type FuzzModel } from '../fixtures/differential-models.js';
import { reference, type Reference } from '../runtime-models/ground-truth.js';
import { oipGrpcClient } from './oip-grpc-client.js';
import { startServe, type ServeProcess } from './serve-process.js';

/*
 * The differential fuzzer of `epara serve`: random small models (test/fixtures/differential-models.ts) served
 * from their files alone, called as outside clients call it — HTTP with JSON tensors, HTTP with binary tensors,
 * gRPC with raw_input_contents — with concurrent requests of 1-4 rows, random sequence lengths and values (some
 * overriding an initializer). The gateway splits a request into items, or sends it whole, as it reads the model;
 * either way each answer must be raw onnxruntime-node's on that request alone (integers and bools exactly, floats
 * within 64 ulps of the output's scale). Every refusal of a request onnxruntime answers is a failure.
 *
 * More models, or one seed again:
 *   EPARA_FUZZ_MODELS=60 EPARA_FUZZ_SEED=1 npx vitest run --project isolated test/gateway/differential-fuzz-serve.test.ts
 */

const FIRST = Number(process.env['EPARA_FUZZ_SEED'] ?? 1);
const COUNT = Number(process.env['EPARA_FUZZ_MODELS'] ?? 6);
const SEEDS = Array.from({ length: COUNT }, (_, i) => FIRST + i);

const DATATYPE: Partial<Record<TensorType, string>> = { float32: 'FP32', float64: 'FP64', int32: 'INT32', int64: 'INT64', uint8: 'UINT8', bool: 'BOOL', float16: 'FP16' };
const TYPE_OF = Object.fromEntries(Object.entries(DATATYPE).map(([t, d]) => [d, t as TensorType])) as Record<string, TensorType>;
const ARRAY: Partial<Record<TensorType, { new (b: ArrayBuffer): TensorLike['data']; BYTES_PER_ELEMENT: number }>> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  float16: Uint16Array,
};

const bytes = (t: TensorLike): Buffer => {
  const v = t.data as ArrayBufferView;
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
};
const fromBytes = (type: TensorType, dims: readonly number[], b: Buffer): TensorLike => ({ type, dims: [...dims], data: new ARRAY[type]!(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer) });

/** A tensor's values as JSON carries them: numbers, booleans, int64s as decimal strings, halves as the numbers they stand for. */
function jsonData(t: TensorLike): unknown[] {
  if (t.type === 'bool') return Array.from(t.data as Uint8Array, (v) => v !== 0);
  if (t.type === 'float16') return Array.from(t.data as Uint16Array, halfToFloat);
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? v.toString() : v));
}
function fromJson(type: TensorType, dims: readonly number[], data: unknown[]): TensorLike {
  if (type === 'bool') return { type, dims: [...dims], data: Uint8Array.from(data as boolean[], (v) => (v ? 1 : 0)) };
  if (type === 'float16') return { type, dims: [...dims], data: Uint16Array.from(data as number[], floatToHalf) };
  if (type === 'float32') return { type, dims: [...dims], data: Float32Array.from(data as number[]) };
  if (type === 'float64') return { type, dims: [...dims], data: Float64Array.from(data as number[]) };
  if (type === 'int32') return { type, dims: [...dims], data: Int32Array.from(data as number[]) };
  if (type === 'uint8') return { type, dims: [...dims], data: Uint8Array.from(data as number[]) };
  throw new Error(`no JSON reading of ${type}`);
}

type Transport = 'json' | 'binary' | 'grpc';
type Outcome = { ok: true; outputs: NamedTensors } | { ok: false; error: string };

let serve: ServeProcess;
type GrpcCall = (req: object, meta: Metadata, opts: object, cb: (err: ServiceError | null, res: Record<string, unknown>) => void) => void;
let client: Client & Record<string, GrpcCall>;

/** One request through one transport; int64 outputs come back binary over JSON (JSON.parse rounds past 2^53). */
async function infer(m: FuzzModel, request: NamedTensors, how: Transport): Promise<Outcome> {
  const model = `m${m.seed}`;
  const inputs = Object.entries(request).map(([name, t]) => ({ name, datatype: DATATYPE[t.type]!, shape: [...t.dims] }));
  if (how === 'grpc') {
    const res = await new Promise<Record<string, unknown> | ServiceError>((resolve) =>
      client['ModelInfer']!({ model_name: model, inputs, raw_input_contents: Object.values(request).map(bytes) }, new Metadata(), { deadline: Date.now() + 60_000 }, (err, r) => resolve(err ?? r)),
    );
    if (res instanceof Error) return { ok: false, error: `gRPC ${res.code} ${res.details}` };
    const outs = res['outputs'] as { name: string; datatype: string; shape: (number | string)[] }[];
    const raw = res['raw_output_contents'] as Buffer[];
    return { ok: true, outputs: Object.fromEntries(outs.map((o, i) => [o.name, fromBytes(TYPE_OF[o.datatype]!, o.shape.map(Number), raw[i]!)])) };
  }
  const url = `${serve.http}/v2/models/${model}/infer`;
  if (how === 'json') {
    const body = { inputs: inputs.map((i) => ({ ...i, data: jsonData(request[i.name]!) })), outputs: m.outputs.map((o) => ({ name: o.name, parameters: { binary_data: o.type === 'int64' } })) };
    const res = await fetch(url, { method: 'POST', body: JSON.stringify(body) });
    const buf = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) return { ok: false, error: `HTTP ${res.status} ${buf.toString().slice(0, 400)}` };
    const headerLength = Number(res.headers.get('inference-header-content-length') ?? buf.length);
    const head = JSON.parse(buf.subarray(0, headerLength).toString()) as { outputs: { name: string; datatype: string; shape: number[]; data?: unknown[]; parameters?: { binary_data_size?: number } }[] };
    let at = headerLength;
    const outputs: Record<string, TensorLike> = {};
    for (const o of head.outputs) {
      const size = o.parameters?.binary_data_size;
      if (size !== undefined) {
        outputs[o.name] = fromBytes(TYPE_OF[o.datatype]!, o.shape, buf.subarray(at, at + size));
        at += size;
      } else outputs[o.name] = fromJson(TYPE_OF[o.datatype]!, o.shape, o.data!);
    }
    return { ok: true, outputs };
  }
  const header = Buffer.from(JSON.stringify({ inputs: inputs.map((i) => ({ ...i, parameters: { binary_data_size: bytes(request[i.name]!).byteLength } })), parameters: { binary_data_output: true } }));
  const res = await fetch(url, {
    method: 'POST',
    body: Buffer.concat([header, ...Object.values(request).map(bytes)]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
  });
  const buf = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) return { ok: false, error: `HTTP ${res.status} ${buf.toString().slice(0, 400)}` };
  const headerLength = Number(res.headers.get('inference-header-content-length'));
  const head = JSON.parse(buf.subarray(0, headerLength).toString()) as { outputs: { name: string; datatype: string; shape: number[]; parameters: { binary_data_size: number } }[] };
  let at = headerLength;
  const outputs: Record<string, TensorLike> = {};
  for (const o of head.outputs) {
    outputs[o.name] = fromBytes(TYPE_OF[o.datatype]!, o.shape, buf.subarray(at, at + o.parameters.binary_data_size));
    at += o.parameters.binary_data_size;
  }
  return { ok: true, outputs };
}

const models = SEEDS.map(randomModel);
const refs = new Map<number, Reference>();

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'epara-fuzz-'));
  for (const m of models) {
    writeFileSync(join(dir, `m${m.seed}.onnx`), m.bytes);
    refs.set(m.seed, await reference(m.referenceBytes));
  }
  const services = models
    .map((m) => `  - { id: m${m.seed}, model: ${JSON.stringify(join(dir, `m${m.seed}.onnx`))}, sensitivity: latency, slo: { kind: latency, deadlineMs: 30000 }, devices: [cpu0] }`)
    .join('\n');
  serve = await startServe(`node: { id: fuzz-1, listen: { host: 127.0.0.1, port: 0 } }
security: { insecure: true }
devices: [ { id: cpu0, threads: 1 } ]
executor: { profiling: { warmup: 0, repetitions: 1 } }
services:
${services}
gateway: { http: { host: 127.0.0.1, port: 0 }, grpc: { host: 127.0.0.1, port: 0 } }
metrics: { enabled: false }
dashboard: { enabled: false }
log: { level: error }
`, 180_000);
  client = oipGrpcClient<GrpcCall>(serve.grpc);
}, 240_000);
afterAll(async () => {
  client?.close();
  serve?.child.kill('SIGTERM');
  await serve?.exited;
  for (const r of refs.values()) await r.release();
});

/** The reference's answer: the overridable initializer's default fed when the request leaves it out. */
async function expected(m: FuzzModel, request: NamedTensors): Promise<NamedTensors | Error> {
  const feeds: Record<string, TensorLike> = { ...request };
  if (m.optional && !(m.optional.name in feeds)) feeds[m.optional.name] = m.optional.value;
  try {
    return await refs.get(m.seed)!.run(feeds);
  } catch (err) {
    return err as Error;
  }
}

async function round(m: FuzzModel, roundSeed: number): Promise<string[]> {
  const r = createSeededRandom(roundSeed);
  const n = 3 + Math.floor(r.next() * 6);
  const seqs = [1 + Math.floor(r.next() * 3), 1 + Math.floor(r.next() * 3)];
  const plans = Array.from({ length: n }, () => ({
    rows: 1 + Math.floor(r.next() * 4),
    seq: seqs[r.next() < 0.7 ? 0 : 1]!,
    override: r.next() < 0.5,
    how: (['json', 'binary', 'grpc'] as const)[Math.floor(r.next() * 3)]!,
  }));
  const requests = plans.map((p) => m.request(r, p.rows, p.seq, p.override));
  const answers: (NamedTensors | Error)[] = [];
  for (const q of requests) answers.push(await expected(m, q));
  const outcomes = await Promise.all(requests.map((q, i) => infer(m, q, plans[i]!.how)));
  const found: string[] = [];
  outcomes.forEach((o, i) => {
    const p = plans[i]!;
    const want = answers[i]!;
    const where = `seed ${m.seed} round ${roundSeed} request ${i} (${p.how}, rows ${p.rows}, seq ${p.seq}${p.override ? ', override' : ''})`;
    if (!o.ok) {
      if (!(want instanceof Error)) found.push(`${where}: ${o.error}; onnxruntime answers it`);
      return;
    }
    if (want instanceof Error) found.push(`${where}: answered, but onnxruntime refuses it alone: ${want.message}`);
    else {
      const diff = firstDifference(o.outputs, want);
      if (diff !== undefined) found.push(`${where}: ${diff}`);
    }
  });
  return found;
}

describe(`random models ${FIRST}..${FIRST + COUNT - 1} served by epara serve: every answer is raw onnxruntime-node's`, () => {
  it('concurrent requests of 1-4 rows over HTTP JSON, HTTP binary and gRPC', async () => {
    const found: string[] = [];
    for (const m of models) {
      const mine: string[] = [];
      for (let k = 0; k < 2; k++) mine.push(...(await round(m, m.seed * 100 + k)));
      if (mine.length > 0) found.push(`model ${m.seed}: ${m.description}`, ...mine);
    }
    expect(found).toEqual([]);
  }, 240_000);
});
