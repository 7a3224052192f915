import { connect } from 'node:http2';
import type { ClientHttp2Session, IncomingHttpHeaders } from 'node:http2';
import { gzipSync } from 'node:zlib';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { ServiceError } from '@grpc/grpc-js';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGateway } from '../gateway.js';
import type { Gateway } from '../gateway.js';
import { MAX_GRPC_MESSAGE_LENGTH, encodeGrpcMessage, parseGrpcTimeout } from './grpc-http2-wire.js';
import { PROTO_LOADER_OPTIONS } from './grpc-methods.js';
import { oipProtoPath } from './proto-path.js';
import { grpcFrame, rawModelInfer } from './raw-grpc-fixture.js';

/*
 * The HTTP/2 gRPC server against the protocol details standard clients rely on: a grpc-js client (the
 * reference implementation's Node client) and a raw node:http2 session for what grpc-js would never send.
 */

let gateway: Gateway;
let node: MeshNode;
let address: string;
let client: Client;
let session: ClientHttp2Session;

beforeAll(async () => {
  const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 1 }, slow: { serviceTimeMs: 3000 } }, hosted: ['echo', 'slow'] });
  // `slow` takes 3 s against a 10 s SLO, so the node accepts it and only an abort ends it early.
  const slowService = { id: 'slow', sensitivity: 'latency' as const, slo: { kind: 'latency' as const, deadlineMs: 10_000 }, memory: { weightsBytes: 0, perItemBytes: 0 }, profiles: {} };
  node = createNode({ id: 'n1', transport: createMemoryTransport({ hub: createMemoryHub() }), executor, security: { insecure: true }, placement: false, syncPeriodMs: 20, services: [slowService] });
  await node.start();
  const models = ['echo', 'slow'].map((name) => ({ name, inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] }));
  gateway = createGateway({ node, models, http: false, grpc: { port: 0 }, maxBodyBytes: 4096 });
  address = (await gateway.start()).grpc!;
  client = new Client(address, credentials.createInsecure());
  session = connect(`http://${address}`);
});
afterAll(async () => {
  client.close();
  session.close();
  await gateway.close();
  await node.close();
});

/** `ModelInferRequest` for a model with one FP32 [1,2] input `x` in `raw_input_contents` (hand-encoded). */
function inferRequest(model: string, values = [1, 2]): Buffer {
  // Short fields only (every length below 128, one varint byte).
  const input = Buffer.from([0x0a, 1, 0x78, 0x12, 4, ...Buffer.from('FP32'), 0x1a, 2, 1, values.length]);
  const raw = Buffer.from(new Float32Array(values).buffer);
  const name = Buffer.from(model);
  return Buffer.concat([Buffer.from([0x0a, name.length, ...name, 0x2a, input.length]), input, Buffer.from([0x3a, raw.length]), raw]);
}


type Unary = { err: ServiceError | null; res: Buffer | undefined; headers: Metadata | undefined };
function grpcJs(method: string, body: Buffer, options: { deadlineMs?: number; metadata?: Metadata; onCall?: (call: { cancel(): void }) => void; via?: Client } = {}): Promise<Unary> {
  return new Promise((resolve) => {
    let headers: Metadata | undefined;
    const call = (options.via ?? client).makeUnaryRequest(`/inference.GRPCInferenceService/${method}`, (b: Buffer) => b, (b: Buffer) => b, body, options.metadata ?? new Metadata(), options.deadlineMs ? { deadline: Date.now() + options.deadlineMs } : {}, (err, res) => resolve({ err, res, headers }));
    call.on('metadata', (m: Metadata) => (headers = m));
    options.onCall?.(call);
  });
}


