import { afterEach, describe, expect, it } from 'vitest';
import { createGateway } from '@epara/gateway';
import type { Gateway } from '@epara/gateway';
import { createMemoryHub } from '@epara/mesh';
import type { MemoryHub } from '@epara/mesh';
import { closeAll, startCluster, until } from '../mesh/helpers.js';
import type { ClusterNode } from '../mesh/helpers.js';

/*
 * An entry drained (as `epara serve` drains on SIGTERM: the gateway, then the node with what is left of the bound,
 * then both closed) while its request waits on a peer that has stalled: it is answered typed, by what happened
 * first — CLOSED when the drain bound passed (this server cut it), PEER_UNAVAILABLE when the entry found the peer
 * failed before (docs/errors.md: the peer failed and no other server could take it).
 */

let nodes: ClusterNode[] = [];
let gateway: Gateway | undefined;
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
  await closeAll(nodes);
});

/** An entry n0 with a gateway, and n1 serving echo; a request sent through the gateway reached n1, then n1 stalls. */
async function stalledRequest(): Promise<{ hub: MemoryHub; n0: ClusterNode['node']; answer: Promise<{ status: number; code: string | undefined }> }> {
  const hub = createMemoryHub();
  nodes = await startCluster({ size: 2, kind: 'memory', hosted: [1], serviceTimeMs: 60_000, hub });
  const [n0, n1] = [nodes[0]!.node, nodes[1]!.node];
  let received = 0;
  n1.on('requestReceived', () => void (received += 1));
  gateway = createGateway({ node: n0, models: [{ name: 'echo', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }], outputs: [], splitItems: false }], http: { port: 0 }, grpc: false });
  const { http } = await gateway.start();
  await until(() => Object.values(n0.view().entries).some((e) => e.alive && e.instances.some((i) => i.serviceId === 'echo' && i.status === 'ready')), 'n0 sees n1 serving echo');
  const body = JSON.stringify({ parameters: { epara_deadline_ms: 120_000 }, inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }] });
  const answer = fetch(`${http}/v2/models/echo/infer`, { method: 'POST', body }).then(async (r) => ({ status: r.status, code: ((await r.json()) as { code?: string }).code }));
  await until(() => received === 1, 'n1 received the request');
  // n1 stalls: nothing reaches it or comes from it (a frozen process, a cut cable).
  hub.setFaults({ drop: (link) => link.from === 'n1' || link.to === 'n1' });
  return { hub, n0, answer };
}

describe('an entry drained with a request out to a stalled peer', () => {
  it('answers it CLOSED (503) when the drain bound passes first', async () => {
    const { n0, answer } = await stalledRequest();
    await gateway!.drain({ timeoutMs: 50 });
    await n0.drain({ timeoutMs: 0 });
    await gateway!.close();
    expect(await answer).toEqual({ status: 503, code: 'CLOSED' });
  });

  it('answers it PEER_UNAVAILABLE (503) when the entry finds the peer failed before the bound passes', async () => {
    const { n0, answer } = await stalledRequest();
    // No bound: the drain resolves once the request settled, which it does when n0 finds n1 gone (its sync acks stop).
    await gateway!.drain({ timeoutMs: Number.POSITIVE_INFINITY });
    expect(gateway!.stats().inFlight).toBe(0);
    await n0.drain({ timeoutMs: 0 });
    expect(await answer).toEqual({ status: 503, code: 'PEER_UNAVAILABLE' });
  });
});
