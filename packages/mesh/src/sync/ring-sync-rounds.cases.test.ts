import { describe, expect, it } from 'vitest';
import { createManualClock, createSeededRandom, silentLogger } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { RingSync } from './ring-sync.js';
import { incarnationOf } from './view-store.js';
import { createFaultInjector } from './sync-faults.js';
import type { SyncFaults } from './sync-faults.js';
import type { SyncMessage, SyncToken } from './sync-types.js';

/*
 * The ring's rounds message by message: who starts them and when, how often a token is sent and to whom (laps,
 * retries, bypasses, probes of the dead, joins), what a send delay or loss does, and what a merge reports. A manual
 * clock, 1 ms per message; `block(from, to)` drops messages on the way.
 */

const PERIOD = 500;
const ACK = 50;
const ATTEMPTS = 2;
const IDS = ['a', 'b', 'c', 'd'];

interface Sent {
  at: number;
  from: string;
  to: string;
  /** The target's id: undefined for a send to a bare address (a join through a seed). */
  toId: string | undefined;
  m: SyncMessage;
}

function createRing(o: { faults?: SyncFaults; deadRetentionMs?: number } = {}) {
  const clock = createManualClock(1000);
  const timers = createManualTimers(clock);
  const nodes = new Map<string, RingSync>();
  const loads = new Map<string, number>();
  const sent: Sent[] = [];
  const delivered: Sent[] = [];
  const ring = {
    clock,
    timers,
    nodes,
    loads,
    sent,
    delivered,
    /** Messages from `from` to `to` this returns true for are lost. */
    block: (_from: string, _to: string): boolean => false,
    add(id: string, seeds: string[] = id === 'a' ? [] : ['a']): RingSync {
      const sync = new RingSync({
        selfId: id,
        epoch: 1,
        clock,
        timers,
        periodMs: PERIOD,
        ackTimeoutMs: ACK,
        attempts: ATTEMPTS,
        fullEvery: 1000,
        seeds,
        ...(o.deadRetentionMs !== undefined ? { deadRetentionMs: o.deadRetentionMs } : {}),
        faults: createFaultInjector(o.faults ?? {}, createSeededRandom(1)),
        logger: silentLogger,
        readSelf: () => ({ instances: [], load: loads.get(id) ?? 0, freeMemoryBytes: 1e9, arrivalRates: {}, address: id }),
        send: (target, m) => {
          const to = target.id ?? target.address!;
          const s: Sent = { at: clock.now(), from: id, to, toId: target.id, m };
          sent.push(s);
          timers.setTimeout(() => {
            if (ring.block(id, to)) return;
            delivered.push(s);
            nodes.get(to)?.receive(m, (reply) => {
              const r: Sent = { at: clock.now(), from: to, to: id, toId: id, m: reply };
              sent.push(r);
              timers.setTimeout(() => {
                if (ring.block(to, id)) return;
                delivered.push(r);
                nodes.get(id)?.receive(reply, () => undefined);
              }, 1);
            });
          }, 1);
        },
      });
      nodes.set(id, sync);
      sync.start();
      return sync;
    },
  };
  return ring;
}

const ringOf = (ids: readonly string[], o: Parameters<typeof createRing>[0] = {}) => {
  const ring = createRing(o);
  for (const id of ids) ring.add(id);
  return ring;
};

const tokenOf = (s: Sent): SyncToken | undefined => (s.m.kind === 'token' ? s.m.token : undefined);

/** The rounds `origin` started in (from, to], by round number. */
const roundsOf = (sent: readonly Sent[], origin: string, from: number, to: number): number[] => [
  ...new Set(sent.filter((s) => s.at > from && s.at <= to && s.from === origin && tokenOf(s)?.origin === origin).map((s) => tokenOf(s)!.round)),
];

/** How many times each server sent the token of (origin, round). */
const sendsOf = (sent: readonly Sent[], origin: string, round: number): Record<string, number> => {
  const n: Record<string, number> = {};
  for (const s of sent) {
    const t = tokenOf(s);
    if (t?.origin === origin && t.round === round) n[s.from] = (n[s.from] ?? 0) + 1;
  }
  return n;
};

