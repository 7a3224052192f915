import { connect } from 'node:http2';
import type { ClientHttp2Session } from 'node:http2';
import { deflateSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import { credentials, loadPackageDefinition, Metadata } from '@grpc/grpc-js';
import type { Client, ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../gateway.js';
import type { Gateway } from '../gateway.js';
import { answerEncodingOf } from './answer-compression.js';
import { PROTO_LOADER_OPTIONS } from './grpc-methods.js';
import { oipProtoPath } from './proto-path.js';
import { grpcFrame, rawModelInfer } from './raw-grpc-fixture.js';

/*
 * A client that compresses its requests (a grpc-js channel's `grpc.default_compression_algorithm`, grpcio's
 * `compression=`, tritonclient's `compression_algorithm`) gets compressed answers in the same encoding, as grpc-go
 * answers them. Before, every answer went uncompressed whatever the client asked: a large output tensor crossed the
 * network at full size for a client that had turned compression on.
 */

let gateway: Gateway;
let node: MeshNode;
let address: string;
let session: ClientHttp2Session;

/** Rows of the model's FP32 input: the answer carries them back scaled, about 8 KB of very compressible floats. */
const ROWS = 1024;

beforeAll(async () => {
  const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } }, hosted: ['echo'] });
  node = createNode({ id: 'n1', transport: createMemoryTransport({ hub: createMemoryHub() }), executor, security: { insecure: true }, placement: false });
  await node.start();
  const models = [{ name: 'echo', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], splitItems: false }];
  gateway = createGateway({ node, models, http: false, grpc: { host: '127.0.0.1', port: 0 } });
  address = (await gateway.start()).grpc!;
  session = connect(`http://${address}`);
});
afterAll(async () => {
  session.close();
  await gateway.close();
  await node.close();
});

type InferCall = (req: object, meta: Metadata, opts: object, cb: (err: ServiceError | null, res: Record<string, unknown>) => void) => void;
type StreamCall = () => ClientDuplexStream<object, Record<string, unknown>>;

function oipClient(options: Record<string, unknown> = {}): Client & Record<string, InferCall & StreamCall> {
  const pkg = loadPackageDefinition(loadSync(oipProtoPath(), PROTO_LOADER_OPTIONS)) as unknown as {
    inference: { GRPCInferenceService: new (a: string, c: ReturnType<typeof credentials.createInsecure>, o: object) => Client & Record<string, InferCall & StreamCall> };
  };
  return new pkg.inference.GRPCInferenceService(address, credentials.createInsecure(), options);
}

const request = (id: string): object => ({ model_name: 'echo', id, inputs: [{ name: 'x', datatype: 'FP32', shape: [ROWS, 2] }], raw_input_contents: [Buffer.from(new Float32Array(ROWS * 2).fill(1.5).buffer)] });

function expectDoubled(res: Record<string, unknown>): void {
  const raw = (res['raw_output_contents'] as Buffer[])[0]!;
  const values = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  expect(values.length).toBe(ROWS * 2);
  expect(values.every((v) => v === 3)).toBe(true);
}

/** A `ModelInferRequest` as grpc-js would serialize {@link request}, for the raw session. */
function requestBytes(id: string): Buffer {
  const pkg = loadPackageDefinition(loadSync(oipProtoPath(), PROTO_LOADER_OPTIONS)) as unknown as { inference: { GRPCInferenceService: { service: Record<string, { requestSerialize: (v: object) => Buffer }> } } };
  return pkg.inference.GRPCInferenceService.service['ModelInfer']!.requestSerialize(request(id));
}



describe('the answer encoding', () => {
  it("is the request's, when the client takes it", () => {
    expect(answerEncodingOf({ 'grpc-encoding': 'gzip', 'grpc-accept-encoding': 'identity,deflate,gzip' })).toBe('gzip');
    expect(answerEncodingOf({ 'grpc-encoding': 'deflate', 'grpc-accept-encoding': 'identity, deflate' })).toBe('deflate');
    expect(answerEncodingOf({ 'grpc-encoding': 'gzip' })).toBe('gzip');
    expect(answerEncodingOf({ 'grpc-encoding': 'gzip', 'grpc-accept-encoding': 'identity' })).toBeUndefined();
    expect(answerEncodingOf({ 'grpc-accept-encoding': 'identity,deflate,gzip' })).toBeUndefined();
    expect(answerEncodingOf({ 'grpc-encoding': 'identity', 'grpc-accept-encoding': 'gzip' })).toBeUndefined();
    expect(answerEncodingOf({ 'grpc-encoding': 'snappy', 'grpc-accept-encoding': 'snappy' })).toBeUndefined();
  });
});

