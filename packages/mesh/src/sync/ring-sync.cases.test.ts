import { describe, expect, it } from 'vitest';
import { createManualClock, createSeededRandom, silentLogger } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { RingSync } from './ring-sync.js';
import { createFaultInjector } from './sync-faults.js';
import type { SyncMessage } from './sync-types.js';

// A documented default of RingSync, on a manual clock with 1 ms per message: without `suspicionMs` a silent
// successor is only suspected for max(3 periods, 2 · attempts · ackTimeoutMs) after its last sign of life
// before it is marked dead.
const PERIOD = 500;
const IDS = ['a', 'b', 'c', 'd'];

function createRing() {
  const clock = createManualClock(1000);
  const timers = createManualTimers(clock);
  const nodes = new Map<string, RingSync>();
  const down = new Set<string>();
  const lastSent = new Map<string, number>();
  for (const id of IDS) {
    const sync = new RingSync({
      selfId: id,
      epoch: 1,
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
        lastSent.set(id, clock.now());
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
  return { clock, timers, nodes, down, lastSent };
}

describe('RingSync defaults', () => {
  it('suspects a silent successor for max(3 periods, 2 · attempts · ackTimeout) = 1.5 s before marking it dead', () => {
    const ring = createRing();
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
      if (ring.clock.now() < lastSign + 1400) expect(ring.nodes.get('b')!.store.aliveIds()).toContain('c');
      if (['a', 'b', 'd'].every((id) => !ring.nodes.get(id)!.store.aliveIds().includes('c'))) deadAt = ring.clock.now();
    }
    // Dead no sooner than 1.5 s after it, and by the round after that (a round is one period, plus the acks).
    expect(deadAt - lastSign).toBeGreaterThanOrEqual(1500);
    expect(deadAt - lastSign).toBeLessThanOrEqual(1500 + PERIOD + 200);
  });
});