describe('RingSync rounds: who starts them', () => {
  it('in a settled ring only the first server starts rounds, and no seed in the view is sent a join token', () => {
    const ring = ringOf(IDS);
    ring.timers.advance(6 * PERIOD);
    const from = ring.clock.now();
    // Past every server's 32nd tick, when each looks for seeds no alive entry is at.
    ring.timers.advance(40 * PERIOD);
    const later = ring.sent.filter((s) => s.at > from);
    expect(later.filter((s) => s.m.kind === 'token').length).toBeGreaterThan(0);
    expect(later.filter((s) => s.m.kind === 'token' && tokenOf(s)!.origin !== 'a').map((s) => `${s.from}:${tokenOf(s)!.origin}`)).toEqual([]);
    expect(later.filter((s) => s.toId === undefined).map((s) => `${s.from}->${s.to}`)).toEqual([]);
  });

  it('the second server takes the rounds over once no token came for more than 3 + 1 periods', () => {
    const clock = createManualClock(1000);
    const timers = createManualTimers(clock);
    const out: { at: number; m: SyncMessage }[] = [];
    const make = (id: string) =>
      new RingSync({
        selfId: id, epoch: 1, clock, timers, periodMs: PERIOD, ackTimeoutMs: ACK, attempts: ATTEMPTS, fullEvery: 1000, seeds: [],
        faults: createFaultInjector({}, createSeededRandom(1)), logger: silentLogger,
        readSelf: () => ({ instances: [], load: 0, freeMemoryBytes: 1e9, arrivalRates: {}, address: id }),
        send: (_to, m) => void out.push({ at: clock.now(), m }),
      });
    const a = make('a');
    const b = make('b');
    b.start();
    timers.advance(PERIOD - 1);
    // b's tick is due now; a token of a's, with a's entry, reaches it just before.
    clock.set(1000 + PERIOD);
    b.receive({ kind: 'token', from: 'a', token: { origin: 'a', epoch: 1, round: 1, full: true, wantFull: false, entries: [a.store.toWire('a', clock.now())!], stubs: [] } }, () => undefined);
    const heardAt = clock.now();
    const own = () => out.filter((o) => o.m.kind === 'token' && o.m.token.origin === 'b').map((o) => o.at);
    const before = own().length;
    timers.advance(4 * PERIOD);
    expect(own().length).toBe(before);
    timers.advance(PERIOD);
    expect(own().slice(before)[0]).toBe(heardAt + 5 * PERIOD);
  });

  it('a lone server completes each round it starts: one hop, no time', () => {
    const ring = createRing();
    const a = ring.add('a', []);
    const done: { hops: number; durationMs: number }[] = [];
    a.on('roundCompleted', (e) => void done.push({ hops: e.hops, durationMs: e.durationMs }));
    ring.timers.advance(2 * PERIOD);
    expect(done).toEqual([0, 1, 2].map(() => ({ hops: 1, durationMs: 0 })));
    expect(ring.sent).toEqual([]);
  });

  it('a timer late by exactly attempts × ackTimeout does not re-announce the server; a millisecond more does', () => {
    const ring = ringOf(IDS);
    ring.timers.advance(6 * PERIOD);
    // A re-announcement moves each server to its next incarnation (within one, no version beats a dead mark).
    const version = () => IDS.map((id) => incarnationOf(ring.nodes.get(id)!.store.self.version));
    const v0 = version();
    ring.timers.advance(PERIOD - 1); // every round timer is due 1 ms from now
    ring.clock.set(ring.clock.now() + 1 + ATTEMPTS * ACK);
    ring.timers.advance(0);
    expect(version()).toEqual(v0);
    ring.timers.advance(PERIOD - 1);
    ring.clock.set(ring.clock.now() + 1 + ATTEMPTS * ACK + 1);
    ring.timers.advance(0);
    expect(version()).toEqual(v0.map((v) => v + 1));
  });
});

