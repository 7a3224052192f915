import { describe, expect, it } from 'vitest';
import { createManualClock, createSeededRandom } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { ManualTimers } from '@epara/core/testing';
import { silentLogger } from '@epara/core';
import { RingSync } from './ring-sync.js';
import { createFaultInjector } from './sync-faults.js';
import type { SyncFaults } from './sync-faults.js';

/** An in-test network: addresses are ids, delivery takes 1 ms, dead servers swallow messages. */
function createRing(ids: string[], faults: SyncFaults = {}, seed = 1) {
  const clock = createManualClock(1000);
  const timers: ManualTimers = createManualTimers(clock);
  const nodes = new Map<string, RingSync>();
  const dead = new Set<string>();
  const load = new Map<string, number>();
  const make = (id: string, epoch: number): RingSync => {
    const sync = new RingSync({
      selfId: id,
      epoch,
      clock,
      timers,
      periodMs: 500,
      ackTimeoutMs: 50,
      attempts: 2,
      fullEvery: 10,
      seeds: id === ids[0] ? [] : [ids[0]!],
      faults: createFaultInjector(faults, createSeededRandom(seed + id.charCodeAt(0))),
      logger: silentLogger,
      readSelf: () => ({ instances: [], load: load.get(id) ?? 0, freeMemoryBytes: 1e9, arrivalRates: {}, address: id }),
      send: (to, message) => {
        const target = to.id ?? to.address!;
        timers.setTimeout(() => {
          if (dead.has(target) || dead.has(id)) return;
          nodes.get(target)?.receive(message, (reply) =>
            timers.setTimeout(() => !dead.has(id) && nodes.get(id)?.receive(reply, () => undefined), 1),
          );
        }, 1);
      },
    });
    nodes.set(id, sync);
    sync.start();
    return sync;
  };
  for (const id of ids) make(id, 1);
  return { clock, timers, nodes, dead, load, make };
}

const alive = (s: RingSync): string[] => s.store.aliveIds();

describe('RingSync', () => {
  it('converges: every server learns every other server and its latest version', () => {
    const ring = createRing(['a', 'b', 'c', 'd']);
    ring.timers.advance(3000);
    for (const s of ring.nodes.values()) expect(alive(s)).toEqual(['a', 'b', 'c', 'd']);
    ring.load.set('c', 0.75);
    ring.timers.advance(1000);
    const version = ring.nodes.get('c')!.store.self.version;
    for (const s of ring.nodes.values()) {
      expect(s.store.get('c')!.load).toBe(0.75);
      expect(s.store.get('c')!.version).toBe(version);
    }
  });

  it('a flush lap brings a change to servers before it on the ring within one period plus a rotation', () => {
    const ring = createRing(['a', 'b', 'c', 'd']);
    ring.timers.advance(3000);
    ring.load.set('c', 0.25);
    // At most one period until the next token passes c, then the rest of the lap and the flush lap (ms each hop).
    ring.timers.advance(500 + 40);
    expect(ring.nodes.get('b')!.store.get('c')!.load).toBe(0.25);
    expect(ring.nodes.get('a')!.store.get('c')!.load).toBe(0.25);
  });

  it('bypasses a dead successor, marks it dead everywhere, and lets it rejoin with a new epoch', () => {
    const ring = createRing(['a', 'b', 'c', 'd']);
    ring.timers.advance(3000);
    ring.dead.add('b');
    ring.nodes.get('b')!.stop();
    ring.timers.advance(3000);
    for (const id of ['a', 'c', 'd']) expect(alive(ring.nodes.get(id)!)).toEqual(['a', 'c', 'd']);
    ring.dead.delete('b');
    const back = ring.make('b', 2);
    ring.timers.advance(3000);
    for (const s of ring.nodes.values()) {
      expect(alive(s)).toEqual(['a', 'b', 'c', 'd']);
      expect(s.store.get('b')!.epoch).toBe(back.store.self.epoch);
    }
  });

  it('hands the initiator role over when the lowest id dies', () => {
    const ring = createRing(['a', 'b', 'c']);
    ring.timers.advance(3000);
    ring.dead.add('a');
    ring.nodes.get('a')!.stop();
    let rounds = 0;
    ring.nodes.get('b')!.on('roundCompleted', () => rounds++);
    ring.load.set('c', 0.5);
    ring.timers.advance(6000);
    expect(rounds).toBeGreaterThan(0);
    expect(ring.nodes.get('b')!.store.get('c')!.load).toBe(0.5);
    expect(alive(ring.nodes.get('c')!)).toEqual(['b', 'c']);
  });

  it('still converges with 20% message loss and noisy values never touch the owner entry', () => {
    const ring = createRing(['a', 'b', 'c', 'd', 'e'], { lossProbability: 0.2, noise: 0.5 });
    ring.load.set('e', 0.4);
    ring.timers.advance(20_000);
    for (const s of ring.nodes.values()) expect(s.store.get('e')).toBeDefined();
    expect(ring.nodes.get('e')!.store.self.load).toBe(0.4);
    // Everyone has e's latest version, even though some tokens and acks were lost on the way.
    const v = ring.nodes.get('e')!.store.self.version;
    for (const s of ring.nodes.values()) expect(s.store.get('e')!.version).toBeGreaterThanOrEqual(v - 1);
  });
});
