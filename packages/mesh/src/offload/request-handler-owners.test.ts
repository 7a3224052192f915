import { describe, expect, it } from 'vitest';
import { EparaError } from '@epara/core';
import type { ServerEntry } from '@epara/core';
import { handlerFixture, peerEntry, x } from './request-handler-fixture.js';

/*
 * A server that runs no instance of a service refuses a request OVERLOADED only on what its view says of the
 * peers (their reported waits, stretched by each one's measured correction). Such a request is handed to the
 * peers that could meet its deadline idle, best estimate first, so that the owner decides on its exact queue.
 */

/**
 * A handler on `a` (hosting `s` when `hosted`) whose view holds `peers` at the given one-way delays, at `now`
 * (each peer's entry written `ageMs` before it, reporting `loadPerSec` against a capacity of 100/s).
 */
function setup(peers: Record<string, { waitMs: number; delayMs: number; ageMs?: number; loadPerSec?: number }>, o: { hosted?: boolean; hopLimit?: number; now?: number } = {}) {
  const now = o.now ?? 0;
  const entryOf = (id: string, p: (typeof peers)[string]): ServerEntry => peerEntry(id, { waitMs: p.waitMs, updatedAt: now - (p.ageMs ?? 0), ...(p.loadPerSec === undefined ? {} : { loadPerSec: p.loadPerSec }) });
  const network = { delayMs: Object.fromEntries(Object.entries(peers).map(([id, p]) => [id, p.delayMs])) };
  // The local instance takes 200 ms an item: a request due in less is not run here.
  const f = handlerFixture({
    now,
    entries: Object.fromEntries(Object.entries(peers).map(([id, p]) => [id, entryOf(id, p)])),
    hosted: o.hosted === true,
    serviceTimeMs: 200,
    config: { network: () => network, hopLimit: o.hopLimit ?? 2, guardMs: 1 },
  });
  // As this file counts them: where each request went, and how many ran here.
  const events = {
    get offloaded() {
      return f.events.offloaded.map((e) => e.to);
    },
    rejected: f.events.rejected,
    get local() {
      return f.events.local.length;
    },
  };
  return { clock: f.clock, sent: f.sent, handler: f.handler, events };
}

const request = (deadline: number, o: { hops?: number; visited?: string[] } = {}) => ({ serviceId: 's', inputs: x, deadline, hops: o.hops ?? 0, visited: o.visited ?? [] });

describe('RequestHandler: a refusal on the view’s figures is the owner’s to make', () => {
  it('hands the request to the peer whose reported wait misses the deadline; its answer is the request’s', async () => {
    // b reports 150 ms of wait: 5 + 150 + 5 + 5 = 165 ms misses a 100 ms deadline, an idle b (15 ms) would not.
    const { sent, events, handler } = setup({ b: { waitMs: 150, delayMs: 5 } });
    const p = handler.handle(request(100));
    expect(sent.map((s) => s.to)).toEqual(['b']);
    const m = sent[0]!.m;
    expect(m.type === 'submit' && [m.hops, m.visited, m.budgetMs]).toEqual([1, ['a'], 100]);
    expect(events).toEqual({ offloaded: ['b'], rejected: [], local: 0 });
    handler.onResponse('b', { type: 'result', requestId: m.requestId, outputs: x });
    await expect(p).resolves.toEqual(x);
  });

  it('the owner’s own refusal comes back as the request’s error', async () => {
    const { sent, handler } = setup({ b: { waitMs: 150, delayMs: 5 } });
    const p = handler.handle(request(100));
    handler.onResponse('b', { type: 'error', requestId: sent[0]!.m.requestId!, error: new EparaError('OVERLOADED', 'b has no room either') });
    // No other peer to ask: the refusal, named, is the request's error.
    await expect(p).rejects.toMatchObject({ code: 'OVERLOADED', message: expect.stringContaining('b has no room either'), details: { refusals: [{ peer: 'b', reason: 'b has no room either' }] } });
  });

  it('asks the peers best estimate first, leaving out one that could not meet the deadline even idle', async () => {
    // c (wait 120, 5 ms away) is expected before b (wait 150); d is 60 ms away: idle it would answer at 125.
    const { sent, handler } = setup({ b: { waitMs: 150, delayMs: 5 }, c: { waitMs: 120, delayMs: 5 }, d: { waitMs: 0, delayMs: 60 } });
    void handler.handle(request(100)).catch(() => undefined);
    expect(sent.map((s) => s.to)).toEqual(['c']);
    // c's link fails before it answers: the request goes on to b, and never to d.
    handler.onPeerDown('c');
    expect(sent.map((s) => s.to)).toEqual(['c', 'b']);
  });

  it('refuses as before where it runs an instance itself: its exact queue misses and the view has no room', async () => {
    const { sent, events, handler } = setup({ b: { waitMs: 150, delayMs: 5 } }, { hosted: true });
    await expect(handler.handle(request(100))).rejects.toMatchObject({ code: 'OVERLOADED' });
    expect(sent).toEqual([]);
    expect(events.rejected).toEqual(['OVERLOADED']);
  });

  it('never hands it back to a server it came from', async () => {
    // b forwarded it here (and has the shorter wait): only c is asked.
    const { sent, handler } = setup({ b: { waitMs: 110, delayMs: 5 }, c: { waitMs: 150, delayMs: 5 } });
    void handler.handle(request(100, { hops: 1, visited: ['b'] })).catch(() => undefined);
    expect(sent.map((s) => [s.to, s.m.type === 'submit' && s.m.visited])).toEqual([['c', ['b', 'a']]]);
  });

  it('refuses as before with no hop left, or with no peer that could meet the deadline idle', async () => {
    const outOfHops = setup({ b: { waitMs: 150, delayMs: 5 } });
    await expect(outOfHops.handler.handle(request(100, { hops: 2 }))).rejects.toMatchObject({ code: 'OVERLOADED' });
    expect(outOfHops.events.rejected).toEqual(['OVERLOADED']);
    const far = setup({ d: { waitMs: 0, delayMs: 60 } });
    await expect(far.handler.handle(request(100))).rejects.toMatchObject({ code: 'DEADLINE_INFEASIBLE' });
    for (const s of [outOfHops, far]) expect(s.sent).toEqual([]);
  });
});