describe('RingSync rounds: laps', () => {
  it('a round that carries a change makes two laps (the round and its flush lap), an idle round one', () => {
    const ring = ringOf(IDS);
    ring.timers.advance(6 * PERIOD + 100);
    let t = ring.clock.now();
    ring.timers.advance(PERIOD);
    const [idle] = roundsOf(ring.sent, 'a', t, ring.clock.now());
    expect(sendsOf(ring.sent, 'a', idle!)).toEqual({ a: 1, b: 1, c: 1, d: 1 });
    // c's load changes: the next round picks it up at c and carries it on, and the flush lap takes it to a and b.
    ring.loads.set('c', 0.5);
    t = ring.clock.now();
    ring.timers.advance(PERIOD);
    const [changed] = roundsOf(ring.sent, 'a', t, ring.clock.now());
    expect(sendsOf(ring.sent, 'a', changed!)).toEqual({ a: 2, b: 2, c: 2, d: 2 });
    for (const id of IDS) expect(ring.nodes.get(id)!.store.get('c')?.load).toBe(0.5);
  });

  it('a server forwards a token at most twice (its round and its flush lap), however often the token reaches it', () => {
    const ring = createRing();
    const b = ring.add('b', []);
    const a = ringOf([]).add('a', []);
    const c = ringOf([]).add('c', []);
    ring.block = () => true;
    const now = ring.clock.now();
    const token: SyncToken = { origin: 'a', epoch: 1, round: 5, full: true, wantFull: false, entries: [a.store.toWire('a', now)!, c.store.toWire('c', now)!], stubs: [] };
    for (let i = 0; i < 3; i++) b.receive({ kind: 'token', from: 'a', token }, () => undefined);
    expect(ring.sent.filter((s) => s.from === 'b' && s.to === 'c' && tokenOf(s)?.round === 5)).toHaveLength(2);
  });

  it('a joining server learns every entry in full from its join token’s lap, before any round', () => {
    const ring = ringOf(['a', 'b', 'c']);
    ring.timers.advance(6 * PERIOD + 100);
    const d = ring.add('d');
    ring.timers.advance(20);
    expect(d.store.aliveIds()).toEqual(IDS);
  });

  it('a change goes around a bypassed server within its round, and reaches that server in full the next round', () => {
    const ring = ringOf(IDS);
    ring.timers.advance(6 * PERIOD + 100);
    ring.loads.set('b', 0.25);
    // d hears nothing for the next round and its flush lap (it is bypassed, not dead: it spoke a period ago).
    ring.block = (_from, to) => to === 'd';
    ring.timers.advance(PERIOD + 300);
    // c, giving up on d 100 ms after b's change reached it, still sends that change on to a in full.
    for (const id of ['a', 'b', 'c']) expect(ring.nodes.get(id)!.store.get('b')?.load).toBe(0.25);
    expect(ring.nodes.get('d')!.store.get('b')?.load).toBe(0);
    expect(ring.nodes.get('c')!.store.aliveIds()).toContain('d');
    ring.block = () => false;
    ring.timers.advance(PERIOD);
    expect(ring.nodes.get('d')!.store.get('b')?.load).toBe(0.25);
  });
});

