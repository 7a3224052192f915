import { afterEach, describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import { createFakeExecutor, createWebSocketTransport } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { aliveIds, input, PSK, until } from './helpers.js';
import { expectInvariants, submitAll, TYPED } from './fault-harness.js';
import { converged, ProxiedClusters } from './proxied-cluster.js';

/*
 * The network between real nodes on 127.0.0.1, through a TCP proxy in front of n1 (n1 advertises the proxy, and
 * the others join through it, so every byte to and from n1 crosses it): the link cut while ring sync frames are in
 * transit, the link slowed, and the link blackholed (connections accepted, nothing ever answered). Every submit
 * settles — right or typed — by its deadline plus the response grace plus a bound, the views converge after, and
 * the closed cluster leaves no timer, socket or server behind.
 */

const clusters = new ProxiedClusters();
afterEach(() => clusters.close());

describe('link faults between real nodes (TCP proxy on 127.0.0.1)', () => {
  const inputs = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

  it('a link cut while ring sync frames are in transit: requests settle, the views converge again', async () => {
    const c = await clusters.start({ serviceTimeMs: 40 });
    const results = submitAll(c.n0, inputs(16), 3000).settled;
    await new Promise<void>((resolve) => c.n0.once('syncCompleted', () => resolve()));
    await new Promise<void>((resolve) => c.proxy.onNextChunk(() => (c.proxy.cut(), resolve())));
    expectInvariants(await results);
    await converged(c);
    expectInvariants(await submitAll(c.n0, inputs(8), 3000).settled);
    expect(await clusters.closeLeavingNothing()).toEqual([]);
  });

  it('a slowed link: requests settle and the view holds', async () => {
    const c = await clusters.start({ serviceTimeMs: 40 });
    c.proxy.delay(150);
    const results = await submitAll(c.n0, inputs(16), 2000).settled;
    expectInvariants(results);
    expect(results.some((r) => r.code === undefined)).toBe(true);
    c.proxy.delay(0);
    await converged(c);
    expect(await clusters.closeLeavingNothing()).toEqual([]);
  });

  it('a blackholed peer (TCP accepted, nothing ever answered): requests settle, and it is back once the link heals', async () => {
    const c = await clusters.start({ serviceTimeMs: 40 });
    c.proxy.mode('blackhole');
    c.proxy.cut();
    // Until a link to n1 is up again, a dial to it is accepted and never answered; whichever way the requests
    // go (to n1 over a link it dialed itself, to n2, into the blackhole), each settles.
    expectInvariants(await submitAll(c.n0, inputs(16), 2000).settled);
    c.proxy.mode('forward');
    await converged(c);
    expectInvariants(await submitAll(c.n0, inputs(8), 3000).settled);
    expect(await clusters.closeLeavingNothing()).toEqual([]);
  });
});

describe('a seed that accepts TCP and never answers', () => {
  it('a node joining through it serves alone: its submits are refused at once, typed, and it joins a real seed later', async () => {
    const proxy = await clusters.proxy(() => 0);
    proxy.mode('blackhole');
    const hung = `ws://127.0.0.1:${proxy.port}/epara`;
    const make = (id: string, seeds: string[], hosted: boolean): MeshNode =>
      clusters.node(id, {
        transport: createWebSocketTransport({ host: '127.0.0.1', port: 0, connectTimeoutMs: 500 }),
        executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 5 } }, hosted: hosted ? ['echo'] : [] }),
        security: { psk: PSK, handshakeTimeoutMs: 500 },
        seeds,
      });
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
