import { afterEach, describe, expect, it } from 'vitest';
import { until } from './helpers.js';
import { completions, expectInvariants, submitAll } from './fault-harness.js';
import { converged, ProxiedClusters } from './proxied-cluster.js';

/*
 * Links that fail without closing, between real nodes on 127.0.0.1: every byte to and from n1 crosses a TCP
 * proxy (n1 advertises it, the others join through it), which stops forwarding on open connections (a route
 * that became a blackhole; TCP holds the bytes) or delays every byte by seconds. n2 also hosts `echo`. Every
 * request settles once, right or typed, by its deadline plus the grace plus a bound; the cluster serves around
 * the fault and converges when it ends; closed, it leaves no timer, socket or server behind.
 */

const clusters = new ProxiedClusters();
afterEach(() => clusters.close());

describe('links that fail without closing (TCP proxy on 127.0.0.1)', () => {
  it('a link that stops forwarding: requests settle, the cluster serves on n2, and converges once bytes flow again', async () => {
    const c = await clusters.start({ serviceTimeMs: 20 });
    const { n0, proxy: p } = c;
    const done = completions(n0);
    p.stall();
    expectInvariants(await submitAll(n0, [0, 1, 2, 3, 4, 5, 6, 7], 2000).settled, [1, 2]);
    await until(() => n0.view().entries['n1']?.alive === false, 'n0 marks the unreachable n1 dead', 30_000);
    const around = await submitAll(n0, [10, 11, 12, 13], 3000).settled;
    expectInvariants(around, [2]);
    expect(around.every((o) => o.code === undefined)).toBe(true);
    p.resume();
    await converged(c);
    const healed = await submitAll(n0, [20, 21, 22, 23], 3000).settled;
    expectInvariants(healed, [1, 2]);
    expect(healed.every((o) => o.code === undefined)).toBe(true);
    done.check();
    expect(await clusters.closeLeavingNothing()).toEqual([]);
  });

  it('a link that delays every byte by seconds: requests settle, late answers are dropped, and the cluster converges after', async () => {
    const c = await clusters.start({ serviceTimeMs: 20 });
    const { n0, proxy: p } = c;
    const done = completions(n0);
    p.latency(2500);
    expectInvariants(await submitAll(n0, [0, 1, 2, 3, 4, 5, 6, 7], 1500).settled, [1, 2]);
    await until(() => n0.view().entries['n1']?.alive === false, 'n0 marks the slow n1 dead', 30_000);
    p.latency(0);
    await converged(c);
    const healed = await submitAll(n0, [20, 21, 22, 23], 3000).settled;
    expectInvariants(healed, [1, 2]);
    expect(healed.every((o) => o.code === undefined)).toBe(true);
    done.check();
    expect(await clusters.closeLeavingNothing()).toEqual([]);
  });
});