describe('RingSync rounds: retries, bypasses and probes', () => {
  it('a silent successor is sent each token `attempts` times, then the token goes around it', () => {
    const ring = ringOf(IDS);
    ring.timers.advance(6 * PERIOD + 100);
    ring.block = (from, to) => from === 'c' || to === 'c';
    const t = ring.clock.now();
    ring.timers.advance(PERIOD + 200);
    const [round] = roundsOf(ring.sent, 'a', t, ring.clock.now());
    const toC = ring.sent.filter((s) => s.to === 'c' && tokenOf(s)?.round === round && tokenOf(s)?.origin === 'a');
    expect(toC.map((s) => s.from)).toEqual(['b', 'b']);
    expect(toC[1]!.at - toC[0]!.at).toBe(ACK);
    expect(ring.delivered.some((s) => s.from === 'b' && s.to === 'd' && tokenOf(s)?.round === round)).toBe(true);
  });

  it('two silent successors in a row are both gone around within the same round', () => {
    const ring = ringOf(IDS);
    ring.timers.advance(6 * PERIOD + 100);
    ring.block = (from, to) => ['b', 'c'].includes(from) || ['b', 'c'].includes(to);
    const t = ring.clock.now();
    ring.timers.advance(PERIOD + 300);
    const [round] = roundsOf(ring.sent, 'a', t, ring.clock.now());
    const startedAt = ring.sent.find((s) => s.from === 'a' && tokenOf(s)?.round === round)!.at;
    const reached = ring.delivered.find((s) => s.to === 'd' && tokenOf(s)?.origin === 'a' && tokenOf(s)?.round === round);
    // b twice, then c twice, each send waiting out its ack: then d (`at` is when a sent it).
    expect(reached?.from).toBe('a');
    expect(reached?.at).toBe(startedAt + 2 * ATTEMPTS * ACK);
    expect(ring.nodes.get('a')!.store.aliveIds()).toEqual(IDS);
  });

  it('a server every other holds dead still gets a copy of the token every round', () => {
    const ring = ringOf(IDS);
    ring.timers.advance(6 * PERIOD);
    ring.block = (from, to) => from === 'd' || to === 'd';
    ring.timers.advance(10 * PERIOD);
    for (const id of ['a', 'b', 'c']) expect(ring.nodes.get(id)!.store.get('d')?.alive).toBe(false);
    const t = ring.clock.now();
    ring.timers.advance(3 * PERIOD);
    const toD = ring.sent.filter((s) => s.at > t && s.to === 'd');
    expect(toD.length).toBeGreaterThanOrEqual(3);
    expect(toD.every((s) => s.m.kind === 'token' && s.toId === 'd')).toBe(true);
  });

  it('an ack from a server that was only sent a probe does not stand for the successor’s', () => {
    const ring = createRing();
    const a = ring.add('a', []);
    const b = ringOf([]).add('b', []);
    const c = ringOf([]).add('c', []);
    ring.block = () => true;
    const now = ring.clock.now();
    a.receive({ kind: 'token', from: 'c', token: { origin: 'c', epoch: 1, round: 1, full: true, wantFull: false, entries: [b.store.toWire('b', now)!, c.store.toWire('c', now)!], stubs: [] } }, () => undefined);
    a.reportDead('b');
    ring.timers.advance(0);
    ring.sent.length = 0;
    a.startRound();
    const round = tokenOf(ring.sent[0]!)!.round;
    // The round goes to c, and b (held dead, between a and c) gets a copy.
    expect(ring.sent.map((s) => `${s.to}/${tokenOf(s)?.round}`).sort()).toEqual([`b/${round}`, `c/${round}`]);
    a.receive({ kind: 'ack', from: 'b', origin: 'a', epoch: 1, round }, () => undefined);
    ring.timers.advance(ACK);
    expect(ring.sent.filter((s) => s.to === 'c' && tokenOf(s)?.round === round)).toHaveLength(2);
  });

  it('a successor that spoke to this server a moment ago is only suspected, however old its stamp, across later tokens', () => {
    const ring = createRing();
    const b = ring.add('b', []);
    const a = ringOf([]).add('a', []);
    const c = ringOf([]).add('c', []);
    ring.block = () => true;
    const left: string[] = [];
    b.on('peerLeft', (e) => void left.push(e.serverId));
    const now = ring.clock.now();
    const token = (round: number, entries: SyncToken['entries']): SyncMessage => ({ kind: 'token', from: 'a', token: { origin: 'a', epoch: 1, round, full: true, wantFull: false, entries, stubs: [] } });
    // c's entry comes stamped 1,400 ms ago (suspicionMs is 1,500), and c answers b's forward.
    b.receive(token(1, [a.store.toWire('a', now)!, { ...c.store.toWire('c', now)!, ageMs: 1400 }]), () => undefined);
    b.receive({ kind: 'ack', from: 'c', origin: 'a', epoch: 1, round: 1 }, () => undefined);
    // The next token's forward to c goes unanswered: c's ack a moment ago is the sign of life that counts.
    b.receive(token(2, [a.store.toWire('a', now)!]), () => undefined);
    ring.timers.advance(ATTEMPTS * ACK + 10);
    expect(ring.sent.filter((s) => s.to === 'c' && tokenOf(s)?.round === 2)).toHaveLength(ATTEMPTS);
    expect(b.store.get('c')?.alive).toBe(true);
    expect(left).toEqual([]);
  });

  it('a seed that acknowledges the join token is sent it once', () => {
    const ring = createRing();
    ring.add('a', []);
    ring.add('y', ['a']);
    ring.timers.advance(3 * PERIOD);
    const joins = ring.sent.filter((s) => s.from === 'y' && s.toId === undefined);
    expect(joins.map((s) => s.to)).toEqual(['a']);
    expect(ring.nodes.get('y')!.store.aliveIds()).toEqual(['a', 'y']);
  });
});

