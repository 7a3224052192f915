import { afterEach, describe, expect, it } from 'vitest';
import { createFakeExecutor, createNode, createWebSocketTransport } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { aliveIds, ECHO, PSK, until, watch } from './helpers.js';
import { completions, expectInvariants, ready, submitAll } from './fault-harness.js';
import { startTcpProxy } from './tcp-proxy.js';
import type { TcpProxy } from './tcp-proxy.js';

/*
 * Links that fail without closing, between real nodes on 127.0.0.1: every byte to and from n1 crosses a TCP
 * proxy (n1 advertises it, the others join through it), which stops forwarding on open connections (a route
 * that became a blackhole; TCP holds the bytes) or delays every byte by seconds. n2 also hosts `echo`. Every
 * request settles once, right or typed, by its deadline plus the grace plus a bound; the cluster serves around
 * the fault and converges when it ends.
 */

let nodes: MeshNode[] = [];
let proxy: TcpProxy | undefined;
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  nodes = [];
  await proxy?.close();
  proxy = undefined;
});

async function cluster(): Promise<{ n0: MeshNode; n1: MeshNode; n2: MeshNode; proxy: TcpProxy }> {
  let n1Port = 0;
  const p = (proxy = await startTcpProxy(() => n1Port));
  const via = `ws://127.0.0.1:${p.port}/epara`;
  const make = (id: string, o: { advertise?: string; seeds?: string[] } = {}): { node: MeshNode; transport: ReturnType<typeof createWebSocketTransport> } => {
    const transport = createWebSocketTransport({ host: '127.0.0.1', port: 0, connectTimeoutMs: 1000 });
    const node = createNode({
      id,
      transport,
      executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 20 } }, hosted: id === 'n0' ? [] : ['echo'], tag: Number(id.slice(1)) }),
      security: { psk: PSK, handshakeTimeoutMs: 1000 },
      services: [ECHO],
      syncPeriodMs: 100,
      syncAckTimeoutMs: 300,
      placement: false,
      authRetry: { initialMs: 100, maxMs: 500 },
      ...o,
    });
    watch(node);
    nodes.push(node);
    return { node, transport };
  };
  const n1 = make('n1', { advertise: via });
  await n1.node.start();
  n1Port = Number(new URL(n1.transport.address!).port);
  const n0 = make('n0', { seeds: [via] }).node;
  const n2 = make('n2', { seeds: [via] }).node;
  await Promise.all([n0.start(), n2.start()]);
  await converged(n0, n1.node, n2);
  return { n0, n1: n1.node, n2, proxy: p };
}

function converged(n0: MeshNode, n1: MeshNode, n2: MeshNode): Promise<void> {
  return until(() => [n0, n1, n2].every((n) => aliveIds(n).join() === 'n0,n1,n2') && ready(n0, 'n1') && ready(n0, 'n2'), 'all three see each other and n0 sees both instances', 30_000);
}

describe('links that fail without closing (TCP proxy on 127.0.0.1)', () => {
  it('a link that stops forwarding: requests settle, the cluster serves on n2, and converges once bytes flow again', async () => {
    const { n0, n1, n2, proxy: p } = await cluster();
    const done = completions(n0);
    p.stall();
    expectInvariants(await submitAll(n0, [0, 1, 2, 3, 4, 5, 6, 7], 2000).settled, [1, 2]);
    await until(() => n0.view().entries['n1']?.alive === false, 'n0 marks the unreachable n1 dead', 30_000);
    const around = await submitAll(n0, [10, 11, 12, 13], 3000).settled;
    expectInvariants(around, [2]);
    expect(around.every((o) => o.code === undefined)).toBe(true);
    p.resume();
    await converged(n0, n1, n2);
    const healed = await submitAll(n0, [20, 21, 22, 23], 3000).settled;
    expectInvariants(healed, [1, 2]);
    expect(healed.every((o) => o.code === undefined)).toBe(true);
    done.check();
  });

  it('a link that delays every byte by seconds: requests settle, late answers are dropped, and the cluster converges after', async () => {
    const { n0, n1, n2, proxy: p } = await cluster();
    const done = completions(n0);
    p.latency(2500);
    expectInvariants(await submitAll(n0, [0, 1, 2, 3, 4, 5, 6, 7], 1500).settled, [1, 2]);
    await until(() => n0.view().entries['n1']?.alive === false, 'n0 marks the slow n1 dead', 30_000);
    p.latency(0);
    await converged(n0, n1, n2);
    const healed = await submitAll(n0, [20, 21, 22, 23], 3000).settled;
    expectInvariants(healed, [1, 2]);
    expect(healed.every((o) => o.code === undefined)).toBe(true);
    done.check();
  });
});
