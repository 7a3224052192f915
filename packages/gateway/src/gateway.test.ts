import { EPARA_ERROR_CODES, EparaError } from '@epara/core';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { get } from 'node:http';
import { connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ERROR_STATUS, errorStatusOf } from './errors/error-status.js';
import { createGateway } from './gateway.js';
import type { Gateway } from './gateway.js';
import type { HttpHandler } from './gateway-options.js';

const open: (Gateway | MeshNode)[] = [];

/** A TCP server listening on 127.0.0.1:`port` (0: any), or the listen error. */
function listening(port: number): Promise<ReturnType<typeof createServer>> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
afterEach(async () => {
  for (const x of open.splice(0)) await x.close();
});

async function start(handlers: HttpHandler[] = []): Promise<{ gateway: Gateway; node: MeshNode; url: string }> {
  const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } }, hosted: ['echo'] });
  const node = createNode({ id: 'n1', transport: createMemoryTransport({ hub: createMemoryHub() }), executor, security: { insecure: true }, placement: false, syncPeriodMs: 20 });
  await node.start();
  const gateway = createGateway({
    node,
    models: [{ name: 'echo', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] }],
    http: { port: 0 },
    grpc: false,
    handlers,
  });
  const { http } = await gateway.start();
  open.push(gateway, node);
  return { gateway, node, url: http! };
}

describe('error table', () => {
  it('maps every EPARA code to an HTTP status and a gRPC code', () => {
    for (const code of EPARA_ERROR_CODES) {
      const row = ERROR_STATUS[code];
      expect(row, code).toBeDefined();
      expect(row.http).toBeGreaterThanOrEqual(400);
    }
    expect(ERROR_STATUS.DEADLINE_INFEASIBLE).toEqual({ http: 503, grpc: 14, retryable: true });
    expect(ERROR_STATUS.INVALID_INPUT).toMatchObject({ http: 400, grpc: 3 });
    expect(ERROR_STATUS.UNKNOWN_SERVICE).toMatchObject({ http: 404, grpc: 5 });
  });

  it('hides the text of untyped errors', () => {
    expect(errorStatusOf(new Error('secret path /etc/x')).message).toBe('internal error');
    expect(errorStatusOf(new EparaError('OVERLOADED', 'full')).status.http).toBe(503);
  });
});