describe('RingSync rounds: send faults', () => {
  it('with a send delay, every message leaves that much later and no answered token is sent twice', () => {
    const ring = ringOf(IDS, { faults: { delayMs: 40 } });
    ring.timers.advance(10 * PERIOD + 100);
    const t = ring.clock.now();
    ring.timers.advance(4 * PERIOD);
    const later = ring.sent.filter((s) => s.at > t && s.m.kind === 'token');
    const rounds = roundsOf(ring.sent, 'a', t, ring.clock.now());
    expect(rounds).toHaveLength(4);
    ring.timers.advance(PERIOD / 2); // the last of them goes around
    // a starts each round on its tick (1000 + k periods): its token leaves 40 ms after.
    for (const s of later.filter((x) => x.from === 'a')) expect(s.at % PERIOD).toBe(40);
    // Each idle round goes around once: one send by each server.
    for (const r of rounds) expect(sendsOf(ring.sent, 'a', r)).toEqual({ a: 1, b: 1, c: 1, d: 1 });
  });

  it('a stopped server sends nothing, not even the messages it delayed before the stop', () => {
    const ring = ringOf(IDS, { faults: { delayMs: 40 } });
    ring.timers.advance(10 * PERIOD + 10); // a started a round 10 ms ago: its token leaves in 30 ms
    ring.nodes.get('a')!.stop();
    const t = ring.clock.now();
    ring.timers.advance(3 * PERIOD);
    expect(ring.sent.filter((s) => s.from === 'a' && s.at >= t)).toEqual([]);
  });

  it('with a loss probability of 1 nothing leaves the server', () => {
    const ring = createRing({ faults: { lossProbability: 1 } });
    ring.add('y', ['s']);
    ring.timers.advance(3 * PERIOD);
    expect(ring.sent).toEqual([]);
  });
});

describe('RingSync rounds: what a merge reports', () => {
  it('viewUpdated comes when a merge changes an entry or forgets a dead one, not for a token that changes nothing', () => {
    const ring = createRing({ deadRetentionMs: 1000 });
    const b = ring.add('b', []);
    const a = ringOf([]).add('a', []);
    const c = ringOf([]).add('c', []);
    ring.block = () => true;
    let updates = 0;
    b.on('viewUpdated', () => void updates++);
    const deliver = (round: number, entries: SyncToken['entries']) =>
      b.receive({ kind: 'token', from: 'a', token: { origin: 'a', epoch: 1, round, full: true, wantFull: false, entries, stubs: [] } }, () => undefined);
    const t0 = ring.clock.now();
    deliver(1, [a.store.toWire('a', t0)!, { ...c.store.toWire('c', t0)!, alive: false }]);
    expect(updates).toBe(1);
    ring.timers.advance(500);
    // a's entry as held (same stamp), c dead 500 ms: nothing changes.
    deliver(2, [a.store.toWire('a', ring.clock.now())!]);
    expect(updates).toBe(1);
    expect(b.store.get('c')?.alive).toBe(false);
    ring.timers.advance(600);
    // c's dead mark is now past the retention: forgetting it is a change of the view.
    deliver(3, [a.store.toWire('a', ring.clock.now())!]);
    expect(updates).toBe(2);
    expect(b.store.get('c')).toBeUndefined();
  });
});
