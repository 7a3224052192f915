import { connect } from 'node:http2';
import type { IncomingHttpHeaders } from 'node:http2';
import { fileURLToPath } from 'node:url';
import { Metadata, credentials, loadPackageDefinition, status } from '@grpc/grpc-js';
import type { Client, ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { afterEach, describe, expect, it } from 'vitest';
import { createGateway } from '../gateway.js';
import type { Gateway } from '../gateway.js';

/*
 * gRPC's health-checking service (grpc.health.v1.Health), as grpc-health-probe, Kubernetes' gRPC probes and
 * grpc-go's client-side health checking call it, from a grpc-js client built from the published definition.
 */

interface HealthResponse {
  status: 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
}
type Callback<T> = (err: ServiceError | null, res: T) => void;
type HealthClient = Client & {
  Check(req: { service?: string }, meta: Metadata, opts: object, cb: Callback<HealthResponse>): void;
  List(req: object, cb: Callback<{ statuses: Record<string, HealthResponse> }>): void;
  Watch(req: { service?: string }, meta?: Metadata, opts?: object): ClientReadableStream<HealthResponse>;
};

const protoPath = fileURLToPath(new URL('../../proto/grpc/health/v1/health.proto', import.meta.url));
const pkg = loadPackageDefinition(loadSync(protoPath, { keepCase: true, enums: String, defaults: true })) as unknown as { grpc: { health: { v1: { Health: new (address: string, c: ReturnType<typeof credentials.createInsecure>) => HealthClient } } } };

interface Served {
  gateway: Gateway;
  node: MeshNode;
  client: HealthClient;
  address: string;
  setReady(ready: boolean): void;
}
const open: Served[] = [];

async function serve(): Promise<Served> {
  const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } }, hosted: ['echo'] });
  const node = createNode({ id: 'n1', transport: createMemoryTransport({ hub: createMemoryHub() }), executor, security: { insecure: true }, placement: false });
  await node.start();
  let ready = true;
  const gateway = createGateway({ node, models: [{ name: 'echo', inputs: [], outputs: [] }], http: false, grpc: { port: 0 }, isReady: () => ready });
  const address = (await gateway.start()).grpc!;
  const s = { gateway, node, address, client: new pkg.grpc.health.v1.Health(address, credentials.createInsecure()), setReady: (r: boolean) => void (ready = r) };
  open.push(s);
  return s;
}
afterEach(async () => {
  for (const s of open.splice(0)) {
    s.client.close();
    await s.gateway.close();
    await s.node.close();
  }
});

function check(client: HealthClient, service: string | undefined, deadlineMs?: number): Promise<{ err: ServiceError | null; res: HealthResponse | undefined }> {
  return new Promise((resolve) => client.Check(service === undefined ? {} : { service }, new Metadata(), deadlineMs ? { deadline: Date.now() + deadlineMs } : {}, (err, res) => resolve({ err, res })));
}

/** A watch whose messages are read one at a time, and whose end (its status) is awaited. */
function watch(client: HealthClient, service: string, opts: object = {}): { next(): Promise<HealthResponse['status']>; ended: Promise<{ code: number; details: string }>; call: ClientReadableStream<HealthResponse> } {
  const call = client.Watch({ service }, new Metadata(), opts);
  const queue: HealthResponse['status'][] = [];
  const waiting: ((s: HealthResponse['status']) => void)[] = [];
  call.on('data', (r: HealthResponse) => {
    const w = waiting.shift();
    if (w) w(r.status);
    else queue.push(r.status);
  });
  call.on('error', () => undefined); // the status carries it
  let end: { code: number; details: string } | undefined;
  const ended = new Promise<{ code: number; details: string }>((resolve) =>
    call.on('status', (s: { code: number; details: string }) => {
      end = s;
      resolve(s);
      for (const w of waiting.splice(0)) w(`ended ${s.code}: ${s.details}` as HealthResponse['status']);
    }),
  );
  const next = (): Promise<HealthResponse['status']> => {
    if (queue.length > 0) return Promise.resolve(queue.shift()!);
    if (end) return Promise.resolve(`ended ${end.code}: ${end.details}` as HealthResponse['status']);
    return new Promise((resolve) => waiting.push(resolve));
  };
  return { call, ended, next };
}