describe('RequestHandler: a request its own queue cannot meet, handed on at its entry', () => {
  // b's entry is 100 ms old and reported 150 ms of wait. Routing prices that wait as it stood (165 ms with travel
  // and run: a 100 ms budget misses); below capacity b has drained 100 ms of it since (65 ms: it fits). a's own
  // queue (200 ms an item) misses too: without the hand-off, the request would be refused for certain.
  const stale = { waitMs: 150, delayMs: 5, ageMs: 100 };

  it('hands it to the peer whose reported wait, drained over its entry’s age, meets the deadline; the peer decides', async () => {
    const { clock, sent, events, handler } = setup({ b: stale }, { hosted: true, now: 1000 });
    const p = handler.handle(request(clock.now() + 100));
    expect(sent.map((s) => s.to)).toEqual(['b']);
    const m = sent[0]!.m;
    expect(m.type === 'submit' && [m.hops, m.visited, m.budgetMs]).toEqual([1, ['a'], 100]);
    expect(events).toEqual({ offloaded: ['b'], rejected: [], local: 0 });
    handler.onResponse('b', { type: 'error', requestId: m.requestId!, error: new EparaError('OVERLOADED', 'b has no room either') });
    await expect(p).rejects.toMatchObject({ code: 'OVERLOADED', message: expect.stringContaining('b has no room either'), details: { refusals: [{ peer: 'b' }] } });
  });

  it('refuses when the peer’s reported load keeps its queue from draining, or the entry is too fresh to have drained', async () => {
    const full = setup({ b: { ...stale, loadPerSec: 100 } }, { hosted: true, now: 1000 });
    const fresh = setup({ b: { ...stale, ageMs: 10 } }, { hosted: true, now: 1000 });
    for (const s of [full, fresh]) {
      await expect(s.handler.handle(request(s.clock.now() + 100))).rejects.toMatchObject({ code: 'OVERLOADED' });
      expect(s.sent).toEqual([]);
      expect(s.events.rejected).toEqual(['OVERLOADED']);
    }
  });

  it('hands it on only at its entry: a request forwarded here is refused on this server’s queue', async () => {
    const { clock, sent, events, handler } = setup({ b: stale, c: { waitMs: 0, delayMs: 5 } }, { hosted: true, now: 1000 });
    await expect(handler.handle(request(clock.now() + 100, { hops: 1, visited: ['c'] }))).rejects.toMatchObject({ code: 'OVERLOADED' });
    expect(sent).toEqual([]);
    expect(events.rejected).toEqual(['OVERLOADED']);
  });
});
