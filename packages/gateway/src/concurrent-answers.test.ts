import { Agent, request } from 'node:http';
import { credentials, loadPackageDefinition, Metadata } from '@grpc/grpc-js';
import type { Client, ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from './gateway.js';
import type { Gateway } from './gateway.js';
import { PROTO_LOADER_OPTIONS } from './grpc/grpc-methods.js';
import { oipProtoPath } from './grpc/proto-path.js';

/*
 * Many clients at once, over every transport (HTTP JSON and binary on shared keep-alive sockets, gRPC unary and
 * streams on one channel), each request carrying its own values and a batch of 1–4 rows that the gateway splits
 * into items and the executor batches with other requests' items: every answer must be exactly its own request's
 * (its id, its rows in order, doubled by the fake executor), never a row of another request.
 */

let node: MeshNode;
let gateway: Gateway;
let http: string;
let grpc: string;

beforeAll(async () => {
  const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 1, batchSize: 8, maxQueue: 4096, deadlineMs: 60_000 } }, hosted: ['echo'] });
  node = createNode({ id: 'n1', transport: createMemoryTransport({ hub: createMemoryHub() }), executor, security: { insecure: true }, placement: false });
  await node.start();
  const tensor = { name: 'x', datatype: 'FP32', shape: [-1, 3] };
  gateway = createGateway({ node, models: [{ name: 'echo', inputs: [tensor], outputs: [tensor] }], http: { host: '127.0.0.1', port: 0 }, grpc: { host: '127.0.0.1', port: 0 } });
  ({ http, grpc } = (await gateway.start()) as { http: string; grpc: string });
});
afterAll(async () => {
  await gateway?.close();
  await node?.close();
});

/** Request `k`'s rows: `1 + k % 4` rows of 3 values, all distinct across requests. */
function rowsOf(k: number): number[] {
  const n = 1 + (k % 4);
  return Array.from({ length: n * 3 }, (_, i) => k * 100 + i);
}

const agent = new Agent({ keepAlive: true, maxSockets: 4 });
afterAll(() => agent.destroy());

