import { describe, expect, it } from 'vitest';
import { createManualClock, createSeededRandom, silentLogger } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { RingSync } from './ring-sync.js';
import { createFaultInjector } from './sync-faults.js';
import type { SyncMessage } from './sync-types.js';

/*
 * The membership events a ring server emits (peerJoined, peerLeft, roundCompleted), on a manual clock with 1 ms
 * per message and no faults.
 */

const PERIOD = 500;
const IDS = ['a', 'b', 'c', 'd'];

function createRing() {
  const clock = createManualClock(1000);
  const timers = createManualTimers(clock);
  const nodes = new Map<string, RingSync>();
  const down = new Set<string>();
  const joined: string[] = [];
  const left: string[] = [];
  const rounds: { at: string; origin: string; hops: number; durationMs: number }[] = [];
  for (const id of IDS) {
    const sync = new RingSync({
      selfId: id,
      epoch: 7,
      clock,
      timers,
      periodMs: PERIOD,
      ackTimeoutMs: 50,
      attempts: 2,
      fullEvery: 1000,
      seeds: id === 'a' ? [] : ['a'],
      faults: createFaultInjector({}, createSeededRandom(1)),
      logger: silentLogger,
      readSelf: () => ({ instances: [], load: 0, freeMemoryBytes: 1e9, arrivalRates: {}, address: id }),
      send: (target, message: SyncMessage) => {
        const to = target.id ?? target.address!;
        if (down.has(id) || down.has(to)) return;
        timers.setTimeout(() => {
          if (down.has(to)) return;
          nodes.get(to)!.receive(message, (reply) => timers.setTimeout(() => !down.has(id) && nodes.get(id)!.receive(reply, () => undefined), 1));
        }, 1);
      },
    });
    sync.on('peerJoined', (e) => void joined.push(`${id}:${e.serverId}@${e.epoch}`));
    sync.on('peerLeft', (e) => void left.push(`${id}:${e.serverId}`));
    sync.on('roundCompleted', (e) => void rounds.push({ at: id, ...e }));
    nodes.set(id, sync);
    sync.start();
  }
  return { clock, timers, nodes, down, joined, left, rounds };
}

describe('RingSync membership events', () => {
  it('each server announces every other one joining once, with its epoch', () => {
    const ring = createRing();
    ring.timers.advance(6 * PERIOD);
    const expected = IDS.flatMap((id) => IDS.filter((o) => o !== id).map((o) => `${id}:${o}@7`));
    expect([...ring.joined].sort()).toEqual(expected.sort());
    expect(ring.left).toEqual([]);
    for (const n of ring.nodes.values()) n.stop();
  });

  it('a round completed by its origin reports the servers it passed and how long it took', () => {
    const ring = createRing();
    ring.timers.advance(6 * PERIOD);
    // Once every server joined, each round, full or delta, passes all four (as an entry or a stub).
    expect(ring.rounds.slice(-IDS.length).map((r) => r.hops)).toEqual(IDS.map(() => IDS.length));
    for (const r of ring.rounds) {
      expect(r.at).toBe(r.origin);
      expect(r.hops).toBeLessThanOrEqual(IDS.length);
      expect(r.durationMs).toBeGreaterThanOrEqual(0);
      expect(r.durationMs).toBeLessThan(PERIOD);
    }
    for (const n of ring.nodes.values()) n.stop();
  });

  it('a server that stops answering leaves every other server’s view once', () => {
    const ring = createRing();
    ring.timers.advance(6 * PERIOD);
    ring.down.add('c');
    ring.timers.advance(20 * PERIOD);
    expect(ring.left.filter((e) => e.endsWith(':c')).sort()).toEqual(['a:c', 'b:c', 'd:c']);
    // c, cut off, holds the others dead in its own view; nobody else loses anyone.
    expect(ring.left.filter((e) => !e.endsWith(':c') && !e.startsWith('c:'))).toEqual([]);
    for (const n of ring.nodes.values()) n.stop();
  });
});
