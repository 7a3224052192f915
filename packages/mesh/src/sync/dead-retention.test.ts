import { describe, expect, it } from 'vitest';
import { createManualClock, createSeededRandom, silentLogger } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { RingSync } from './ring-sync.js';
import { createFaultInjector } from './sync-faults.js';
import { ViewStore } from './view-store.js';

const state = (address: string) => ({ instances: [], load: 0, freeMemoryBytes: 1e9, arrivalRates: {}, address });

/** An in-test ring (delivery 1 ms, dead servers swallow messages) that records the size of every token sent. */
function createRing(retention: { deadRetentionMs?: number; maxDeadEntries?: number }) {
  const clock = createManualClock(1000);
  const timers = createManualTimers(clock);
  const nodes = new Map<string, RingSync>();
  const dead = new Set<string>();
  let largestToken = 0;
  const make = (id: string, epoch = 1): RingSync => {
    const sync = new RingSync({
      selfId: id, epoch, clock, timers, periodMs: 500, ackTimeoutMs: 50, attempts: 2, fullEvery: 10,
      seeds: id === 'a' ? [] : ['a'],
      faults: createFaultInjector({}, createSeededRandom(1)),
      logger: silentLogger,
      readSelf: () => state(id),
      ...retention,
      send: (to, message) => {
        if (message.kind === 'token') largestToken = Math.max(largestToken, message.token.entries.length + message.token.stubs.length);
        const target = to.id ?? to.address!;
        timers.setTimeout(() => {
          if (dead.has(target) || dead.has(id) || cut.has(`${id}>${target}`)) return;
          nodes.get(target)?.receive(message, (reply) => timers.setTimeout(() => !dead.has(id) && nodes.get(id)?.receive(reply, () => undefined), 1));
        }, 1);
      },
    });
    nodes.set(id, sync);
    dead.delete(id);
    sync.start();
    return sync;
  };
  /** Cuts `from` off `to` (one way); `heal` restores every link. */
  const cut = new Set<string>();
  const kill = (id: string): void => {
    dead.add(id);
    nodes.get(id)!.stop();
  };
  const partition = (left: readonly string[], right: readonly string[]): void => {
    for (const l of left) for (const r of right) (cut.add(`${l}>${r}`), cut.add(`${r}>${l}`));
  };
  return { clock, timers, nodes, make, kill, partition, heal: () => cut.clear(), largestToken: () => largestToken };
}

