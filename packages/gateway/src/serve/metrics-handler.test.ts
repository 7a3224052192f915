import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsHandler } from './metrics-handler.js';

/*
 * The Prometheus `/metrics` handler `epara serve` mounts on the gateway's HTTP port, as scrapers and load
 * balancers call it: GET, HEAD (what a health check or `curl -I` sends), OPTIONS, and the methods it does not take.
 */

let server: Server;
let base: { host: string; port: number };

beforeAll(async () => {
  const registry = new Registry();
  new Counter({ name: 'epara_test_total', help: 'a counter', registers: [registry] }).inc(3);
  const handle = metricsHandler(registry, '/metrics');
  server = createServer((req, res) => {
    if (!handle(req, res)) res.writeHead(404, { 'content-type': 'text/plain' }).end('not mine');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = { host: '127.0.0.1', port: (server.address() as AddressInfo).port };
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function call(method: string, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ ...base, method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('metricsHandler', () => {
  it('answers GET with the registry in its content type, with a length', async () => {
    const r = await call('GET', '/metrics?x=1');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    expect(r.body).toMatch(/^epara_test_total 3$/m);
    expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.body));
  });

  it('answers HEAD as GET would, without the body', async () => {
    const get = await call('GET', '/metrics');
    const head = await call('HEAD', '/metrics');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-type']).toBe(get.headers['content-type']);
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
  });

  it('answers OPTIONS 204 with Allow, and another method 405 with Allow in the error form', async () => {
    const options = await call('OPTIONS', '/metrics');
    expect(options).toMatchObject({ status: 204, body: '' });
    expect(options.headers['allow']).toBe('GET, HEAD, OPTIONS');
    const post = await call('POST', '/metrics');
    expect(post.status).toBe(405);
    expect(post.headers['allow']).toBe('GET, HEAD, OPTIONS');
    expect(JSON.parse(post.body)).toEqual({ error: 'POST is not allowed on /metrics (allowed: GET, HEAD, OPTIONS)', code: 'METHOD_NOT_ALLOWED' });
  });

  it('leaves other paths to the next handler', async () => {
    expect(await call('GET', '/metricsx')).toMatchObject({ status: 404, body: 'not mine' });
    expect(await call('HEAD', '/v2/health/live')).toMatchObject({ status: 404 });
  });
});
