import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../gateway.js';
import type { Gateway } from '../gateway.js';

/*
 * Every route takes its path with a trailing slash as well (`/v2/health/ready/`): clients and proxies that join
 * URL segments add it. Before, each such path was a 404 `no route`, which a client reads as a server without the
 * route (a readiness probe as a server that is down).
 */

let node: MeshNode;
let gateway: Gateway;
let port: number;

beforeAll(async () => {
  const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } }, hosted: ['echo'] });
  node = createNode({ id: 'n1', transport: createMemoryTransport({ hub: createMemoryHub() }), executor, security: { insecure: true }, placement: false });
  await node.start();
  gateway = createGateway({ node, models: [{ name: 'echo', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }] }], http: { host: '127.0.0.1', port: 0 }, grpc: false });
  port = Number(new URL((await gateway.start()).http!).port);
});
afterAll(async () => {
  await gateway?.close();
  await node?.close();
});

function call(method: string, path: string, body = ''): Promise<{ status: number; allow: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { 'content-length': Buffer.byteLength(body), 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (b: Buffer) => (text += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, allow: res.headers['allow'], body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('a path with a trailing slash', () => {
  const gets = ['/v2/', '/v2/health/live/', '/v2/health/ready/', '/v2/models/echo/', '/v2/models/echo/versions/1/', '/v2/models/echo/ready/', '/v2/models/echo/versions/1/ready/', '/v2/models/echo/config/', '/v2/models/echo/versions/1/config/', '/v2/models/stats/', '/v2/models/echo/stats/', '/v2/models/echo/versions/1/stats/'];
  it.each(gets)('GET %s answers as the path without it', async (path) => {
    const [slash, plain] = await Promise.all([call('GET', path), call('GET', path.slice(0, -1))]);
    expect(plain.status).toBe(200);
    expect([slash.status, slash.body]).toEqual([plain.status, plain.body]);
  });

  it('POST …/infer/ runs the inference, on a version too', async () => {
    const body = JSON.stringify({ id: 'r', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }], outputs: [{ name: 'x' }] });
    for (const path of ['/v2/models/echo/infer/', '/v2/models/echo/versions/1/infer/']) {
      const a = await call('POST', path, body);
      expect(a.status, a.body).toBe(200);
      expect(JSON.parse(a.body)).toMatchObject({ id: 'r', outputs: [{ name: 'x', shape: [1, 2], data: [2, 4] }] });
    }
    expect((await call('POST', '/v2/models/nope/infer/', body)).status).toBe(404);
  });

  it('POST /v2/repository/index/ lists the models', async () => {
    const a = await call('POST', '/v2/repository/index/', '{}');
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body)).toEqual([expect.objectContaining({ name: 'echo' })]);
  });

  it('another method on it is a 405 with Allow, and OPTIONS lists the methods', async () => {
    expect(await call('POST', '/v2/health/ready/')).toMatchObject({ status: 405, allow: 'GET, HEAD, OPTIONS' });
    expect(await call('GET', '/v2/models/echo/infer/')).toMatchObject({ status: 405, allow: 'POST, OPTIONS' });
    expect(await call('OPTIONS', '/v2/models/echo/')).toMatchObject({ status: 204, allow: 'GET, HEAD, OPTIONS' });
  });

  it('a path that is no route is still a 404, slash or not', async () => {
    expect((await call('GET', '/v2/nothing/')).status).toBe(404);
    expect((await call('GET', '/v2/models/echo/infer/x/')).status).toBe(404);
  });
});
