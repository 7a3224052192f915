import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import type { Client, ServiceError } from '@grpc/grpc-js';
import type { NamedTensors, TensorLike, TensorType } from '@epara/core';
import { floatToHalf, halfToFloat } from '@epara/core/internal';
import { firstDifference } from '../fixtures/differential-models.js';
import { servedOipGrpc } from './oip-grpc-client.js';
import { modelFilesConfig, type ServeProcess } from './serve-process.js';

/*
 * Tensors sent to `epara serve` and read back as outside clients do: HTTP with JSON tensors, HTTP with binary
 * tensors (Triton's extension), gRPC with raw_input_contents. For the differential tests, which compare the
 * answers with raw onnxruntime-node's.
 */

export const DATATYPE: Partial<Record<TensorType, string>> = { float32: 'FP32', float64: 'FP64', int32: 'INT32', int64: 'INT64', uint8: 'UINT8', bool: 'BOOL', float16: 'FP16' };
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

/** How a request is sent. */
export type Transport = 'json' | 'binary' | 'grpc';
/** A request's answer, or the error status and body it got. */
export type Outcome = { ok: true; outputs: NamedTensors } | { ok: false; error: string };
/**
 * Each served outcome against raw onnxruntime-node's answer to its request alone (or its refusal): one line per
 * request that differs, named by `where(i)`. A refusal of a request onnxruntime answers is a difference unless
 * `excused(i, error)` allows it; an answer where onnxruntime refuses is one too.
 */
export function servedDifferences(outcomes: readonly Outcome[], answers: readonly (NamedTensors | Error)[], where: (i: number) => string, excused: (i: number, error: string) => boolean): string[] {
  const found: string[] = [];
  outcomes.forEach((o, i) => {
    const want = answers[i]!;
    if (!o.ok) {
      if (!(want instanceof Error) && !excused(i, o.error)) found.push(`${where(i)}: ${o.error}; onnxruntime answers it`);
    } else if (want instanceof Error) found.push(`${where(i)}: answered, but onnxruntime refuses it alone: ${want.message}`);
    else {
      const diff = firstDifference(o.outputs, want);
      if (diff !== undefined) found.push(`${where(i)}: ${diff}`);
    }
  });
  return found;
}

/** The grpc-js client's ModelInfer, as `oipGrpcClient` builds it. */
export type GrpcCall = (req: object, meta: Metadata, opts: object, cb: (err: ServiceError | null, res: Record<string, unknown>) => void) => void;
/** Where a server listens, and a gRPC client of it. */
export interface Served {
  readonly http: string;
  readonly client: Client & Record<string, GrpcCall>;
}

/**
 * One request to `model` through one transport; `outputs` (the model's, in order) are all asked for, int64 ones in
 * binary over JSON (JSON.parse rounds past 2^53). `deadlineMs` is sent as the request's `epara_deadline_ms`.
 */
export async function inferOver(server: Served, model: string, wanted: readonly { readonly name: string; readonly type: TensorType }[], request: NamedTensors, how: Transport, deadlineMs?: number): Promise<Outcome> {
  const { client } = server;
  const deadline = deadlineMs === undefined ? {} : { epara_deadline_ms: deadlineMs };
  const inputs = Object.entries(request).map(([name, t]) => ({ name, datatype: DATATYPE[t.type]!, shape: [...t.dims] }));
  if (how === 'grpc') {
    const res = await new Promise<Record<string, unknown> | ServiceError>((resolve) =>
      client['ModelInfer']!({ model_name: model, inputs, raw_input_contents: Object.values(request).map(bytes), ...(deadlineMs === undefined ? {} : { parameters: { epara_deadline_ms: { int64_param: deadlineMs } } }) }, new Metadata(), { deadline: Date.now() + 60_000 }, (err, r) => resolve(err ?? r)),
    );
    if (res instanceof Error) return { ok: false, error: `gRPC ${res.code} ${res.details}` };
    const outs = res['outputs'] as { name: string; datatype: string; shape: (number | string)[] }[];
    const raw = res['raw_output_contents'] as Buffer[];
    return { ok: true, outputs: Object.fromEntries(outs.map((o, i) => [o.name, fromBytes(TYPE_OF[o.datatype]!, o.shape.map(Number), raw[i]!)])) };
  }
  const url = `${server.http}/v2/models/${model}/infer`;
  if (how === 'json') {
    const body = { parameters: deadline, inputs: inputs.map((i) => ({ ...i, data: jsonData(request[i.name]!) })), outputs: wanted.map((o) => ({ name: o.name, parameters: { binary_data: o.type === 'int64' } })) };
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
  const header = Buffer.from(JSON.stringify({ inputs: inputs.map((i) => ({ ...i, parameters: { binary_data_size: bytes(request[i.name]!).byteLength } })), parameters: { binary_data_output: true, ...deadline } }));
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


/** An `epara serve` process serving models from their files alone, and a gRPC client of it, for one test file. */
export interface ServedModels extends Served {
  readonly serve: ServeProcess;
}

/**
 * Before the file's tests: writes each model to a file and starts `epara serve` on them (one CPU device, each model
 * a latency service with a long SLO, nothing declared but the file) and a grpc-js client; after them, stops both.
 * Read the fields inside tests.
 */
export function serveModelFiles(models: () => Readonly<Record<string, Uint8Array>>): ServedModels {
  const served = servedOipGrpc<GrpcCall>(() => {
    const dir = mkdtempSync(join(tmpdir(), 'epara-models-'));
    const files = Object.fromEntries(
      Object.entries(models()).map(([id, bytes]) => {
        writeFileSync(join(dir, `${id}.onnx`), bytes);
        return [id, join(dir, `${id}.onnx`)];
      }),
    );
    return modelFilesConfig('models-1', files, 'log: { level: error }\n');
  }, 180_000);
  return {
    get serve() {
      return served.serve;
    },
    get http() {
      return served.serve.http;
    },
    get client() {
      return served.client;
    },
  };
}
