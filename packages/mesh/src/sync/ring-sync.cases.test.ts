import { describe, expect, it } from 'vitest';
import { createManualClock, createSeededRandom, silentLogger } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { RingSync } from './ring-sync.js';
import { incarnationOf } from './view-store.js';
import { createFaultInjector } from './sync-faults.js';
import type { SyncMessage } from './sync-types.js';

// A documented default of RingSync, on a manual clock with 1 ms per message: without `suspicionMs` a silent
// successor is only suspected for max(3 periods, 2 · attempts · ackTimeoutMs) after its last sign of life
// before it is marked dead.
const PERIOD = 500;
const IDS = ['a', 'b', 'c', 'd'];

function createRing(o: { periodMs?: number; ackTimeoutMs?: number } = {}) {
  const clock = createManualClock(1000);
  const timers = createManualTimers(clock);
  const nodes = new Map<string, RingSync>();
  const down = new Set<string>();
  const lastSent = new Map<string, number>();
  const sent: { at: number; from: string; kind: string; origin?: string; round?: number }[] = [];
  for (const id of IDS) {
    const sync = new RingSync({
      selfId: id,
      epoch: 1,
      clock,
      timers,
      periodMs: o.periodMs ?? PERIOD,
      ackTimeoutMs: o.ackTimeoutMs ?? 50,
      attempts: 2,
      fullEvery: 1000,
      seeds: id === 'a' ? [] : ['a'],
      faults: createFaultInjector({}, createSeededRandom(1)),
      logger: silentLogger,
      readSelf: () => ({ instances: [], load: 0, freeMemoryBytes: 1e9, arrivalRates: {}, address: id }),
      send: (target, message: SyncMessage) => {
        const to = target.id ?? target.address!;
        if (down.has(id) || down.has(to)) return;
        lastSent.set(id, clock.now());
        sent.push({ at: clock.now(), from: id, kind: message.kind, ...(message.kind === 'token' ? { origin: message.token.origin, round: message.token.round } : {}) });
        timers.setTimeout(() => {
          if (down.has(to)) return;
          nodes.get(to)!.receive(message, (reply) => {
            if (!down.has(to)) lastSent.set(to, clock.now());
            timers.setTimeout(() => !down.has(id) && nodes.get(id)!.receive(reply, () => undefined), 1);
          });
        }, 1);
      },
    });
    nodes.set(id, sync);
    sync.start();
  }
  return { clock, timers, nodes, down, lastSent, sent };
}

