import { connect as h2connect } from 'node:http2';
import type { IncomingHttpHeaders } from 'node:http2';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { createGateway } from '@epara/gateway';
import type { Gateway } from '@epara/gateway';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * Slow-loris and silent clients against the gateway's two fronts, on real sockets. The gRPC front used to keep
 * a call whose message never finished arriving (no grpc-timeout) and a connection that never spoke for ever:
 * each holds a buffer of up to maxBodyBytes, so enough of them exhaust the server. Both are now bounded by
 * `requestTimeoutMs` / `idleTimeoutMs` (short here; the test waits for the server's own close, with the
 * test timeout as the hang guard).
 */

let node: MeshNode;
let gateway: Gateway;
let http: string;
let grpc: string;

beforeAll(async () => {
  const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } }, hosted: ['echo'] });
  node = createNode({ id: 'slow-1', transport: createMemoryTransport({ hub: createMemoryHub() }), executor, security: { insecure: true }, placement: false });
  await node.start();
  const models = [{ name: 'echo', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] }];
  gateway = createGateway({ node, models, http: { port: 0 }, grpc: { port: 0 }, requestTimeoutMs: 400, idleTimeoutMs: 400 });
  const a = await gateway.start();
  http = a.http!;
  grpc = a.grpc!;
});
afterAll(async () => {
  await gateway?.close();
  await node?.close();
});

function closed(socket: Socket): Promise<string> {
  let got = '';
  socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
  socket.on('error', () => undefined);
  return new Promise((resolve) => socket.once('close', () => resolve(got)));
}

const hostPort = (url: string): [number, string] => {
  const u = new URL(url.includes('://') ? url : `http://${url}`);
  return [Number(u.port), u.hostname];
};

describe('slow and silent clients', () => {
  it('HTTP: a body that never finishes is answered 408 and the connection closed', async () => {
    const s = connect(...hostPort(http));
    s.write('POST /v2/models/echo/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"inputs":');
    expect(await closed(s)).toMatch(/^HTTP\/1\.1 408/);
  }, 30_000);

  it('HTTP: headers that never finish get the connection closed', async () => {
    const s = connect(...hostPort(http));
    s.write('POST /v2/models/echo/infer HTTP/1.1\r\nHost: x\r\n');
    await closed(s);
  }, 30_000);

  it('gRPC: a connection that never speaks is closed', async () => {
    const s = connect(...hostPort(grpc));
    await closed(s);
  }, 30_000);

  it('gRPC: a call whose message never finishes ends DEADLINE_EXCEEDED, and the connection then goes idle and closes', async () => {
    const session = h2connect(`http://${grpc}`);
    session.on('error', () => undefined);
    const stream = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelInfer', 'content-type': 'application/grpc', te: 'trailers' });
    stream.on('error', () => undefined);
    // A 5-byte prefix announcing 100 bytes, then only one of them.
    stream.write(Buffer.from([0, 0, 0, 0, 100, 8]));
    const headers = await new Promise<IncomingHttpHeaders>((resolve) => stream.once('response', resolve));
    expect(headers['grpc-status']).toBe('4');
    // requestTimeoutMs and idleTimeoutMs are both 400 ms here: whichever fires first ends it.
    expect(decodeURIComponent(String(headers['grpc-message']))).toMatch(/did not arrive within 400 ms|made no progress for 400 ms/);
    await new Promise<void>((resolve) => session.once('close', () => resolve()));
  }, 30_000);

  it('a call that completes promptly is unaffected', async () => {
    const res = await fetch(`${http}/v2/models/echo/infer`, { method: 'POST', body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }) });
    expect(res.status).toBe(200);
  });
});