function post(path: string, body: Buffer, headers: Record<string, string | number>): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${http}${path}`, { method: 'POST', agent, headers: { 'content-length': body.length, ...headers } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function httpJson(k: number): Promise<{ id: string; values: number[] }> {
  const data = rowsOf(k);
  const a = await post('/v2/models/echo/infer', Buffer.from(JSON.stringify({ id: `j${k}`, inputs: [{ name: 'x', datatype: 'FP32', shape: [data.length / 3, 3], data }] })), { 'content-type': 'application/json' });
  expect(a.status, a.body.toString()).toBe(200);
  const body = JSON.parse(a.body.toString()) as { id: string; outputs: { name: string; shape: number[]; data: number[] }[] };
  const x = body.outputs.find((o) => o.name === 'x')!;
  expect(x.shape).toEqual([data.length / 3, 3]);
  return { id: body.id, values: x.data };
}

async function httpBinary(k: number): Promise<{ id: string; values: number[] }> {
  const data = rowsOf(k);
  const header = Buffer.from(JSON.stringify({ id: `b${k}`, inputs: [{ name: 'x', datatype: 'FP32', shape: [data.length / 3, 3], parameters: { binary_data_size: data.length * 4 } }], outputs: [{ name: 'x', parameters: { binary_data: true } }] }));
  const a = await post('/v2/models/echo/infer', Buffer.concat([header, Buffer.from(new Float32Array(data).buffer)]), { 'inference-header-content-length': header.length, 'content-type': 'application/octet-stream' });
  expect(a.status, a.body.toString()).toBe(200);
  const length = Number(a.headers['inference-header-content-length']);
  const json = JSON.parse(a.body.subarray(0, length).toString()) as { id: string; outputs: { name: string; parameters: { binary_data_size: number } }[] };
  expect(json.outputs.map((o) => o.name)).toEqual(['x']);
  const bytes = a.body.subarray(length);
  expect(bytes.length).toBe(json.outputs[0]!.parameters.binary_data_size);
  return { id: json.id, values: [...new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))] };
}

type InferCall = (req: object, meta: Metadata, opts: object, cb: (err: ServiceError | null, res: GrpcAnswer) => void) => void;
type StreamCall = () => ClientDuplexStream<object, { error_message: string; infer_response: GrpcAnswer }>;
interface GrpcAnswer {
  id: string;
  outputs: { name: string; shape: number[] }[];
  raw_output_contents: Buffer[];
}
let client: Client & Record<string, InferCall & StreamCall>;
beforeAll(() => {
  const pkg = loadPackageDefinition(loadSync(oipProtoPath(), PROTO_LOADER_OPTIONS)) as unknown as { inference: { GRPCInferenceService: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => typeof client } };
  client = new pkg.inference.GRPCInferenceService(grpc, credentials.createInsecure());
});
afterAll(() => client?.close());

const grpcRequest = (id: string, k: number): object => {
  const data = rowsOf(k);
  return { model_name: 'echo', id, inputs: [{ name: 'x', datatype: 'FP32', shape: [data.length / 3, 3] }], raw_input_contents: [Buffer.from(new Float32Array(data).buffer)] };
};
const valuesOf = (a: GrpcAnswer): number[] => {
  const i = a.outputs.findIndex((o) => o.name === 'x');
  const raw = a.raw_output_contents[i]!;
  return [...new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))];
};

function grpcUnary(k: number): Promise<{ id: string; values: number[] }> {
  return new Promise((resolve, reject) => client['ModelInfer']!(grpcRequest(`u${k}`, k), new Metadata(), {}, (err, res) => (err ? reject(err) : resolve({ id: res.id, values: valuesOf(res) }))));
}

/** One stream carrying the requests `ks`, answered in completion order and matched back by id. */
function grpcStream(ks: number[]): Promise<{ id: string; values: number[] }[]> {
  const stream = client['ModelStreamInfer']!();
  const answers: { id: string; values: number[] }[] = [];
  const done = new Promise<typeof answers>((resolve, reject) => {
    stream.on('data', (m: { error_message: string; infer_response: GrpcAnswer }) => {
      if (m.error_message !== '') return reject(new Error(m.error_message));
      answers.push({ id: m.infer_response.id, values: valuesOf(m.infer_response) });
    });
    stream.on('end', () => resolve(answers));
    stream.on('error', reject);
  });
  for (const k of ks) stream.write(grpcRequest(`s${k}`, k));
  stream.end();
  return done;
}

describe('concurrent clients over every transport', () => {
  it('answer each request with its own rows, in order, under its own id', async () => {
    const N = 40;
    const ks = Array.from({ length: N }, (_, k) => k);
    const [json, binary, unary, streams] = await Promise.all([
      Promise.all(ks.map(httpJson)),
      Promise.all(ks.map((k) => httpBinary(k + N))),
      Promise.all(ks.map((k) => grpcUnary(k + 2 * N))),
      Promise.all([0, 1, 2, 3].map((s) => grpcStream(ks.filter((k) => k % 4 === s).map((k) => k + 3 * N)))),
    ]);
    const doubled = (k: number): number[] => rowsOf(k).map((v) => v * 2);
    json.forEach((a, k) => expect(a).toEqual({ id: `j${k}`, values: doubled(k) }));
    binary.forEach((a, k) => expect(a).toEqual({ id: `b${k + N}`, values: doubled(k + N) }));
    unary.forEach((a, k) => expect(a).toEqual({ id: `u${k + 2 * N}`, values: doubled(k + 2 * N) }));
    const streamed = streams.flat();
    expect(streamed).toHaveLength(N);
    for (const a of streamed) expect(a.values).toEqual(doubled(Number(a.id.slice(1))));
    expect(new Set(streamed.map((a) => a.id)).size).toBe(N);
  });
});