describe('RingSync defaults', () => {
  it.each([
    // max(3 · 500, 2 · 2 · 50) = 1,500 ms: the periods decide.
    { periodMs: 500, ackTimeoutMs: 50, suspicionMs: 1500 },
    // max(3 · 100, 2 · 2 · 200) = 800 ms: the ack retries decide.
    { periodMs: 100, ackTimeoutMs: 200, suspicionMs: 800 },
  ])('suspects a silent successor for max(3 periods, 2 · attempts · ackTimeout) = $suspicionMs ms before marking it dead', ({ periodMs, ackTimeoutMs, suspicionMs }) => {
    const ring = createRing({ periodMs, ackTimeoutMs });
    ring.timers.advance(3000);
    for (const s of ring.nodes.values()) expect(s.store.aliveIds()).toEqual(IDS);
    // c goes silent: nothing reaches it and nothing leaves it.
    ring.nodes.get('c')!.stop();
    ring.down.add('c');
    // Its last sign of life is the last message it sent (a token it forwarded, an ack): its entry's stamp is older.
    const lastSign = ring.lastSent.get('c')!;
    let deadAt = -1;
    for (let t = 0; t < 5000 && deadAt < 0; t += 10) {
      ring.timers.advance(10);
      if (ring.clock.now() < lastSign + suspicionMs - 100) expect(ring.nodes.get('b')!.store.aliveIds()).toContain('c');
      if (['a', 'b', 'd'].every((id) => !ring.nodes.get(id)!.store.aliveIds().includes('c'))) deadAt = ring.clock.now();
    }
    // Dead no sooner than the window after it, and soon after (the next round's forward and its two attempts).
    expect(deadAt - lastSign).toBeGreaterThanOrEqual(suspicionMs);
    expect(deadAt - lastSign).toBeLessThanOrEqual(suspicionMs + periodMs + 2 * 2 * ackTimeoutMs + 100);
  });

  it('start is idempotent, stop halts every send, and a stopped server starts again', () => {
    const ring = createRing();
    ring.timers.advance(3000);
    const roundsOfA = (from: number, to: number) => ring.sent.filter((m) => m.from === 'a' && m.kind === 'token' && m.origin === 'a' && m.at > from && m.at <= to).length;
    // One round per period from the initiator; a second start() must not add a second round timer.
    let t0 = ring.clock.now();
    ring.timers.advance(10 * PERIOD);
    const once = roundsOfA(t0, ring.clock.now());
    expect(once).toBeGreaterThanOrEqual(9);
    expect(once).toBeLessThanOrEqual(11);
    ring.timers.advance(PERIOD / 2);
    ring.nodes.get('a')!.start();
    t0 = ring.clock.now();
    ring.timers.advance(10 * PERIOD);
    expect(roundsOfA(t0 - 1, ring.clock.now())).toBe(once);
    // ... and keeps its period: no round starts early because of it.
    const starts = ring.sent.filter((m) => m.from === 'a' && m.kind === 'token' && m.origin === 'a' && m.at >= t0 - PERIOD).map((m) => m.at);
    expect(starts.length).toBeGreaterThanOrEqual(10);
    // Each round is numbered one above the last.
    const rounds = ring.sent.filter((m) => m.from === 'a' && m.kind === 'token' && m.origin === 'a' && m.at >= t0 - PERIOD).map((m) => m.round!);
    for (let i = 1; i < rounds.length; i++) expect(rounds[i]! - rounds[i - 1]!).toBe(1);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBe(PERIOD);
    // Stopped: a sends nothing more (no round, no retry, no ack of its own accord).
    ring.nodes.get('a')!.stop();
    t0 = ring.clock.now();
    ring.timers.advance(4 * PERIOD);
    expect(ring.sent.filter((m) => m.from === 'a' && m.at > t0)).toEqual([]);
    // A token that still reaches it gets no answer, not even an ack.
    const replies: SyncMessage[] = [];
    ring.nodes.get('a')!.receive({ kind: 'token', from: 'd', token: { origin: 'b', epoch: 1, round: 99, full: false, wantFull: false, entries: [], stubs: [] } }, (m) => void replies.push(m));
    ring.timers.advance(PERIOD);
    expect(replies).toEqual([]);
    expect(ring.sent.filter((m) => m.from === 'a' && m.at > t0)).toEqual([]);
    // Started again, it originates rounds again.
    ring.nodes.get('a')!.start();
    t0 = ring.clock.now();
    ring.timers.advance(4 * PERIOD);
    expect(roundsOfA(t0, ring.clock.now())).toBeGreaterThanOrEqual(3);
  });
});

/** Servers driven by hand: what each sends goes to `outbox`, and nothing is delivered unless the test does it. */
function handDriven(ids: readonly { id: string; seeds: string[] }[]) {
  const clock = createManualClock(1000);
  const timers = createManualTimers(clock);
  const outbox: { from: string; to: string; m: SyncMessage }[] = [];
  const nodes = new Map<string, RingSync>();
  for (const { id, seeds } of ids) {
    nodes.set(id, new RingSync({
      selfId: id, epoch: 1, clock, timers, periodMs: PERIOD, ackTimeoutMs: 50, attempts: 2, fullEvery: 1000, seeds,
      faults: createFaultInjector({}, createSeededRandom(1)), logger: silentLogger,
      readSelf: () => ({ instances: [], load: 0, freeMemoryBytes: 1e9, arrivalRates: {}, address: id }),
      send: (target, m) => void outbox.push({ from: id, to: target.id ?? target.address!, m }),
    }));
  }
  /** Each joiner's join token, delivered to the server it joined through. */
  const join = (to: string) => {
    for (const o of outbox.splice(0)) if (o.m.kind === 'token' && o.to === to) nodes.get(to)!.receive(o.m, () => undefined);
  };
  return { clock, timers, outbox, nodes, join };
}

