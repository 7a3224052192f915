import { request } from 'node:http';
import { connect } from 'node:net';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../gateway.js';
import type { Gateway } from '../gateway.js';
import { matchInferPath } from './infer-route.js';

let gateway: Gateway;
let node: MeshNode;
let http: URL;
let grpcAddress: string;

beforeAll(async () => {
  const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } }, hosted: ['echo'] });
  node = createNode({ id: 'n1', transport: createMemoryTransport({ hub: createMemoryHub() }), executor, security: { insecure: true }, placement: false, syncPeriodMs: 20 });
  await node.start();
  gateway = createGateway({ node, models: [{ name: 'echo', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] }], http: { port: 0 }, grpc: { port: 0 }, maxBodyBytes: 4096 });
  const a = await gateway.start();
  http = new URL(a.http!);
  grpcAddress = a.grpc!;
});
afterAll(async () => {
  await gateway.close();
  await node.close();
});

/** Sends a body in pieces without Content-Length (chunked transfer encoding). */
function chunked(path: string, pieces: Buffer[], method = 'POST'): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: http.hostname, port: http.port, path, method, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString(), headers: res.headers }));
    });
    req.on('error', reject);
    for (const p of pieces) req.write(p);
    req.end();
  });
}

const body = JSON.stringify({ id: 'q', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] });

describe('infer route on node:http', () => {
  it('matches only infer URLs, decoding names and ignoring the query string', () => {
    expect(matchInferPath('/v2/models/a%2Fb/infer?x=1')).toEqual({ name: 'a/b', version: undefined });
    expect(matchInferPath('/v2/models/m/versions/2/infer')).toEqual({ name: 'm', version: '2' });
    expect(matchInferPath('/v2/models/m/infer/')).toEqual({ name: 'm', version: undefined }); // a trailing slash, as every route takes it
    expect(matchInferPath('/v2/models/m/infer//')).toBeUndefined();
    // A fragment (which clients should not send) is cut like the query, as the router cuts it for every other route.
    expect(matchInferPath('/v2/models/m/infer#x')).toEqual({ name: 'm', version: undefined });
    expect(matchInferPath('/v2/models/m/versions/2/infer?a=1#x')).toEqual({ name: 'm', version: '2' });
    expect(matchInferPath('/v2/models/m')).toBeUndefined();
    expect(matchInferPath('/v2/models/%E0%A4%A/infer')).toBeUndefined();
  });

  it('matches a target in absolute form (RFC 9112: a server must accept it), as a proxy forwards it', () => {
    expect(matchInferPath('http://10.0.0.1:8000/v2/models/m/versions/2/infer?x=1')).toEqual({ name: 'm', version: '2' });
    expect(matchInferPath('HTTP://host/v2/models/m/infer')).toEqual({ name: 'm', version: undefined });
    expect(matchInferPath('http://host/v2/models/m')).toBeUndefined();
    expect(matchInferPath('http://host')).toBeUndefined();
  });

  it('answers a chunked body read in pieces (model name %-encoded), with JSON content type and the id echoed', async () => {
    const b = Buffer.from(body);
    const res = await chunked('/v2/models/%65cho/infer', [b.subarray(0, 5), b.subarray(5, 40), b.subarray(40)]);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(res.body)).toMatchObject({ id: 'q', model_name: 'echo' });
  });

  it('refuses a chunked body growing past the limit with 413 and closes the connection', async () => {
    const res = await chunked('/v2/models/echo/infer', [Buffer.alloc(3000, 32), Buffer.alloc(3000, 32)]);
    expect(res.status).toBe(413);
    expect(res.headers['connection']).toBe('close');
    expect(JSON.parse(res.body).error).toMatch(/larger than the limit of 4096 bytes/);
  });

  it('answers a declared body over the limit 413 after reading it, so a client still sending gets the answer, not a reset', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await fetch(new URL('/v2/models/echo/infer', http), { method: 'POST', body: Buffer.alloc(2 * 1024 * 1024, 32), headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(413);
      expect(res.headers.get('connection')).not.toBe('close');
      expect(((await res.json()) as { error: string }).error).toMatch(/larger than the limit of 4096 bytes/);
    }
  });

  it('answers an unknown model 404 and an empty body 400, and another method than POST 405', async () => {
    const unknown = await fetch(new URL('/v2/models/nope/infer', http), { method: 'POST', body });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { code: string }).code).toBe('UNKNOWN_SERVICE');
    // The model (and version) is looked up before the body is read: a 404, whatever the body holds.
    for (const path of ['/v2/models/nope/infer', '/v2/models/echo/versions/9/infer']) {
      const res = await fetch(new URL(path, http), { method: 'POST', body: '{"not":"a request"' });
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { code: string }).code).toBe('UNKNOWN_SERVICE');
    }
    // …and before it arrives: a client that sent only its headers (a large upload starting) gets the 404 at once.
    for (const path of ['/v2/models/nope/infer', '/v2/models/echo/versions/9/infer']) {
      const socket = connect(Number(http.port), http.hostname);
      socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n`);
      const head = await new Promise<string>((resolve) => socket.once('data', (b: Buffer) => resolve(b.toString())));
      socket.destroy();
      expect(head, path).toMatch(/^HTTP\/1\.1 404 [^]*UNKNOWN_SERVICE/);
    }
    const empty = await fetch(new URL('/v2/models/echo/infer', http), { method: 'POST', body: '' });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { error: string }).error).toMatch(/no body/);
    const get = await fetch(new URL('/v2/models/echo/infer', http));
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST, OPTIONS']);
    expect(gateway.stats().httpAccepted).toBe(gateway.stats().httpAnswered);
  });
});

describe('Expect: 100-continue (curl sends it before large uploads)', () => {
  /** Sends only the request head and resolves with the first bytes the server answers. */
  const head = async (path: string, length: number): Promise<string> => {
    const socket = connect(Number(http.port), http.hostname);
    socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`);
    const first = await new Promise<string>((resolve) => socket.once('data', (b: Buffer) => resolve(b.toString())));
    socket.destroy();
    return first;
  };

  it('refuses a body it would refuse anyway instead of asking for it, and closes the connection', async () => {
    const tooLarge = await head('/v2/models/echo/infer', 5000); // over the 4096-byte limit
    expect(tooLarge).toMatch(/^HTTP\/1\.1 413 [^]*connection: close/i);
    expect(await head('/v2/models/nope/infer', 100)).toMatch(/^HTTP\/1\.1 404 [^]*connection: close[^]*UNKNOWN_SERVICE/i);
  });

  it('asks for a body it will read, and answers it', async () => {
    const answered = await new Promise<number>((resolve, reject) => {
      const req = request({ host: http.hostname, port: http.port, path: '/v2/models/echo/infer', method: 'POST', headers: { expect: '100-continue', 'content-length': String(body.length) } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on('continue', () => req.end(body)); // node:http sends the body only once the server said 100 Continue
      req.on('error', reject);
    });
    expect(answered).toBe(200);
  });
});

