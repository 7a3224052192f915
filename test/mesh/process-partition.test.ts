import { afterEach, describe, expect, it } from 'vitest';
import { aliveIds, ready, until } from './helpers.js';
import { completions, expectInvariants, FaultHarness, submitAll } from './fault-harness.js';

/*
 * A partition between real processes: every node sits behind its own frame-level TCP proxy (fault-harness.ts,
 * `proxiedPeer`), which drops every frame between the halves {n0, n1} and {n2, n3} — links stay open, new dials
 * across the cut get no answer to their `hello` — and later lets them through again. n0 (this process) hosts
 * nothing; n1 and n3 host `echo`. Every submit settles, right or typed; each half serves on; after the heal the
 * ring takes everyone in again and requests reach both hosts.
 */

const h = new FaultHarness();
afterEach(() => h.close());

const inputs = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);
const half = (id: string): number => (['n0', 'n1'].includes(id) ? 0 : 1);

describe('a partition between real processes, and its heal', () => {
  it('requests across the cut settle typed, each half serves on, and the ring reforms after the heal', async () => {
    const n0 = await h.proxiedObserver();
    const done = completions(n0);
    const seed = n0.address!;
    await h.proxiedPeer({ id: 'n1', seed, serviceTimeMs: 200, tag: 1 });
    await h.proxiedPeer({ id: 'n2', seed, serviceTimeMs: 200, tag: 2, hosted: false });
    await h.proxiedPeer({ id: 'n3', seed, serviceTimeMs: 200, tag: 3 });
    await until(() => aliveIds(n0).join() === 'n0,n1,n2,n3' && ready(n0, 'n1') && ready(n0, 'n3'), 'n0 sees all four and both instances', 30_000);

    let dropped = 0;
    h.frames((frame, link) => (half(link.from) === half(link.to) ? [frame.raw] : (dropped++, [])));
    // Sent as the cut happens: those that went to n3 are lost there and settle typed once n3 is found dead.
    const during = submitAll(n0, inputs(12), 4000);
    await until(() => aliveIds(n0).join() === 'n0,n1', 'n0 sees n2 and n3 dead', 30_000);
    expectInvariants(await during.settled, [1, 3]);
    const cut = await submitAll(n0, inputs(6, 20), 5000).settled;
    expectInvariants(cut, [1]);
    expect(cut.every((o) => o.code === undefined)).toBe(true);
    expect(dropped).toBeGreaterThan(0);

    h.frames(undefined);
    await until(() => aliveIds(n0).join() === 'n0,n1,n2,n3' && ready(n0, 'n3'), 'n0 sees all four again after the heal', 30_000);
    // Two more full rounds from n0, the one initiator of the healed ring.
    let rounds = 0;
    await new Promise<void>((resolve) => n0.on('syncCompleted', () => void (++rounds === 2 && resolve())));
    expect(aliveIds(n0).join()).toBe('n0,n1,n2,n3');
    expect(n0.stats().leader).toBe('n0');
    // n1 takes 200 ms a request: a burst spills over to n3 once n1's queue is long.
    const healed = await submitAll(n0, inputs(16, 40), 10_000).settled;
    expectInvariants(healed, [1, 3]);
    expect(healed.every((o) => o.code === undefined)).toBe(true);
    expect(new Set(healed.map((o) => o.server))).toEqual(new Set([1, 3]));
    done.check();
  }, 120_000); // a hang guard only: every wait above is on an event
});