describe('gRPC on node:http2', () => {
  it('answers a unary call with HEADERS, one message and grpc-status 0 in the trailers', async () => {
    const r = await rawModelInfer(session, grpcFrame(inferRequest('echo')));
    expect(r.headers[':status']).toBe(200);
    expect(r.headers['content-type']).toBe('application/grpc');
    expect(r.headers['x-request-id']).toEqual(expect.any(String));
    expect(r.trailers['grpc-status']).toBe('0');
    expect(r.data[0]).toBe(0);
    expect(r.data.readUInt32BE(1)).toBe(r.data.length - 5);
  });

  it('sends initial metadata (x-request-id) and accepts metadata from a grpc-js client', async () => {
    const md = new Metadata();
    md.set('x-request-id', 'req-7');
    const r = await grpcJs('ModelInfer', inferRequest('echo'), { metadata: md });
    expect(r.err).toBeNull();
    expect(r.headers?.get('x-request-id')).toEqual(['req-7']);
  });

  it('reads grpc-timeout as the deadline: a call outliving it ends DEADLINE_EXCEEDED (or is refused as infeasible) and leaves nothing in flight', async () => {
    expect(parseGrpcTimeout('100m')).toBe(100);
    expect(parseGrpcTimeout('2S')).toBe(2000);
    expect(parseGrpcTimeout('123456789n')).toBeNaN();
    const r = await rawModelInfer(session, grpcFrame(inferRequest('slow')), { 'grpc-timeout': '150m' });
    expect(['4', '8']).toContain(r.status);
    const viaClient = await grpcJs('ModelInfer', inferRequest('slow'), { deadlineMs: 150 });
    expect([status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED]).toContain(viaClient.err?.code);
    await vi.waitFor(() => expect(gateway.inFlight).toBe(0), { timeout: 1000 });
    expect((await rawModelInfer(session, grpcFrame(inferRequest('echo')), { 'grpc-timeout': '99999999H' })).status).toBe('0'); // past a timer's range
    const bad = await rawModelInfer(session, grpcFrame(inferRequest('echo')), { 'grpc-timeout': 'soon' });
    expect(bad.status).toBe(String(status.OUT_OF_RANGE));
  });

  it('aborts the request when the client cancels the call (RST_STREAM)', async () => {
    // The fake executor honours an abort while a request is queued: the first call runs (3 s), the second waits.
    const first = grpcJs('ModelInfer', inferRequest('slow'), { onCall: (c) => setTimeout(() => c.cancel(), 3500).unref() });
    let cancel: (() => void) | undefined;
    const second = grpcJs('ModelInfer', inferRequest('slow'), { onCall: (c) => (cancel = () => c.cancel()) });
    await vi.waitFor(() => expect(gateway.inFlight).toBe(2), { timeout: 1000 });
    cancel!();
    expect((await second).err?.code).toBe(status.CANCELLED);
    // The node's submit saw the abort and dropped the queued request, long before the first one's 3 s ended.
    await vi.waitFor(() => expect(gateway.inFlight).toBe(1), { timeout: 1000 });
    void first;
  });

  it('inflates gzip request messages and refuses compressed ones it cannot read', async () => {
    const gz = new Client(address, credentials.createInsecure(), { 'grpc.default_compression_algorithm': 2 });
    try {
      expect((await grpcJs('ModelInfer', inferRequest('echo'), { via: gz })).err).toBeNull();
    } finally {
      gz.close();
    }
    expect((await rawModelInfer(session, grpcFrame(gzipSync(inferRequest('echo')), 1), { 'grpc-encoding': 'gzip' })).status).toBe('0');
    const noEncoding = await rawModelInfer(session, grpcFrame(inferRequest('echo'), 1));
    expect(noEncoding.status).toBe(String(status.INTERNAL));
    const unknown = await rawModelInfer(session, grpcFrame(inferRequest('echo'), 1), { 'grpc-encoding': 'snappy' });
    expect(unknown.status).toBe(String(status.UNIMPLEMENTED));
    expect(unknown.headers['grpc-accept-encoding']).toBe('identity,deflate,gzip');
    const bomb = await rawModelInfer(session, grpcFrame(gzipSync(Buffer.alloc(100_000)), 1), { 'grpc-encoding': 'gzip' });
    expect(bomb.status).toBe(String(status.RESOURCE_EXHAUSTED));
    // Typed like every other refusal (they had no epara-code).
    expect([noEncoding, unknown, bomb].map((r) => r.headers['epara-code'])).toEqual(['INVALID_INPUT', 'INVALID_INPUT', 'INVALID_INPUT']);
  });

  it('refuses a message over the limit with RESOURCE_EXHAUSTED, and keeps serving', async () => {
    const big = await grpcJs('ModelInfer', Buffer.alloc(5000));
    expect(big.err?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(big.err?.details).toMatch(/larger than the limit of 4096 bytes/);
    expect(big.err?.metadata.get('epara-code')).toEqual(['INVALID_INPUT']);
    expect((await grpcJs('ModelInfer', inferRequest('echo'))).err).toBeNull();
  });

  it('answers malformed, truncated, missing or repeated messages with a status, never a crash', async () => {
    const malformed = await rawModelInfer(session, grpcFrame(Buffer.from([0x2a, 0x7f, 0x01])));
    expect(malformed.status).toBe(String(status.INVALID_ARGUMENT));
    expect(malformed.headers['epara-code']).toBe('INVALID_INPUT');
    expect(decodeURIComponent(malformed.headers['grpc-message'] as string)).toMatch(/malformed: a field claims 127 bytes/);
    expect((await rawModelInfer(session, grpcFrame(inferRequest('echo')).subarray(0, 12))).status).toBe(String(status.INTERNAL));
    expect((await rawModelInfer(session, Buffer.alloc(0))).status).toBe(String(status.UNIMPLEMENTED));
    const two = grpcFrame(inferRequest('echo'));
    expect((await rawModelInfer(session, Buffer.concat([two, two]))).status).toBe(String(status.UNIMPLEMENTED));
    expect((await rawModelInfer(session, Buffer.from([2, 0, 0, 0, 0]))).status).toBe(String(status.INTERNAL));
  });

  it('sends error details percent-encoded and EPARA metadata in the trailers; unknown methods are UNIMPLEMENTED', async () => {
    const name = 'modèl 100%';
    const r = await grpcJs('ModelInfer', inferRequest(name));
    expect(r.err?.code).toBe(status.NOT_FOUND);
    expect(r.err?.details).toBe(`unknown model ${JSON.stringify(name)}`);
    expect(r.err?.metadata.get('epara-code')).toEqual(['UNKNOWN_SERVICE']);
    expect(encodeGrpcMessage('a%é')).toBe('a%25%C3%A9');
    // Bounded, cut at a character (never inside a percent-encoded one): a client's metadata limit is not outgrown.
    expect(encodeGrpcMessage('x'.repeat(MAX_GRPC_MESSAGE_LENGTH))).toBe('x'.repeat(MAX_GRPC_MESSAGE_LENGTH));
    expect(encodeGrpcMessage('x'.repeat(MAX_GRPC_MESSAGE_LENGTH + 1))).toBe(`${'x'.repeat(MAX_GRPC_MESSAGE_LENGTH - 3)}...`);
    const cut = encodeGrpcMessage('é'.repeat(10_000));
    expect(cut.length).toBeLessThanOrEqual(MAX_GRPC_MESSAGE_LENGTH);
    expect(decodeURIComponent(cut.slice(0, -3))).toBe('é'.repeat((cut.length - 3) / 6));
    const none = await grpcJs('Nope', Buffer.alloc(0));
    expect(none.err?.code).toBe(status.UNIMPLEMENTED);
  });

  it("answers Triton's RPCs it does not serve UNIMPLEMENTED naming the extension, as the HTTP routes' 501 does", async () => {
    for (const [method, extension] of [
      ['SystemSharedMemoryStatus', /system shared memory extension.*send tensors in the request/],
      ['SystemSharedMemoryRegister', /system shared memory extension/],
      ['CudaSharedMemoryRegister', /CUDA shared memory extension/],
      ['CudaSharedMemoryUnregister', /CUDA shared memory extension/],
      ['TraceSetting', /trace extension.*traceparent/],
      ['LogSettings', /logging extension/],
    ] as const) {
      const r = await grpcJs(method, Buffer.alloc(0));
      expect(r.err?.code).toBe(status.UNIMPLEMENTED);
      expect(r.err?.details).toMatch(/is not supported by this server/);
      expect(r.err?.details).toMatch(extension);
    }
  });

  it('answers non-gRPC requests with an HTTP status (415, 405)', async () => {
    const status415 = await rawModelInfer(session, grpcFrame(inferRequest('echo')), { 'content-type': 'application/json' });
    expect(status415.headers[':status']).toBe(415);
    // gRPC-Web carries its status in the body, and +json another message encoding: neither is served as gRPC.
    for (const type of ['application/grpc-web', 'application/grpc-web-text', 'application/grpc-web+proto', 'application/grpc+json', 'application/grpcx']) {
      expect([type, (await rawModelInfer(session, grpcFrame(inferRequest('echo')), { 'content-type': type })).headers[':status']]).toEqual([type, 415]);
    }
    for (const type of ['application/grpc+proto', 'application/grpc; charset=utf-8', 'APPLICATION/GRPC']) {
      expect([type, (await rawModelInfer(session, grpcFrame(inferRequest('echo')), { 'content-type': type })).status]).toEqual([type, '0']);
    }
    const get = await new Promise<IncomingHttpHeaders>((resolve) => session.request({ ':path': '/' }).on('response', resolve).resume().end());
    expect(get[':status']).toBe(405);
  });
});

describe('gRPC server reflection, what a reflection client would never send', () => {
  const reflect = { ':path': '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo' };

  it('ends the stream with a status on a malformed, compressed or oversized request, and answers a good one before it', async () => {
    // list_services (field 7) as the first request, then a broken one on the same stream.
    const list = grpcFrame(Buffer.from([0x3a, 1, 0x2a]));
    const malformed = await rawModelInfer(session, Buffer.concat([list, grpcFrame(Buffer.from([0x22, 0x7f, 0x01]))]), reflect);
    expect(malformed.status).toBe(String(status.INVALID_ARGUMENT));
    expect(malformed.data.length).toBeGreaterThan(5); // the list_services answer came first
    expect((await rawModelInfer(session, grpcFrame(Buffer.from([0x3a, 1, 0x2a]), 1), reflect)).status).toBe(String(status.UNIMPLEMENTED));
    const big = Buffer.alloc(5);
    big.writeUInt32BE(5000, 1);
    expect((await rawModelInfer(session, big, reflect)).status).toBe(String(status.RESOURCE_EXHAUSTED));
  });

  it('ends a stream on which no request arrives within requestTimeoutMs', async () => {
    const quick = createGateway({ node, models: [], http: false, grpc: { port: 0 }, requestTimeoutMs: 50 });
    const s = connect(`http://${(await quick.start()).grpc!}`);
    try {
      const req = s.request({ ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers', ...reflect });
      req.resume();
      const trailers = await new Promise<IncomingHttpHeaders>((resolve) => req.on('trailers', resolve));
      expect(trailers['grpc-status']).toBe(String(status.DEADLINE_EXCEEDED));
    } finally {
      s.close();
      await quick.close();
    }
  });
});

describe('gRPC on node:http2, large messages', () => {
  it('takes and answers a 12 MB tensor (many flow-control windows each way)', async () => {
    const executor = createFakeExecutor({ services: { wide: { serviceTimeMs: 1 } }, hosted: ['wide'] });
    const wideNode = createNode({ id: 'n2', transport: createMemoryTransport({ hub: createMemoryHub() }), executor, security: { insecure: true }, placement: false, syncPeriodMs: 20 });
    await wideNode.start();
    const wide = createGateway({ node: wideNode, models: [{ name: 'wide', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, -1] }], outputs: [] }], http: false, grpc: { port: 0 }, maxBodyBytes: 32 * 2 ** 20 });
    const c = new Client((await wide.start()).grpc!, credentials.createInsecure(), { 'grpc.max_receive_message_length': -1 });
    try {
      const n = 3 * 2 ** 20;
      const serialize = loadSync(oipProtoPath(), PROTO_LOADER_OPTIONS)['inference.GRPCInferenceService'] as unknown as { ModelInfer: { requestSerialize: (v: object) => Buffer; responseDeserialize: (b: Buffer) => { raw_output_contents: Buffer[] } } };
      const x = new Float32Array(n).fill(0.5);
      const body = serialize.ModelInfer.requestSerialize({ model_name: 'wide', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, n] }], raw_input_contents: [Buffer.from(x.buffer)] });
      const r = await grpcJs('ModelInfer', body, { via: c });
      expect(r.err).toBeNull();
      const out = serialize.ModelInfer.responseDeserialize(r.res!).raw_output_contents[0]!;
      expect(out.byteLength).toBe(4 * n);
    } finally {
      c.close();
      await wide.close();
      await wideNode.close();
    }
  }, 60_000);
});
