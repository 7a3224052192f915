import { describe, expect, it } from 'vitest';
import { createManualClock, createSeededRandom, silentLogger } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { RingSync } from './ring-sync.js';
import { createFaultInjector } from './sync-faults.js';
import type { SyncMessage } from './sync-types.js';

/**
 * The ring's timing promises, on a manual clock with 1 ms per message: a change reaches every server within
 * one rotation of the token that picked it up (the flush lap), a delta lost on the way is repaired by a full
 * token, and every `fullEvery`-th round is full whatever happens.
 */

const PERIOD = 500;
const IDS = ['a', 'b', 'c', 'd'];

interface Delivery {
  readonly at: number;
  readonly from: string;
  readonly to: string;
  readonly message: SyncMessage;
}

/**
 * `lose(d)` true swallows a token but acknowledges it on the receiver's behalf, so the sender never retries:
 * the delta it carried is lost without anyone noticing.
 */
function createRing(o: { fullEvery?: number; lose?: (d: Delivery) => boolean } = {}) {
  const clock = createManualClock(1000);
  const timers = createManualTimers(clock);
  const nodes = new Map<string, RingSync>();
  const load = new Map<string, number>();
  const delivered: Delivery[] = [];
  for (const id of IDS) {
    const sync = new RingSync({
      selfId: id,
      epoch: 1,
      clock,
      timers,
      periodMs: PERIOD,
      ackTimeoutMs: 50,
      attempts: 2,
      fullEvery: o.fullEvery ?? 1000,
      seeds: id === 'a' ? [] : ['a'],
      faults: createFaultInjector({}, createSeededRandom(1)),
      logger: silentLogger,
      readSelf: () => ({ instances: [], load: load.get(id) ?? 0, freeMemoryBytes: 1e9, arrivalRates: {}, address: id }),
      send: (target, message) => {
        const to = target.id ?? target.address!;
        timers.setTimeout(() => {
          const d = { at: clock.now(), from: id, to, message };
          if (message.kind === 'token' && o.lose?.(d)) {
            const t = message.token;
            timers.setTimeout(() => nodes.get(id)!.receive({ kind: 'ack', from: to, origin: t.origin, epoch: t.epoch, round: t.round }, () => undefined), 1);
            return;
          }
          delivered.push(d);
          nodes.get(to)!.receive(message, (reply) => timers.setTimeout(() => nodes.get(id)!.receive(reply, () => undefined), 1));
        }, 1);
      },
    });
    nodes.set(id, sync);
    sync.start();
  }
  /** Advances 1 ms at a time until `done()` holds; returns the time it took (fails after `maxMs`). */
  const advanceUntil = (done: () => boolean, maxMs: number): number => {
    const start = clock.now();
    while (!done()) {
      if (clock.now() - start > maxMs) throw new Error(`not within ${maxMs} ms`);
      timers.advance(1);
    }
    return clock.now() - start;
  };
  return { clock, timers, nodes, load, delivered, advanceUntil };
}

/** True when a token of a new round from `a` has just been handed to its successor. */
const roundStarted = (ring: ReturnType<typeof createRing>, after: number) => () =>
  ring.delivered.some((d) => d.at > after && d.from === 'a' && d.to === 'b' && d.message.kind === 'token' && d.message.token.origin === 'a');

describe('RingSync timing', () => {
  it('a change picked up by a token reaches the servers before it on the ring within one rotation (flush lap)', () => {
    const ring = createRing();
    ring.timers.advance(3000);
    for (const s of ring.nodes.values()) expect(s.store.aliveIds()).toEqual(IDS);
    // Wait for a round to leave a, then change c before the token reaches it (c is two hops away).
    ring.advanceUntil(roundStarted(ring, ring.clock.now()), PERIOD + 10);
    ring.load.set('c', 0.5);
    const learned = (id: string) => () => ring.nodes.get(id)!.store.get('c')!.load === 0.5;
    // d is after c on the ring, a is the end of the lap; b, before c, needs the flush lap. A hop is 1 ms plus
    // its ack; a rotation of four servers is a few ms — far below the next round, one period away.
    const elapsed = ring.advanceUntil(() => ['a', 'b', 'd'].every((id) => learned(id)()), 100);
    expect(elapsed).toBeLessThanOrEqual(20);
  });

  it('a delta lost on the way is repaired by a full token', () => {
    let lost = 0;
    const ring = createRing({
      // Every delta token that would bring b the change on c is lost (acknowledged, so nobody resends it): only
      // a full token can repair b's view.
      lose: (d) => {
        if (d.to !== 'b' || d.message.kind !== 'token' || d.message.token.full) return false;
        const carries = d.message.token.entries.some((e) => e.serverId === 'c' && e.load === 0.5);
        if (carries) lost++;
        return carries;
      },
    });
    ring.timers.advance(3000);
    ring.load.set('c', 0.5);
    const bLearned = () => ring.nodes.get('b')!.store.get('c')!.load === 0.5;
    ring.advanceUntil(() => lost > 0, 2 * PERIOD);
    expect(bLearned()).toBe(false);
    // Once c's delta window has passed, tokens carry c as a stub: b sees a newer version than it holds, asks
    // for a full round, and the full token brings the content (fullEvery is far off in this ring).
    ring.advanceUntil(bLearned, 6 * PERIOD);
    const repair = ring.delivered.filter((d) => d.to === 'b' && d.message.kind === 'token').at(-1)!;
    expect(repair.message.kind === 'token' && repair.message.token.full).toBe(true);
    for (const s of ring.nodes.values()) expect(s.store.get('c')!.load).toBe(0.5);
  });

  it('every fullEvery-th round carries every entry in full, even on an idle ring', () => {
    const ring = createRing({ fullEvery: 4 });
    ring.timers.advance(3000);
    const from = ring.clock.now();
    ring.timers.advance(16 * PERIOD);
    const rounds = new Map<number, boolean>();
    for (const d of ring.delivered) {
      if (d.at <= from || d.from !== 'a' || d.message.kind !== 'token' || d.message.token.origin !== 'a') continue;
      const t = d.message.token;
      // A full token carries all four entries, an idle delta token none.
      expect(t.entries.length).toBe(t.full ? IDS.length : 0);
      rounds.set(t.round, t.full);
    }
    const ids = [...rounds.keys()].sort((x, y) => x - y);
    expect(ids.length).toBeGreaterThanOrEqual(15);
    const full = ids.filter((r) => rounds.get(r));
    expect(full.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < full.length; i++) expect(full[i]! - full[i - 1]!).toBe(4);
  });

  it('a server taking over as initiator starts with a full round, then sends deltas', () => {
    const ring = createRing();
    ring.timers.advance(3000);
    // a stops answering; b, next on the ring, takes over the rounds once tokens stop coming.
    ring.nodes.get('a')!.stop();
    const from = ring.clock.now();
    const fromB = () => ring.delivered.filter((d) => d.at > from && d.from === 'b' && d.message.kind === 'token' && d.message.token.origin === 'b');
    ring.advanceUntil(() => new Set(fromB().map((d) => (d.message.kind === 'token' ? d.message.token.round : -1))).size >= 2, 10 * PERIOD);
    const rounds = new Map<number, boolean>();
    for (const d of fromB()) if (d.message.kind === 'token') rounds.set(d.message.token.round, d.message.token.full);
    const [first, second] = [...rounds.keys()].sort((x, y) => x - y);
    expect([rounds.get(first!), rounds.get(second!)]).toEqual([true, false]);
  });
});
