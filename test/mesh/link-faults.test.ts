import { afterEach, describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import { createFakeExecutor, createNode, createWebSocketTransport } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { aliveIds, ECHO, input, PSK, until, watch } from './helpers.js';
import { startTcpProxy } from './tcp-proxy.js';
import type { TcpProxy } from './tcp-proxy.js';

/*
 * The network between real nodes on 127.0.0.1, through a TCP proxy in front of n1 (n1 advertises the proxy, and
 * the others join through it, so every byte to and from n1 crosses it): the link cut while ring sync frames are in
 * transit, the link slowed, and the link blackholed (connections accepted, nothing ever answered). Every submit
 * settles — right or typed — by its deadline plus the response grace plus a bound, and the views converge after.
 */

const SETTLE_BOUND_MS = 1000 + 10_000;
const TYPED = ['DEADLINE_EXCEEDED', 'PEER_UNAVAILABLE', 'DEADLINE_INFEASIBLE', 'OVERLOADED', 'NO_INSTANCE', 'HOP_LIMIT'];
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
  proxy = await startTcpProxy(() => n1Port);
  const via = `ws://127.0.0.1:${proxy.port}/epara`;
  const transports = new Map<string, ReturnType<typeof createWebSocketTransport>>();
  const make = (id: string, hosted: boolean, o: { advertise?: string; seeds?: string[] } = {}): MeshNode =>
    createNode({
      id,
      transport: transports.set(id, createWebSocketTransport({ host: '127.0.0.1', port: 0, connectTimeoutMs: 1000 })).get(id)!,
      executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 40 } }, hosted: hosted ? ['echo'] : [], tag: Number(id.slice(1)) }),
      security: { psk: PSK, handshakeTimeoutMs: 1000 },
      services: [ECHO],
      syncPeriodMs: 100,
      syncAckTimeoutMs: 300,
      placement: false,
      // A blackholed peer fails its handshake by timeout: keep its backoff short so the healed link is redialed soon.
      authRetry: { initialMs: 100, maxMs: 500 },
      ...o,
    });
  const n1 = make('n1', true, { advertise: via });
  watch(n1);
  nodes.push(n1);
  await n1.start();
  // The transport's own address: the node's is the advertised one, the proxy.
  n1Port = Number(new URL(transports.get('n1')!.address!).port);
  const n0 = make('n0', false, { seeds: [via] });
  const n2 = make('n2', true, { seeds: [via] });
  watch(n0, n2);
  nodes.push(n0, n2);
  await Promise.all([n0.start(), n2.start()]);
  await convergence(n0, n1, n2);
  return { n0, n1, n2, proxy };
}

async function convergence(n0: MeshNode, n1: MeshNode, n2: MeshNode, ms = 30_000): Promise<void> {
  const ready = (n: MeshNode, id: string): boolean => n.view().entries[id]?.instances.some((i) => i.status === 'ready') === true;
  await until(() => [n0, n1, n2].every((n) => aliveIds(n).join() === 'n0,n1,n2') && ready(n0, 'n1') && ready(n0, 'n2'), 'all three see each other and n0 sees both instances', ms);
}

/** Submits from n0; resolves with each outcome and how long after its deadline it settled. */
function submitAll(n: MeshNode, count: number, budgetMs: number): Promise<{ value?: number; code?: string; lateMs: number }[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => {
      const deadline = Date.now() + budgetMs;
      return n.submit('echo', input([i]), { deadline }).then(
        (out) => ({ value: (out['x']!.data as Float32Array)[0]!, lateMs: Date.now() - deadline }),
        (err: unknown) => ({ code: isEparaError(err) ? err.code : `untyped: ${String(err)}`, lateMs: Date.now() - deadline }),
      );
    }),
  );
}

function expectSettled(results: { value?: number; code?: string; lateMs: number }[]): void {
  results.forEach((r, i) => {
    if (r.code !== undefined) expect(TYPED).toContain(r.code);
    else expect(r.value).toBe(2 * i);
    expect(r.lateMs).toBeLessThan(SETTLE_BOUND_MS);
  });
}

describe('link faults between real nodes (TCP proxy on 127.0.0.1)', () => {
  it('a link cut while ring sync frames are in transit: requests settle, the views converge again', async () => {
    const { n0, n1, n2, proxy: p } = await cluster();
    const results = submitAll(n0, 16, 3000);
    await new Promise<void>((resolve) => n0.once('syncCompleted', () => resolve()));
    const cut = new Promise<void>((resolve) => p.onNextChunk(() => (p.cut(), resolve())));
    await cut;
    expectSettled(await results);
    await convergence(n0, n1, n2);
    expectSettled(await submitAll(n0, 8, 3000));
  });

  it('a slowed link: requests settle and the view holds', async () => {
    const { n0, n1, n2, proxy: p } = await cluster();
    p.delay(150);
    const results = await submitAll(n0, 16, 2000);
    expectSettled(results);
    expect(results.some((r) => r.code === undefined)).toBe(true);
    p.delay(0);
    await convergence(n0, n1, n2);
  });

  it('a blackholed peer (TCP accepted, nothing ever answered): requests settle, and it is back once the link heals', async () => {
    const { n0, n1, n2, proxy: p } = await cluster();
    p.mode('blackhole');
    p.cut();
    // Until a link to n1 is up again, a dial to it is accepted and never answered; whichever way the requests
    // go (to n1 over a link it dialed itself, to n2, into the blackhole), each settles.
    expectSettled(await submitAll(n0, 16, 2000));
    p.mode('forward');
    await convergence(n0, n1, n2);
    expectSettled(await submitAll(n0, 8, 3000));
  });
});

describe('a seed that accepts TCP and never answers', () => {
  it('a node joining through it serves alone: its submits are refused at once, typed, and it joins a real seed later', async () => {
    proxy = await startTcpProxy(() => 0);
    proxy.mode('blackhole');
    const hung = `ws://127.0.0.1:${proxy.port}/epara`;
    const make = (id: string, seeds: string[], hosted: boolean): MeshNode => {
      const n = createNode({
        id,
        transport: createWebSocketTransport({ host: '127.0.0.1', port: 0, connectTimeoutMs: 500 }),
        executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 5 } }, hosted: hosted ? ['echo'] : [] }),
        security: { psk: PSK, handshakeTimeoutMs: 500 },
        services: [ECHO],
        seeds,
        syncPeriodMs: 100,
        placement: false,
      });
      watch(n);
      nodes.push(n);
      return n;
    };
    const real = make('s1', [], true);
    await real.start();
    const joiner = make('j0', [hung, real.address!], false);
    await joiner.start();
    // The joiner dials its seeds in turn: the hung one costs a connect timeout each time, never a hang.
    const early = await joiner.submit('echo', input([1]), { deadline: Date.now() + 1000 }).catch((e: unknown) => e);
    if (isEparaError(early)) expect(TYPED).toContain(early.code);
    await until(() => aliveIds(joiner).join() === 'j0,s1' && joiner.view().entries['s1']!.instances.length > 0, 'the joiner reached the real seed', 30_000);
    expect(proxy.accepted()).toBeGreaterThan(0);
    const out = await joiner.submit('echo', input([3]), { deadline: Date.now() + 3000 });
    expect((out['x']!.data as Float32Array)[0]).toBe(6);
  });
});
