import { connect } from 'node:http2';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import { afterEach, expect, it, vi } from 'vitest';
import { createGateway } from '../gateway.js';

/*
 * The gRPC request-read timeout measures elapsed time on a monotonic clock: a wall clock stepped back (NTP, a
 * VM resumed, the date set by hand) must not keep a call that never sends its message open for ever.
 */

afterEach(() => {
  vi.restoreAllMocks();
});

it('times out a call whose message never arrives while the wall clock keeps stepping back', async () => {
  const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } }, hosted: ['echo'] });
  const node = createNode({ id: 'n1', transport: createMemoryTransport({ hub: createMemoryHub() }), executor, security: { insecure: true }, placement: false, syncPeriodMs: 20 });
  await node.start();
  const gateway = createGateway({ node, models: [{ name: 'echo', inputs: [], outputs: [] }], http: false, grpc: { port: 0 }, requestTimeoutMs: 200 });
  const address = (await gateway.start()).grpc!;
  const session = connect(`http://${address}`);
  try {
    // Every reading of the wall clock is a second earlier than the one before.
    let wall = Date.now();
    vi.spyOn(Date, 'now').mockImplementation(() => (wall -= 1000));
    const status = await new Promise<string | undefined>((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelInfer', 'content-type': 'application/grpc', te: 'trailers' });
      let status: string | undefined;
      req.on('response', (h) => (status ??= h['grpc-status'] as string | undefined));
      req.on('trailers', (t) => (status ??= t['grpc-status'] as string | undefined));
      req.on('error', reject);
      req.on('close', () => resolve(status));
      req.write(Buffer.from([0, 0, 0])); // part of a message prefix, and then nothing
    });
    expect(status).toBe('4'); // DEADLINE_EXCEEDED
  } finally {
    vi.restoreAllMocks();
    session.close();
    await gateway.close();
    await node.close();
  }
}, 20_000);