describe('forgetting the dead', () => {
  it('many short-lived servers leave at most maxDeadEntries dead behind, and none once the retention passed', () => {
    const ring = createRing({ deadRetentionMs: 60_000, maxDeadEntries: 8 });
    for (const id of ['a', 'b', 'c']) ring.make(id);
    ring.timers.advance(3000);
    let mostHeld = 0;
    for (let k = 0; k < 40; k++) {
      const id = `t${String(k).padStart(2, '0')}`;
      ring.make(id);
      ring.timers.advance(2000); // joins, is seen by everyone
      expect(ring.nodes.get('b')!.store.aliveIds()).toContain(id);
      ring.kill(id);
      ring.timers.advance(3000); // marked dead everywhere
      for (const s of ['a', 'b', 'c']) mostHeld = Math.max(mostHeld, ring.nodes.get(s)!.store.ids().length);
    }
    expect(mostHeld).toBeLessThanOrEqual(3 + 8 + 1);
    expect(ring.largestToken()).toBeLessThanOrEqual(3 + 8 + 1);
    ring.timers.advance(61_000);
    for (const s of ['a', 'b', 'c']) expect(ring.nodes.get(s)!.store.ids().sort()).toEqual(['a', 'b', 'c']);
    // A forgotten server that comes back is taken in again like a new one.
    ring.make('t00', 2);
    ring.timers.advance(3000);
    for (const s of ['a', 'b', 'c', 't00']) expect(ring.nodes.get(s)!.store.aliveIds()).toEqual(['a', 'b', 'c', 't00']);
  });

  it('a server cut off past the retention and forgotten is taken in again when it comes back', () => {
    const ring = createRing({ deadRetentionMs: 10_000 });
    for (const id of ['a', 'b', 'c']) ring.make(id);
    ring.timers.advance(3000);
    ring.kill('c');
    ring.timers.advance(20_000);
    expect(ring.nodes.get('a')!.store.get('c')).toBeUndefined();
    ring.make('c', 2);
    ring.timers.advance(3000);
    for (const s of ['a', 'b', 'c']) expect(ring.nodes.get(s)!.store.aliveIds()).toEqual(['a', 'b', 'c']);
  });

  it('a partition that outlasts the retention heals: each side forgot the other, and the seeds bring them together', () => {
    const ring = createRing({ deadRetentionMs: 10_000 });
    for (const id of ['a', 'b', 'c', 'd']) ring.make(id);
    ring.timers.advance(3000);
    ring.partition(['a', 'b'], ['c', 'd']);
    ring.timers.advance(30_000);
    expect(ring.nodes.get('a')!.store.ids().sort()).toEqual(['a', 'b']);
    expect(ring.nodes.get('c')!.store.ids().sort()).toEqual(['c', 'd']);
    ring.heal();
    ring.timers.advance(40_000); // within the reseed period (32 × 500 ms) and a round or two
    for (const s of ['a', 'b', 'c', 'd']) expect(ring.nodes.get(s)!.store.aliveIds()).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('ViewStore.forgetDead', () => {
  const entry = (id: string, alive: boolean, ageMs: number) => ({ serverId: id, epoch: 1, version: 1, alive, ageMs, ...state(id) });

  it('forgets dead entries past the retention and the oldest past the cap, never live ones or its own', () => {
    const store = new ViewStore('a', 1, 0, state('a'), undefined, { retentionMs: 1000, maxDead: 2 });
    store.applyEntry(entry('old', false, 0), 0);
    store.applyEntry(entry('live', true, 0), 0);
    store.applyEntry(entry('d1', false, 0), 100);
    store.applyEntry(entry('d2', false, 0), 200);
    expect(store.forgetDead(300).sort()).toEqual(['old']); // three dead, cap two: the oldest-stamped goes
    expect(store.forgetDead(1150).sort()).toEqual(['d1']); // stamped 1 050 ms ago
    expect(store.forgetDead(5000).sort()).toEqual(['d2']);
    expect(store.ids().sort()).toEqual(['a', 'live']);
  });

  it('does not take back a dead entry it would forget at once (past the retention, or older than every dead one at the cap)', () => {
    const store = new ViewStore('a', 1, 10_000, state('a'), undefined, { retentionMs: 1000, maxDead: 1 });
    expect(store.applyEntry(entry('gone', false, 5000), 10_000)).toBe('ignored');
    expect(store.applyStub({ serverId: 'gone', epoch: 1, version: 1, alive: false, ageMs: 5000 }, 10_000)).toBe('ignored');
    expect(store.applyEntry(entry('d1', false, 100), 10_000)).toBe('updated');
    expect(store.applyEntry(entry('older', false, 200), 10_000)).toBe('ignored');
    // Alive, it is news whatever its age: a server back from a long cut.
    expect(store.applyEntry(entry('gone', true, 5000), 10_000)).toBe('updated');
    expect(store.ids().sort()).toEqual(['a', 'd1', 'gone']);
  });

  it('a store given no retention forgets nothing (the ring gives it one; another view sync may not)', () => {
    const store = new ViewStore('a', 1, 0, state('a'));
    store.applyEntry(entry('d', false, 0), 0);
    expect(store.forgetDead(10 * 3_600_000)).toEqual([]);
  });
});

describe('the failure detector of ids the view does not hold', () => {
  it('keeps nothing for ids that spoke to the ring but are not in the view', () => {
    const ring = createRing({});
    for (const id of ['a', 'b']) ring.make(id);
    ring.timers.advance(3000);
    const a = ring.nodes.get('a')!;
    // Acks under ids `a` never held (a peer cycling ids, a server forgotten since): each is a sign of life heard.
    for (let k = 0; k < 50; k++) a.receive({ kind: 'ack', from: `ghost${k}`, origin: 'a', epoch: 1, round: 1 }, () => undefined);
    ring.timers.advance(3000);
    expect(a.store.ids().sort()).toEqual(['a', 'b']);
    expect(a.trackedPeers).toBeLessThanOrEqual(2);
  });
});
