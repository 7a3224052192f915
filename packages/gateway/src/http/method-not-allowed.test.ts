import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../gateway.js';
import type { Gateway } from '../gateway.js';

/*
 * A method the route does not take, on a path the server serves, is a 405 naming the methods it does take in
 * `Allow` (RFC 9110 §15.5.6), not the 404 a client reads as a wrong URL; OPTIONS answers those methods.
 */

let node: MeshNode;
let gateway: Gateway;
let port: number;

beforeAll(async () => {
  const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } }, hosted: ['echo'] });
  node = createNode({ id: 'n1', transport: createMemoryTransport({ hub: createMemoryHub() }), executor, security: { insecure: true }, placement: false });
  await node.start();
  gateway = createGateway({ node, models: [{ name: 'echo', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] }], http: { host: '127.0.0.1', port: 0 }, grpc: false });
  port = Number(new URL((await gateway.start()).http!).port);
});
afterAll(async () => {
  await gateway?.close();
  await node?.close();
});

function call(method: string, path: string): Promise<{ status: number; allow: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { 'content-length': 0 } }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, allow: res.headers['allow'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a method a route does not take', () => {
  const cases: [string, string, string][] = [
    ['POST', '/v2/health/ready', 'GET, HEAD'],
    ['DELETE', '/v2/health/live', 'GET, HEAD'],
    ['PUT', '/v2', 'GET, HEAD'],
    ['DELETE', '/v2/models/echo', 'GET, HEAD'],
    ['POST', '/v2/models/echo/versions/1', 'GET, HEAD'],
    ['PATCH', '/v2/models/echo/config', 'GET, HEAD'],
    ['POST', '/v2/models/echo/ready', 'GET, HEAD'],
    ['DELETE', '/v2/models/stats', 'GET, HEAD'],
    ['POST', '/v2/models/echo/versions/1/stats', 'GET, HEAD'],
    ['GET', '/v2/repository/index', 'POST'],
    ['GET', '/v2/repository/models/echo/load', 'POST'],
    ['DELETE', '/v2/repository/models/echo/unload', 'POST'],
    ['DELETE', '/v2/models/echo/infer', 'POST'],
    ['GET', '/v2/models/nope/versions/3/infer?x=1', 'POST'],
  ];
  it.each(cases)('%s %s is a 405 with Allow: %s', async (method, path, allow) => {
    const a = await call(method, path);
    expect([a.status, a.allow]).toEqual([405, `${allow}, OPTIONS`]);
    expect(JSON.parse(a.body)).toEqual({ error: `${method} is not allowed on ${path} (allowed: ${allow}, OPTIONS)`, code: 'METHOD_NOT_ALLOWED' });
  });

  it('answers OPTIONS with the methods a path takes, and OPTIONS * with the server\'s', async () => {
    expect(await call('OPTIONS', '/v2/health/ready')).toMatchObject({ status: 204, allow: 'GET, HEAD, OPTIONS', body: '' });
    expect(await call('OPTIONS', '/v2/models/echo/infer')).toMatchObject({ status: 204, allow: 'POST, OPTIONS', body: '' });
    expect(await call('OPTIONS', '/v2/repository/index')).toMatchObject({ status: 204, allow: 'POST, OPTIONS', body: '' });
    expect(await call('OPTIONS', '*')).toMatchObject({ status: 204, allow: 'GET, HEAD, POST, OPTIONS', body: '' });
  });

  it('still answers a path the server does not serve 404, and HEAD where GET is served', async () => {
    const missing = await call('DELETE', '/v2/elsewhere');
    expect([missing.status, JSON.parse(missing.body).code]).toEqual([404, 'NOT_FOUND']);
    expect((await call('OPTIONS', '/nowhere')).status).toBe(404);
    expect((await call('HEAD', '/v2/models/echo')).status).toBe(200);
    // An infer URL the infer route cannot read (an empty model name) is still no route for POST.
    expect((await call('POST', '/v2/models//infer')).status).toBe(404);
  });

  it('answers CONNECT (a proxy tunnel) 501 in the error form and closes, rather than dropping the connection unanswered', async () => {
    const socket = connect(port, '127.0.0.1');
    socket.end(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    await new Promise((resolve) => socket.once('close', resolve));
    const [head = '', body = ''] = Buffer.concat(chunks).toString().split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 501 /);
    expect(head.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(body)).toMatchObject({ code: 'NOT_IMPLEMENTED', error: expect.stringContaining('CONNECT') });
  });
});
