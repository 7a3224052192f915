import { request } from 'node:http';
import { gunzipSync, inflateSync } from 'node:zlib';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../gateway.js';
import type { Gateway } from '../gateway.js';

/*
 * Compressed answers, as Triton gives them: a client that sends `Accept-Encoding: gzip` or `deflate`
 * (tritonclient's `response_compression_algorithm`) gets its inference answer in that coding, with
 * `Inference-Header-Content-Length` counting the inflated JSON header as before.
 */

let gateway: Gateway;
let node: MeshNode;
let http: URL;

beforeAll(async () => {
  const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } }, hosted: ['echo'] });
  node = createNode({ id: 'n1', transport: createMemoryTransport({ hub: createMemoryHub() }), executor, security: { insecure: true }, placement: false });
  await node.start();
  gateway = createGateway({ node, models: [{ name: 'echo', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] }], http: { port: 0 }, grpc: false });
  http = new URL((await gateway.start()).http!);
});
afterAll(async () => {
  await gateway.close();
  await node.close();
});

const data = Array.from({ length: 64 }, (_, i) => i / 8);
const json = (binary = false): string => JSON.stringify({ id: 'z', inputs: [{ name: 'x', datatype: 'FP32', shape: [32, 2], data }], ...(binary ? { parameters: { binary_data_output: true } } : {}) });

function post(body: string, headers: Record<string, string>, path = '/v2/models/echo/infer'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: http.hostname, port: http.port, path, method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('compressed answers (Accept-Encoding)', () => {
  it('answers gzip when asked, the same JSON once inflated, with the compressed length', async () => {
    const plain = await post(json(), {});
    const r = await post(json(), { 'accept-encoding': 'gzip' });
    expect(r.status).toBe(200);
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(r.headers['vary']).toMatch(/accept-encoding/i);
    expect(Number(r.headers['content-length'])).toBe(r.body.length);
    expect(gunzipSync(r.body)).toEqual(plain.body);
    expect(plain.headers['content-encoding']).toBeUndefined();
  });

  it('answers deflate (zlib-wrapped) when that is what the client takes, and picks gzip among several', async () => {
    const plain = await post(json(), {});
    const d = await post(json(), { 'accept-encoding': 'deflate' });
    expect(d.headers['content-encoding']).toBe('deflate');
    expect(inflateSync(d.body)).toEqual(plain.body);
    expect((await post(json(), { 'accept-encoding': 'br, deflate, gzip' })).headers['content-encoding']).toBe('gzip');
    expect((await post(json(), { 'accept-encoding': 'gzip;q=0, deflate;q=0.5' })).headers['content-encoding']).toBe('deflate');
    // `*` is any coding not listed (RFC 9110 §12.5.3): gzip, unless gzip itself is refused.
    expect((await post(json(), { 'accept-encoding': '*' })).headers['content-encoding']).toBe('gzip');
    expect((await post(json(), { 'accept-encoding': 'gzip;q=0, *' })).headers['content-encoding']).toBe('deflate');
  });

  it('answers identity for identity, q=0, codings it does not make, or none', async () => {
    for (const accept of ['identity', 'gzip;q=0', 'br', 'gzip;q=0.000, deflate;q=0', '*;q=0', 'gzip;q=0, deflate;q=0, *']) {
      const r = await post(json(), { 'accept-encoding': accept });
      expect(r.status, accept).toBe(200);
      expect(r.headers['content-encoding'], accept).toBeUndefined();
      expect(JSON.parse(r.body.toString())).toMatchObject({ id: 'z' });
    }
  });

  it('keeps Inference-Header-Content-Length the inflated JSON length for a binary answer', async () => {
    const plain = await post(json(true), {});
    const length = Number(plain.headers['inference-header-content-length']);
    expect(length).toBeGreaterThan(0);
    const r = await post(json(true), { 'accept-encoding': 'gzip' });
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(r.headers['inference-header-content-length']).toBe(String(length));
    const inflated = gunzipSync(r.body);
    expect(inflated).toEqual(plain.body);
    expect(JSON.parse(inflated.subarray(0, length).toString())).toMatchObject({ id: 'z', outputs: expect.arrayContaining([expect.objectContaining({ name: 'x', parameters: { binary_data_size: 256 } })]) });
  });

  it('leaves errors uncompressed', async () => {
    const r = await post('{"inputs": 3}', { 'accept-encoding': 'gzip' });
    expect(r.status).toBe(400);
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(r.body.toString())).toMatchObject({ code: 'INVALID_INPUT' });
  });
});