describe('grpc.health.v1.Health', () => {
  it('Check answers the server (empty name), the inference service, and live and ready, by readiness', async () => {
    const s = await serve();
    for (const name of [undefined, '', 'inference.GRPCInferenceService', 'ready', 'live']) {
      expect(await check(s.client, name)).toEqual({ err: null, res: { status: 'SERVING' } });
    }
    s.setReady(false);
    for (const name of ['', 'inference.GRPCInferenceService', 'ready']) expect((await check(s.client, name)).res).toEqual({ status: 'NOT_SERVING' });
    expect((await check(s.client, 'live')).res).toEqual({ status: 'SERVING' });
  });

  it('Check answers NOT_FOUND for a service it does not report on', async () => {
    const s = await serve();
    const { err } = await check(s.client, 'grpc.reflection.v1.ServerReflection2');
    expect(err?.code).toBe(status.NOT_FOUND);
    expect(err?.details).toMatch(/grpc\.reflection\.v1\.ServerReflection2/);
  });

  it('Check answers NOT_SERVING once the gateway drains', async () => {
    const s = await serve();
    await s.gateway.drain({ timeoutMs: 0 });
    expect((await check(s.client, '')).res).toEqual({ status: 'NOT_SERVING' });
    expect((await check(s.client, 'live')).res).toEqual({ status: 'SERVING' });
  });

  it('List answers every service it reports on', async () => {
    const s = await serve();
    s.setReady(false);
    const res = await new Promise<{ statuses: Record<string, HealthResponse> }>((resolve, reject) => s.client.List({}, (err, r) => (err ? reject(err) : resolve(r))));
    expect(res.statuses).toEqual({ '': { status: 'NOT_SERVING' }, 'inference.GRPCInferenceService': { status: 'NOT_SERVING' }, ready: { status: 'NOT_SERVING' }, live: { status: 'SERVING' } });
  });

  it('Watch sends the status at once, then each change: a drain turns it NOT_SERVING', async () => {
    const s = await serve();
    const w = watch(s.client, '');
    expect(await w.next()).toBe('SERVING');
    void s.gateway.drain({ timeoutMs: 0 });
    expect(await w.next()).toBe('NOT_SERVING');
    w.call.cancel();
    expect((await w.ended).code).toBe(status.CANCELLED);
  });

  it('Watch follows the host readiness both ways', async () => {
    const s = await serve();
    s.setReady(false);
    const w = watch(s.client, 'inference.GRPCInferenceService');
    expect(await w.next()).toBe('NOT_SERVING');
    s.setReady(true);
    expect(await w.next()).toBe('SERVING');
    s.setReady(false);
    expect(await w.next()).toBe('NOT_SERVING');
    w.call.cancel();
    await w.ended;
  });

  it('Watch of an unknown service answers SERVICE_UNKNOWN and keeps the stream open', async () => {
    const s = await serve();
    const w = watch(s.client, 'nope');
    expect(await w.next()).toBe('SERVICE_UNKNOWN');
    // The stream is still open: a Check on the same connection is answered, and the watch ends only when cancelled.
    expect((await check(s.client, '')).res).toEqual({ status: 'SERVING' });
    w.call.cancel();
    expect((await w.ended).code).toBe(status.CANCELLED);
  });

  it('Watch ends DEADLINE_EXCEEDED at its deadline', async () => {
    const s = await serve();
    const w = watch(s.client, '', { deadline: Date.now() + 300 });
    expect(await w.next()).toBe('SERVING');
    expect((await w.ended).code).toBe(status.DEADLINE_EXCEEDED);
  });

  it('Watch ends DEADLINE_EXCEEDED at its grpc-timeout on the server side too (a raw client with no timer of its own)', async () => {
    const s = await serve();
    const session = connect(`http://${s.address}`);
    try {
      const req = session.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Watch', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '200m' });
      const data: Buffer[] = [];
      req.on('data', (c: Buffer) => data.push(c));
      const trailers = new Promise<IncomingHttpHeaders>((resolve) => req.on('trailers', resolve));
      req.end(Buffer.from([0, 0, 0, 0, 0])); // an empty HealthCheckRequest: the server as a whole
      expect((await trailers)['grpc-status']).toBe(String(status.DEADLINE_EXCEEDED));
      // One HealthCheckResponse { status: SERVING }, as protobuf writes it.
      expect(Buffer.concat(data)).toEqual(Buffer.from([0, 0, 0, 0, 2, 0x08, 1]));
    } finally {
      session.close();
    }
  });

  it('a closing gateway ends its watches: NOT_SERVING, then UNAVAILABLE', async () => {
    const s = await serve();
    const w = watch(s.client, '');
    expect(await w.next()).toBe('SERVING');
    const closed = s.gateway.close();
    expect(await w.next()).toBe('NOT_SERVING');
    expect((await w.ended).code).toBe(status.UNAVAILABLE);
    await closed;
  });

  it('a malformed request is INVALID_ARGUMENT', async () => {
    const s = await serve();
    const err = await new Promise<ServiceError | null>((resolve) =>
      s.client.makeUnaryRequest('/grpc.health.v1.Health/Check', (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x0a, 0x05, 0x61]), (e) => resolve(e)),
    );
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/HealthCheckRequest/);
  });
});