describe('compressed request bodies (Content-Encoding, as tritonclient sends with request_compression_algorithm)', () => {
  const post = async (bytes: Buffer, headers: Record<string, string>): Promise<{ status: number; body: { id?: string; outputs?: { data: number[] }[]; error?: string; code?: string } }> => {
    const res = await fetch(new URL('/v2/models/echo/infer', http), { method: 'POST', body: bytes, headers });
    return { status: res.status, body: (await res.json()) as never };
  };

  it('inflates gzip and deflate (zlib, or raw as some clients send it) bodies, and the binary extension measured before compression', async () => {
    for (const [encoding, pack] of [['gzip', gzipSync], ['deflate', deflateSync], ['deflate', deflateRawSync], ['x-gzip', gzipSync], ['GZIP', gzipSync]] as const) {
      const res = await post(pack(Buffer.from(body)), { 'content-encoding': encoding });
      expect(res, encoding).toMatchObject({ status: 200, body: { id: 'q' } });
      expect(res.body.outputs?.[0]?.data, encoding).toEqual([2, 4]); // the fake service doubles its input
    }
    const head = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } }] }));
    const res = await post(gzipSync(Buffer.concat([head, Buffer.from(new Float32Array([3, 4]).buffer)])), { 'content-encoding': 'gzip', 'inference-header-content-length': String(head.length) });
    expect(res.status).toBe(200);
    expect(res.body.outputs?.[0]?.data).toEqual([6, 8]);
    expect((await post(Buffer.from(body), { 'content-encoding': 'identity' })).status).toBe(200);
  });

  it('refuses what does not inflate, an encoding it does not know, and a body that inflates past the limit', async () => {
    expect(await post(Buffer.from(body), { 'content-encoding': 'gzip' })).toMatchObject({ status: 400, body: { code: 'INVALID_INPUT', error: expect.stringMatching(/gzip/) } });
    expect(await post(gzipSync(Buffer.from(body)), { 'content-encoding': 'br' })).toMatchObject({ status: 415, body: { code: 'INVALID_INPUT', error: expect.stringMatching(/br.*gzip, deflate/) } });
    // 1 MiB of spaces inflates past maxBodyBytes (4096): a compression bomb is refused, not inflated.
    expect(await post(gzipSync(Buffer.concat([Buffer.from(body), Buffer.alloc(1 << 20, 32)])), { 'content-encoding': 'gzip' })).toMatchObject({ status: 413, body: { code: 'INVALID_INPUT' } });
    expect((await post(Buffer.from(body), {})).status).toBe(200);
    expect(gateway.stats().httpAccepted).toBe(gateway.stats().httpAnswered);
  });
});

describe('gRPC ModelInfer with malformed bytes', () => {
  it('answers INVALID_ARGUMENT naming the fault, and keeps serving', async () => {
    const client = new Client(grpcAddress, credentials.createInsecure());
    const call = (bytes: Buffer): Promise<ServiceError | Buffer> =>
      new Promise((resolve) =>
        client.makeUnaryRequest('/inference.GRPCInferenceService/ModelInfer', (b: Buffer) => b, (b: Buffer) => b, bytes, new Metadata(), (err, res) => resolve(err ?? res!)),
      );
    try {
      const bad = (await call(Buffer.from([0x2a, 0x7f, 0x01]))) as ServiceError;
      expect(bad.code).toBe(status.INVALID_ARGUMENT);
      expect(bad.details).toMatch(/ModelInferRequest message is malformed: a field claims 127 bytes/);
      expect(bad.metadata.get('epara-code')).toEqual(['INVALID_INPUT']);
      // name "echo", one FP32 [1,2] input with raw contents.
      const input = Buffer.from([0x0a, 1, 0x78, 0x12, 4, ...Buffer.from('FP32'), 0x1a, 2, 1, 2]);
      const good = Buffer.concat([Buffer.from([0x0a, 4, ...Buffer.from('echo'), 0x2a, input.length]), input, Buffer.from([0x3a, 8]), Buffer.from(new Float32Array([1, 2]).buffer)]);
      expect(Buffer.isBuffer(await call(good))).toBe(true);
    } finally {
      client.close();
    }
  });
});