describe('gateway over a mesh node', () => {
  it('mounts host handlers before the protocol routes, and falls through when they decline', async () => {
    const dashboard: HttpHandler = (req, res) => {
      if (!(req.url ?? '').startsWith('/dashboard')) return false;
      res.writeHead(200, { 'content-type': 'text/plain' }).end('dashboard here');
      return true;
    };
    const { url } = await start([dashboard]);
    const page = await fetch(`${url}/dashboard/`);
    expect(await page.text()).toBe('dashboard here');
    expect((await fetch(`${url}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${url}/elsewhere`)).status).toBe(404);
  });

  it("lists among its extensions every one of Triton's it serves: the repository, the model configuration, parameters", async () => {
    const { url } = await start();
    const server = (await (await fetch(`${url}/v2`)).json()) as { extensions: string[] };
    // The extension names of Triton's GET /v2 and ServerMetadata, for what /v2/repository/*, /config and request
    // parameters serve here; before, only the binary, classification and statistics extensions were listed.
    expect(server.extensions).toEqual(expect.arrayContaining(['binary_tensor_data', 'classification', 'statistics', 'model_repository', 'model_configuration', 'parameters']));
    expect(server.extensions).not.toContain('system_shared_memory');
  });

  it('answers 500 when a host handler throws, instead of letting the throw out of the server (it crashed the process)', async () => {
    const throwing: HttpHandler = (req) => {
      if (req.url === '/boom') throw new TypeError('Invalid URL');
      return false;
    };
    const { url } = await start([throwing]);
    const boom = await fetch(`${url}/boom`);
    expect(boom.status).toBe(500);
    expect(await boom.json()).toEqual({ error: 'internal error', code: 'INTERNAL' });
    expect((await fetch(`${url}/v2/health/live`)).status).toBe(200);
  });

  it('submits through the node, and drains: not ready, new requests 503 with Retry-After', async () => {
    const { gateway, url } = await start();
    const body = JSON.stringify({ id: 'a', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] });
    const ok = await fetch(`${url}/v2/models/echo/infer`, { method: 'POST', body });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ id: 'a', model_name: 'echo' });
    await gateway.drain({ timeoutMs: 100 });
    expect(gateway.ready).toBe(false);
    expect((await fetch(`${url}/v2/health/ready`)).status).toBe(503);
    const refused = await fetch(`${url}/v2/models/echo/infer`, { method: 'POST', body });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('connection')).toBe('close');
    expect(gateway.stats().httpAccepted).toBe(gateway.stats().httpAnswered);
  });

  it('refuses an address it cannot listen on with INVALID_OPTIONS naming the port, and leaves no front listening', async () => {
    const { node, url } = await start();
    const httpPort = Number(new URL(url).port);
    const models = [{ name: 'echo', inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 2] }], outputs: [] }];
    const busy = createGateway({ node, models, http: { host: '127.0.0.1', port: httpPort }, grpc: false });
    const err = await busy.start().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_OPTIONS', details: { field: 'http.port', value: httpPort, errno: 'EADDRINUSE' } });
    expect((err as Error).message).toMatch(/cannot listen for HTTP on 127\.0\.0\.1:\d+ \(http\.port\)/);
    await busy.close();
    // gRPC's port taken, HTTP's free: HTTP listened first and is closed again, so its port can be listened on again.
    const taken = await listening(0);
    const free = await listening(0);
    const httpFree = (free.address() as AddressInfo).port;
    await new Promise((resolve) => free.close(resolve));
    try {
      const grpcPort = (taken.address() as AddressInfo).port;
      const half = createGateway({ node, models, http: { host: '127.0.0.1', port: httpFree }, grpc: { host: '127.0.0.1', port: grpcPort } });
      const grpcErr = await half.start().catch((e: unknown) => e);
      expect(grpcErr).toMatchObject({ code: 'INVALID_OPTIONS', details: { field: 'grpc.port', value: grpcPort } });
      const again = await listening(httpFree);
      await new Promise((resolve) => again.close(resolve));
      await half.close();
    } finally {
      taken.close();
    }
  });

  it('closes while a host handler holds an endless answer open (an event stream), cutting it', async () => {
    const stream: HttpHandler = (req, res) => {
      if (req.url !== '/events') return false;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: tick\ndata: {}\n\n');
      return true;
    };
    const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } }, hosted: ['echo'] });
    const node = createNode({ id: 'n2', transport: createMemoryTransport({ hub: createMemoryHub() }), executor, security: { insecure: true }, placement: false });
    await node.start();
    open.push(node);
    const gateway = createGateway({ node, models: [], http: { host: '127.0.0.1', port: 0 }, grpc: false, handlers: [stream] });
    const { http } = await gateway.start();
    const cut = new Promise<void>((resolve, reject) => {
      const req = get(`${http}/events`, (res) => {
        res.once('data', () => void gateway.close());
        res.on('error', () => resolve());
        res.on('close', () => resolve());
      });
      req.on('error', reject);
    });
    await cut;
    // Before, close() waited for the stream's connection for ever (the test timed out here).
    await gateway.close();
  });

  it('answers a request whose body or head is still arriving, on any route, 503 CLOSED when it closes, rather than waiting for it', async () => {
    let arrived!: () => void;
    const routed = new Promise<void>((resolve) => (arrived = resolve));
    // Handlers see every request first: this one only tells the test the request reached the server.
    const spy: HttpHandler = (req) => (req.url === '/v2/repository/index' && arrived(), false);
    const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } }, hosted: ['echo'] });
    const node = createNode({ id: 'n3', transport: createMemoryTransport({ hub: createMemoryHub() }), executor, security: { insecure: true }, placement: false });
    await node.start();
    open.push(node);
    const gateway = createGateway({ node, models: [], http: { host: '127.0.0.1', port: 0 }, grpc: false, handlers: [spy] });
    const url = new URL((await gateway.start()).http!);
    const socket = connect(Number(url.port), url.hostname);
    let answer = '';
    socket.on('data', (b: Buffer) => (answer += b.toString()));
    const gone = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write('POST /v2/repository/index HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"rea');
    await routed;
    // A client trickling a request's head on another connection: the server has seen bytes but no request yet.
    const trickler = connect(Number(url.port), url.hostname);
    let headAnswer = '';
    trickler.on('data', (b: Buffer) => (headAnswer += b.toString()));
    const trickled = new Promise<void>((resolve) => trickler.on('close', () => resolve()));
    trickler.on('error', () => undefined);
    await new Promise<void>((resolve) => trickler.write('GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Slow: a', () => resolve()));
    // A request on a third connection answered: the server accepted the trickling one before it (connections are
    // accepted in the order they arrive).
    expect((await fetch(`${url.origin}/v2/health/live`)).status).toBe(200);
    // Before, close() waited for the rest of the body (up to requestTimeoutMs, 5 min by default) and for the rest of
    // the head (headersTimeout, 60 s).
    await gateway.close();
    await gone;
    await trickled;
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
    expect(answer.toLowerCase()).toContain('retry-after: 1');
    expect(answer).toContain('"code":"CLOSED"');
    expect(headAnswer).toMatch(/^HTTP\/1\.1 503 /);
  });
});
