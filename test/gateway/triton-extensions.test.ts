import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Metadata } from '@grpc/grpc-js';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { createGraphBuilder, encodeModel } from '@epara/runtime';
import type { OnnxModel } from '@epara/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { models } from '../fixtures/models.js';
import { oipGrpcClient } from './oip-grpc-client.js';
import { clsInput, startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/*
 * Triton's extensions a tritonclient (or curl) uses on top of the protocol, against a real `epara serve`: the raw
 * binary request (`Inference-Header-Content-Length: 0`, the body is the one input's data), the classification
 * extension (`parameters.classification` on an output: its top values as "value:index" strings, over HTTP JSON,
 * HTTP binary and gRPC), and the extensions the server does not implement (shared memory, trace, logging, generate),
 * which are a 501 naming them, not a 404 a client reads as a wrong URL.
 */

const dir = mkdtempSync(join(tmpdir(), 'epara-triton-ext-'));

function writeModel(name: string, build: (g: ReturnType<typeof createGraphBuilder>) => void, types: Record<string, number> = {}): string {
  const g = createGraphBuilder({ name });
  build(g);
  const m: OnnxModel = g.toModel();
  const re = <V extends { name?: string; type?: { tensorType?: { elemType?: number } } }>(v: V): V =>
    types[v.name ?? ''] === undefined ? v : { ...v, type: { tensorType: { ...v.type!.tensorType!, elemType: types[v.name ?? '']! } } };
  const file = join(dir, `${name}.onnx`);
  writeFileSync(file, encodeModel({ ...m, graph: { ...m.graph!, input: m.graph!.input!.map(re), output: m.graph!.output!.map(re) } }));
  return file;
}

let serve: ServeProcess;
type Call = (req: object, meta: Metadata, opts: object, cb: (err: ServiceError | null, res: Record<string, unknown>) => void) => void;
let client: Client & Record<string, Call>;

beforeAll(async () => {
  // scores: a float output and the same values as int32, to rank either one and take the other as a tensor.
  const scores = writeModel('scores', (g) => {
    g.input('x', 'float32', ['b', 5]);
    g.node('Identity', ['x'], ['y']);
    g.node('Cast', ['x'], ['yi'], { to: 6 });
    g.output('y', 'float32', ['b', 5]);
    g.output('yi', 'int32', ['b', 5]);
  });
  // upper: one string per item, upper-cased (ONNX string tensors are elem type 8).
  const upper = writeModel('upper', (g) => {
    g.input('s', 'float32', ['b']);
    g.node('StringNormalizer', ['s'], ['u'], { case_change_action: 'UPPER', locale: 'C' });
    g.output('u', 'float32', ['b']);
  }, { s: 8, u: 8 });
  const service = (id: string, file: string, extra = ''): string => `  - { id: ${id}, model: ${JSON.stringify(file)}, sensitivity: latency, slo: { kind: latency, deadlineMs: 10000 }, devices: [cpu0]${extra} }`;
  serve = await startServe(`node: { id: triton-ext, listen: { host: 127.0.0.1, port: 0 } }
security: { insecure: true }
devices: [ { id: cpu0, threads: 1 } ]
executor: { profiling: { warmup: 0, repetitions: 1, warmShapesMs: 0 } }
services:
${service('cls', models.ocrCls, ', inputs: { x: { dims: [1, 3, 48, 192] } }, maxBatch: 8')}
${service('scores', scores)}
${service('upper', upper)}
gateway: { http: { host: 127.0.0.1, port: 0 }, grpc: { host: 127.0.0.1, port: 0 } }
metrics: { enabled: false }
dashboard: { enabled: false }
log: { level: error }
`);
  client = oipGrpcClient<Call>(serve.grpc);
}, 180_000);
afterAll(async () => {
  client?.close();
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Response> => fetch(`${serve.http}${path}`, { method: 'POST', body, headers });
const grpc = (req: object): Promise<Record<string, unknown>> =>
  new Promise((resolve, reject) => client['ModelInfer']!(req, new Metadata(), { deadline: Date.now() + 30_000 }, (err, res) => (err ? reject(err) : resolve(res))));

interface JsonOutput {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown[];
  parameters?: { binary_data_size?: number };
}

/** Splits a binary-extension answer into its JSON header and each binary output's bytes, by name. */
async function binaryAnswer(res: Response): Promise<{ json: { outputs: JsonOutput[] }; bytes: Record<string, Buffer> }> {
  const body = Buffer.from(await res.arrayBuffer());
  const n = Number(res.headers.get('inference-header-content-length'));
  const json = JSON.parse(body.toString('utf8', 0, n)) as { outputs: JsonOutput[] };
  const bytes: Record<string, Buffer> = {};
  let at = n;
  for (const o of json.outputs) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) continue;
    bytes[o.name] = body.subarray(at, at + size);
    at += size;
  }
  expect(at).toBe(body.length);
  return { json, bytes };
}

/** BYTES elements from their binary form (4-byte little-endian length, then the bytes). */
function strings(b: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at < b.length; ) {
    const n = b.readUInt32LE(at);
    out.push(b.toString('utf8', at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}

const floats = (b: Buffer): number[] => Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));

describe('raw binary request (Inference-Header-Content-Length: 0)', () => {
  it('takes the body as the only input, deduces its batch, and answers every output in binary form, as JSON answers', async () => {
    const two = new Float32Array([...clsInput(0.2), ...clsInput(0.9)]);
    const json = (await (await post('/v2/models/cls/infer', JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3, 48, 192], data: Array.from(two) }] }))).json()) as { outputs: JsonOutput[] };
    const res = await post('/v2/models/cls/infer', Buffer.from(two.buffer), { 'inference-header-content-length': '0', 'content-type': 'application/octet-stream' });
    expect(res.status).toBe(200);
    const { json: head, bytes } = await binaryAnswer(res);
    expect(head.outputs).toEqual([{ name: 'softmax_0.tmp_0', datatype: 'FP32', shape: [2, 2], parameters: { binary_data_size: 16 } }]);
    expect(floats(bytes['softmax_0.tmp_0']!)).toEqual(json.outputs[0]!.data);
  });

  it('reads a gzip body as its inflated bytes, and refuses a size the input does not divide, naming the header', async () => {
    const one = Buffer.from(clsInput(0.2).buffer);
    const gz = await post('/v2/models/cls/infer', gzipSync(one), { 'inference-header-content-length': '0', 'content-encoding': 'gzip' });
    expect(gz.status).toBe(200);
    expect((await binaryAnswer(gz)).json.outputs[0]!.shape).toEqual([1, 2]);
    const short = await post('/v2/models/cls/infer', one.subarray(0, one.length - 4), { 'inference-header-content-length': '0' });
    expect(short.status).toBe(400);
    expect(await short.json()).toEqual({ code: 'INVALID_INPUT', error: `a raw binary request of ${one.length - 4} bytes does not fill input x (FP32 [-1,3,48,192]): it takes a multiple of ${one.length} bytes` });
  });

  it('takes the body as the one element of a BYTES input', async () => {
    const res = await post('/v2/models/upper/infer', 'hello, raw world', { 'inference-header-content-length': '0' });
    expect(res.status).toBe(200);
    const { json, bytes } = await binaryAnswer(res);
    expect(json.outputs[0]).toMatchObject({ name: 'u', datatype: 'BYTES', shape: [1] });
    expect(strings(bytes['u']!)).toEqual(['HELLO, RAW WORLD']);
  });
});

