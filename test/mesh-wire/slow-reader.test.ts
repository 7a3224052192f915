import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeExecutor, createNode, createWebSocketTransport, secureConnection } from '@epara/mesh';
import { encodeFrame } from '@epara/mesh/wire';
import type { MeshNode } from '@epara/mesh';

const PSK = 'slow-reader-key-0123456789ab';
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

/**
 * A loopback TCP proxy to `port` whose `stall()` stops reading what the server sends, as a peer that never
 * reads would: the server's socket buffers fill and its writes pile up in its own memory.
 */
async function proxyTo(port: number): Promise<{ port: number; stall(): void; serverSideClosed: Promise<void> }> {
  let upstream: Socket | undefined;
  let resolveClosed!: () => void;
  const serverSideClosed = new Promise<void>((r) => (resolveClosed = r));
  const server: Server = createServer((client) => {
    const up = connect(port, '127.0.0.1');
    upstream = up;
    const quiet = (): void => undefined; // resets are expected when a side is cut
    client.on('error', quiet);
    up.on('error', quiet);
    client.pipe(up);
    up.pipe(client);
    let clientGone = false;
    up.once('close', () => (client.destroy(), clientGone || resolveClosed()));
    client.once('close', () => ((clientGone = true), up.destroy()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise((r) => (upstream?.destroy(), server.close(r))));
  return {
    port: (server.address() as { port: number }).port,
    stall: () => {
      upstream!.unpipe();
      upstream!.pause();
    },
    serverSideClosed,
  };
}

describe('a peer that never reads its replies', () => {
  it('is answered OVERLOADED past the link bound and cut, and the node keeps serving others', async () => {
    const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 1, batchSize: 64, maxQueue: 10_000, deadlineMs: 60_000 } }, hosted: ['echo'] });
    const node: MeshNode = createNode({
      id: 'n0',
      // Keepalive would cut a silent link after its dead-peer timeout; keep it out of the way.
      transport: createWebSocketTransport({ keepaliveIntervalMs: 60_000, deadPeerTimeoutMs: 120_000 }),
      executor,
      security: { psk: PSK },
      placement: false,
      maxLinkBufferedBytes: 2 << 20,
    });
    await node.start();
    cleanup.push(() => node.close());
    const proxy = await proxyTo(Number(new URL(node.address!).port));
    const client = createWebSocketTransport({ keepaliveIntervalMs: 60_000, deadPeerTimeoutMs: 120_000 });
    cleanup.push(() => client.close());
    const raw = await client.connect(`ws://127.0.0.1:${proxy.port}/epara`);
    const { connection } = await secureConnection(raw, { psk: PSK, selfId: 'greedy', role: 'client' });
    proxy.stall();
    // Requests of 256 KiB each, until the node cuts the link (a paused socket only notices the cut when the
    // proxy next writes to it, so keep sending). Without a bound the node would hold every reply.
    let cut = false;
    void proxy.serverSideClosed.then(() => (cut = true));
    const inputs = { x: { type: 'float32' as const, dims: [65_536], data: new Float32Array(65_536) } };
    for (let i = 1; i <= 1200 && !cut && !connection.isClosed; i++) {
      connection.send(encodeFrame({ type: 'submit', requestId: i, serviceId: 'echo', budgetMs: 60_000, hops: 0, maxHops: 1, visited: [], priority: 0, inputs }));
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    // The node cut the link on its own (without the bound it never does: the test times out here).
    await proxy.serverSideClosed;
    expect(executor.stats().executed).toBeGreaterThan(0);

    // Everyone else is still served.
    const other = createNode({ id: 'n1', transport: createWebSocketTransport(), executor: createFakeExecutor({ services: {} }), security: { psk: PSK }, seeds: [node.address!], placement: false });
    await other.start();
    cleanup.push(() => other.close());
    for (let t = 0; !other.view().entries['n0']?.instances.length; t++) {
      if (t > 1000) throw new Error('n1 never saw n0');
      await new Promise((r) => setTimeout(r, 10));
    }
    const out = await other.submit('echo', { x: { type: 'float32', dims: [1], data: new Float32Array([3]) } }, { deadline: Date.now() + 5000 });
    expect(out['x']!.dims).toEqual([1]);
  }, 30_000);
});