describe('gRPC answers', () => {
  it('are gzip-compressed for a request sent gzip-compressed, flagged and named in grpc-encoding', async () => {
    const a = await rawModelInfer(session, grpcFrame(gzipSync(requestBytes('z')), 1), { 'grpc-encoding': 'gzip', 'grpc-accept-encoding': 'identity,deflate,gzip' });
    expect(a.trailers['grpc-status']).toBe('0');
    expect(a.headers['grpc-encoding']).toBe('gzip');
    expect(a.data[0]).toBe(1);
    const length = a.data.readUInt32BE(1);
    expect(a.data.length).toBe(5 + length);
    expect(length).toBeLessThan(ROWS * 8 / 4); // the doubled floats shrink well
    expect(gunzipSync(a.data.subarray(5)).length).toBeGreaterThan(ROWS * 8);
  });

  it('are deflate-compressed for a deflate request, and not compressed for an uncompressed one', async () => {
    const d = await rawModelInfer(session, grpcFrame(deflateSync(requestBytes('d')), 1), { 'grpc-encoding': 'deflate', 'grpc-accept-encoding': 'identity,deflate,gzip' });
    expect(d.trailers['grpc-status']).toBe('0');
    expect([d.headers['grpc-encoding'], d.data[0]]).toEqual(['deflate', 1]);
    expect(inflateSync(d.data.subarray(5)).length).toBeGreaterThan(ROWS * 8);
    const plain = await rawModelInfer(session, grpcFrame(requestBytes('p'), 0), { 'grpc-accept-encoding': 'identity,deflate,gzip' });
    expect(plain.trailers['grpc-status']).toBe('0');
    expect([plain.headers['grpc-encoding'], plain.data[0]]).toEqual([undefined, 0]);
  });

  it('are not compressed for a client that does not take the encoding', async () => {
    const a = await rawModelInfer(session, grpcFrame(gzipSync(requestBytes('n')), 1), { 'grpc-encoding': 'gzip', 'grpc-accept-encoding': 'identity' });
    expect(a.trailers['grpc-status']).toBe('0');
    expect([a.headers['grpc-encoding'], a.data[0]]).toEqual([undefined, 0]);
  });

  it('reach a grpc-js client with gzip turned on, unary and on ModelStreamInfer', async () => {
    const client = oipClient({ 'grpc.default_compression_algorithm': 2 /* gzip */ });
    try {
      const res = await new Promise<Record<string, unknown>>((resolve, reject) => client['ModelInfer']!(request('u'), new Metadata(), {}, (err, r) => (err ? reject(err) : resolve(r))));
      expect(res['id']).toBe('u');
      expectDoubled(res);
      const stream = client['ModelStreamInfer']!();
      const answers: Record<string, unknown>[] = [];
      const ended = new Promise<void>((resolve, reject) => {
        stream.on('data', (m: Record<string, unknown>) => answers.push(m));
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      stream.write(request('s1'));
      stream.write({ model_name: 'nope', id: 's2', inputs: [] });
      stream.write(request('s3'));
      stream.end();
      await ended;
      const byId = new Map(answers.map((a) => [(a['infer_response'] as { id: string }).id, a]));
      expect([...byId.keys()].sort()).toEqual(['s1', 's2', 's3']);
      expectDoubled(byId.get('s1')!['infer_response'] as Record<string, unknown>);
      expectDoubled(byId.get('s3')!['infer_response'] as Record<string, unknown>);
      expect(byId.get('s2')!['error_message']).toMatch(/UNKNOWN_SERVICE/);
    } finally {
      client.close();
    }
  });
});