describe("Triton's classification extension", () => {
  const x = { name: 'x', datatype: 'FP32', shape: [1, 5], data: [0.25, 0.75, -1, 0.75, 0.5] };

  it('answers the top classes of one output as BYTES "value:index" beside another output as its tensor, in JSON', async () => {
    const res = await post('/v2/models/scores/infer', JSON.stringify({ id: 'c1', inputs: [x], outputs: [{ name: 'y', parameters: { classification: 3 } }, { name: 'yi' }] }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { id: string; outputs: JsonOutput[] };
    expect(body.id).toBe('c1');
    expect(body.outputs).toEqual([
      { name: 'y', datatype: 'BYTES', shape: [3], data: ['0.750000:1', '0.750000:3', '0.500000:4'] },
      { name: 'yi', datatype: 'INT32', shape: [1, 5], data: [0, 0, -1, 0, 0] },
    ]);
  });

  it('ranks an integer output in digits, and answers classes in binary form when asked', async () => {
    const big = { ...x, data: [3, 7, -2, 7, 1] };
    const res = await post('/v2/models/scores/infer', JSON.stringify({ inputs: [big], outputs: [{ name: 'yi', parameters: { classification: 2, binary_data: true } }] }));
    expect(res.status).toBe(200);
    const { json, bytes } = await binaryAnswer(res);
    expect(json.outputs).toEqual([{ name: 'yi', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: 4 + 3 + 4 + 3 } }]);
    expect(strings(bytes['yi']!)).toEqual(['7:1', '7:3']);
  });

  it('answers the same classes over gRPC (an int64_param), in raw_output_contents', async () => {
    const res = await grpc({ model_name: 'scores', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 5] }], raw_input_contents: [Buffer.from(new Float32Array(x.data).buffer)], outputs: [{ name: 'y', parameters: { classification: { int64_param: 3 } } }] });
    expect(res['outputs']).toMatchObject([{ name: 'y', datatype: 'BYTES', shape: [3] }]);
    expect(strings((res['raw_output_contents'] as Buffer[])[0]!)).toEqual(['0.750000:1', '0.750000:3', '0.500000:4']);
  });

  it("names the classifier's class as the tensor's largest value, and refuses a class count that is not a positive integer", async () => {
    const input = { name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data: Array.from(clsInput(0.8)) };
    const tensor = (await (await post('/v2/models/cls/infer', JSON.stringify({ inputs: [input] }))).json()) as { outputs: JsonOutput[] };
    const p = tensor.outputs[0]!.data as number[];
    const top = (await (await post('/v2/models/cls/infer', JSON.stringify({ inputs: [input], outputs: [{ name: 'softmax_0.tmp_0', parameters: { classification: 1 } }] }))).json()) as { outputs: JsonOutput[] };
    const best = p[0]! >= p[1]! ? 0 : 1;
    expect(top.outputs[0]!.data).toEqual([`${p[best]!.toFixed(6)}:${best}`]);
    const zero = await post('/v2/models/cls/infer', JSON.stringify({ inputs: [input], outputs: [{ name: 'softmax_0.tmp_0', parameters: { classification: 0 } }] }));
    expect(zero.status).toBe(400);
    expect(((await zero.json()) as { error: string }).error).toMatch(/^outputs\[0\]\.parameters\.classification must be a positive integer/);
  });

  it('is listed among the extensions of GET /v2', async () => {
    expect(((await (await fetch(`${serve.http}/v2`)).json()) as { extensions: string[] }).extensions).toContain('classification');
  });
});

describe('extensions the server does not implement', () => {
  it('answers the shared memory, trace, logging and generate routes 501 naming the extension', async () => {
    const routes: [string, string, RegExp][] = [
      ['GET', '/v2/systemsharedmemory/status', /system shared memory extension is not supported/],
      ['POST', '/v2/systemsharedmemory/region/r0/register', /system shared memory extension is not supported/],
      ['POST', '/v2/cudasharedmemory/region/r0/unregister', /CUDA shared memory extension is not supported/],
      ['GET', '/v2/trace/setting', /trace extension is not supported/],
      ['POST', '/v2/models/cls/trace/setting', /trace extension is not supported/],
      ['GET', '/v2/logging', /logging extension is not supported/],
      ['POST', '/v2/models/cls/generate', /generate extension is not supported/],
      ['POST', '/v2/models/cls/versions/1/generate_stream', /generate extension is not supported/],
    ];
    for (const [method, path, message] of routes) {
      const res = await fetch(`${serve.http}${path}`, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
      expect([path, res.status]).toEqual([path, 501]);
      expect(await res.json()).toEqual({ error: expect.stringMatching(message), code: 'NOT_IMPLEMENTED' });
    }
  });
});
