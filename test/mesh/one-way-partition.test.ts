import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MeshNode } from '@epara/mesh';
import { aliveIds, input, ready, until } from './helpers.js';
import { completions, expectInvariants, FaultHarness, submitAll } from './fault-harness.js';
import { meshTypeOf } from './ws-frames.js';

/*
 * One-way partitions between real processes: every node sits behind its own frame-level TCP proxy (fault-harness.ts,
 * `proxiedPeer`), which drops every mesh frame going one way between two nodes while the other way, and the
 * WebSocket's own pings and pongs, still pass — the links stay open and look alive. n0 (this process) hosts nothing;
 * n1 and n2 host `echo`. A node that sends requests over such a link never hears their answers, or the peer never
 * hears them: every submit settles, right or typed; the node stops sending to the peer it cannot talk with and serves
 * on the other; after the heal everyone serves again.
 *
 * One cluster serves every case (starting three nodes, two of them processes, was most of each case's time): each
 * case starts from a healed cluster and ends by checking, as its last step, that everyone serves again after the
 * heal (`servesAgain`), which is also what the next case starts from.
 */

const h = new FaultHarness();
let n0!: MeshNode;
let done!: ReturnType<typeof completions>;
beforeAll(async () => {
  n0 = await cluster();
  done = completions(n0);
}, 60_000);
// A case that failed midway leaves no cut behind for the next one.
afterEach(() => h.frames(undefined));
afterAll(() => h.close());

/** Checks that every submit since `from` settled exactly once (one `requestCompleted` each). */
function settledOnce(from: { completed: number; submitted: number }): void {
  expect(done.count() - from.completed).toBe(n0.stats().submitted - from.submitted);
}

const inputs = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

/** n0 (observer) and the echo hosts n1 and n2, each behind its proxy; resolves once n0 sees both instances. */
async function cluster(): Promise<MeshNode> {
  // A short response grace: a request lost in the cut settles (and its link is probed) 300 ms after its deadline,
  // not a second — what the test waits on comes sooner, and nothing it checks depends on the grace.
  const n0 = await h.proxiedObserver({ responseGraceMs: 300 });
  const seed = n0.address!;
  await h.proxiedPeer({ id: 'n1', seed, serviceTimeMs: 20, tag: 1 });
  await h.proxiedPeer({ id: 'n2', seed, serviceTimeMs: 20, tag: 2 });
  await until(() => aliveIds(n0).join() === 'n0,n1,n2' && ready(n0, 'n1') && ready(n0, 'n2'), 'n0 sees n1 and n2 serving', 30_000);
  return n0;
}

/** Drops every mesh frame from `from` to `to` (pings, pongs and the other direction pass). */
function cutOneWay(from: string, to: string): { dropped: () => number } {
  let dropped = 0;
  h.frames((frame, link) => (link.from === from && link.to === to && meshTypeOf(frame) !== undefined ? (dropped++, []) : [frame.raw]));
  return { dropped: () => dropped };
}

/** After the heal: n0 sees both hosts serving again, and a burst is answered right by both. */
async function servesAgain(n0: MeshNode): Promise<void> {
  h.frames(undefined);
  await until(() => aliveIds(n0).join() === 'n0,n1,n2' && ready(n0, 'n1') && ready(n0, 'n2'), 'n0 sees n1 and n2 serving again', 30_000);
  const after = await submitAll(n0, inputs(16, 100), 10_000).settled;
  expectInvariants(after, [1, 2]);
  expect(after.every((o) => o.code === undefined)).toBe(true);
}

describe('one-way partitions between real processes', () => {
  for (const [from, to, what] of [
    ['n1', 'n0', 'n0 does not hear n1 (n1 hears n0): its answers are lost'],
    ['n0', 'n1', 'n1 does not hear n0 (n0 hears n1): the requests are lost'],
  ] as const) {
    it(`${what} — every submit settles, n0 serves on n2, and both serve after the heal`, async () => {
      const start = { completed: done.count(), submitted: n0.stats().submitted };
      const cut = cutOneWay(from, to);
      // Sent as the cut happens: a burst spreads over both hosts, and what went to n1 gets no answer.
      const during = submitAll(n0, inputs(16), 1500);
      // n0 finds it cannot talk with n1 — before, the links looked alive (pings passed, n1's entry stayed fresh
      // through n2's tokens) and n0 kept sending requests there, each lost until its deadline.
      await until(() => n0.view().entries['n1']?.alive === false, 'n0 stops counting on n1', 30_000);
      expectInvariants(await during.settled, [1, 2]);
      expect(cut.dropped()).toBeGreaterThan(0);
      // Whatever the view says of n1 meanwhile (n1 outbids its dead mark through n2), n0's requests are answered.
      const around = await submitAll(n0, inputs(16, 50), 5000).settled;
      expectInvariants(around, [1, 2]);
      expect(around.filter((o) => o.code !== undefined)).toEqual([]);
      await servesAgain(n0);
      settledOnce(start);
    }, 120_000); // a hang guard only: every wait above is on an event
  }

  it('a stream opened across the cut is pinned elsewhere, and one pinned across it ends typed so the host reopens it', async () => {
    // Pinned before the cut: frames flow, then n1's answers are lost.
    const before = await n0.openStream('echo', { rateHz: 5, stalenessMs: 1000 });
    before.push(input([1]));
    const it = before[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done !== true && first.value.ok && (first.value.outputs['x']!.data as Float32Array)[0]).toBe(2);
    const pinned = before.pinnedTo;
    cutOneWay(pinned, 'n0');
    // Its frames get no answer: each settles typed, and the stream ends once n0 closed the link that carried it.
    const codes: string[] = [];
    for (let k = 0; k < 3; k++) before.push(input([10 + k]));
    for (let r = await it.next(); r.done !== true; r = await it.next()) codes.push(r.value.ok ? 'ok' : r.value.error.code);
    expect(codes.length).toBeGreaterThanOrEqual(3);
    expect(codes.every((c) => ['DEADLINE_EXCEEDED', 'PEER_UNAVAILABLE'].includes(c))).toBe(true);
    await before.close();
    // Opened during the cut: admitted on the other host (an open whose acceptance is lost fails over).
    const other = pinned === 'n1' ? 'n2' : 'n1';
    const during = await n0.openStream('echo', { rateHz: 5, stalenessMs: 1000 });
    expect(during.pinnedTo).toBe(other);
    for (let k = 0; k < 3; k++) during.push(input([20 + k]));
    const summary = during.close();
    const values: number[] = [];
    for await (const r of during) values.push(r.ok ? (r.outputs['x']!.data as Float32Array)[0]! : -1);
    expect(values).toEqual([40, 42, 44]);
    expect(await summary).toMatchObject({ pushed: 3, completed: 3 });
    await servesAgain(n0);
  }, 120_000); // a hang guard only: every wait above is on an event
});