describe('RingSync, messages and late timers', () => {
  it('a stopped server takes nothing from a message: its view stays, no event, no answer, no timer left', () => {
    const t = handDriven([{ id: 'x', seeds: [] }, { id: 'y', seeds: ['x'] }]);
    const [x, y] = [t.nodes.get('x')!, t.nodes.get('y')!];
    x.start();
    x.stop();
    y.start();
    t.timers.advance(0); // y, alone, joins through x: a token carrying y's entry
    y.stop();
    const token = t.outbox.find((o) => o.to === 'x' && o.m.kind === 'token')!.m;
    let updated = 0;
    x.on('viewUpdated', () => void updated++);
    const replies: SyncMessage[] = [];
    x.receive(token, (m) => void replies.push(m));
    expect(x.store.get('y')).toBeUndefined();
    expect([updated, replies.length, t.timers.pending]).toEqual([0, 0, 0]);
  });

  it('a server holding a peer dead that hears from it shows it the dead mark at once, in a copy of the token', () => {
    // a is the ring's first server; b follows it, c comes after b (so a's forwards to b pass no dead server).
    const t = handDriven([{ id: 'a', seeds: [] }, { id: 'b', seeds: ['a'] }, { id: 'c', seeds: ['a'] }]);
    for (const s of t.nodes.values()) s.start();
    t.timers.advance(0);
    t.join('a');
    const a = t.nodes.get('a')!;
    expect(a.store.aliveIds()).toEqual(['a', 'b', 'c']);
    a.reportDead('c');
    t.outbox.length = 0;
    a.receive({ kind: 'token', from: 'c', token: { origin: 'c', epoch: 1, round: 7, full: false, wantFull: false, entries: [], stubs: [] } }, () => undefined);
    const toC = t.outbox.filter((o) => o.to === 'c');
    expect(toC).toHaveLength(1);
    const notice = toC[0]!.m;
    if (notice.kind !== 'token') throw new Error(`expected a token, got ${notice.kind}`);
    // The copy asks nothing of the ring (no full round); what it carries is c's dead mark, for c to outbid.
    expect(notice).toMatchObject({ from: 'a', token: { origin: 'c', round: 7, wantFull: false } });
    expect(notice.token.entries).toContainEqual(expect.objectContaining({ serverId: 'c', alive: false }));
  });

  it('a timer that ran later than peers wait for acks re-announces the server: its next incarnation, and a round of its own', () => {
    const ring = createRing();
    ring.timers.advance(3000);
    ring.timers.advance(PERIOD - 1); // every round timer is due 1 ms from now
    const version = (id: string) => incarnationOf(ring.nodes.get(id)!.store.self.version);
    const before = IDS.map(version);
    // The process stops for 301 ms (longer than 2 attempts × 50 ms): every timer fires 300 ms late.
    ring.clock.set(ring.clock.now() + 301);
    const pausedAt = ring.clock.now();
    ring.timers.advance(0);
    expect(IDS.map(version)).toEqual(before.map((v) => v + 1));
    // b, c and d are not the ring's initiator, and tokens came recently: each starts a round only to re-announce itself.
    for (const id of ['b', 'c', 'd']) expect(ring.sent.some((m) => m.at === pausedAt && m.from === id && m.kind === 'token' && m.origin === id)).toBe(true);
  });

  it('a timer that ran late with no peer alive joins through a seed, as an on-time one does', () => {
    const t = handDriven([{ id: 'y', seeds: ['s'] }]);
    const y = t.nodes.get('y')!;
    y.start();
    t.timers.advance(0);
    const joins = () => new Set(t.outbox.flatMap((o) => (o.to === 's' && o.m.kind === 'token' ? [o.m.token.round] : [])));
    expect(joins().size).toBe(1);
    const incarnation = incarnationOf(y.store.self.version);
    t.clock.set(t.clock.now() + PERIOD + 301);
    t.timers.advance(0);
    expect(incarnationOf(y.store.self.version)).toBe(incarnation + 1);
    // A second join token (a new round number; a retry of the first would carry its number).
    expect(joins().size).toBe(2);
  });
});
