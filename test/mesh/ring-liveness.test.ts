import { describe, expect, it } from 'vitest';
import { completeFraction, createPausableRing } from './ring-harness.js';
import type { PausableRing } from './ring-harness.js';

const IDS = ['n0', 'n1', 'n2', 'n3', 'n4'];
const PERIOD = 500;

/** Advances 1 ms at a time until every view is complete; returns the time it took (or Infinity). */
function timeToComplete(ring: PausableRing, limitMs: number): number {
  for (let t = 0; t <= limitMs; t++) {
    if (ring.complete()) return t;
    ring.timers.advance(1);
  }
  return Infinity;
}

function deathsOf(ring: PausableRing, victim: string): () => number {
  let n = 0;
  for (const s of ring.nodes.values()) s.on('peerLeft', (e) => void (e.serverId === victim && n++));
  return () => n;
}

describe('ring liveness: a false death does not stick', () => {
  it.each(['n0', 'n2', 'n4'])('an idle server paused past the suspicion time (%s) is back in every view within two periods of resuming', (victim) => {
    const ring = createPausableRing(IDS, { periodMs: PERIOD });
    const deaths = deathsOf(ring, victim);
    ring.timers.advance(3000);
    expect(ring.complete()).toBe(true);
    ring.pause(victim);
    ring.timers.advance(6000);
    // Every peer gave up on it while it was paused: a real (false) death.
    for (const [id, s] of ring.nodes) if (id !== victim) expect(s.store.get(victim)!.alive).toBe(false);
    expect(deaths()).toBeGreaterThanOrEqual(IDS.length - 1);
    ring.resume(victim);
    expect(timeToComplete(ring, 2 * PERIOD)).toBeLessThanOrEqual(2 * PERIOD);
    // And it stays: the live entry outbid the dead mark everywhere.
    ring.timers.advance(10_000);
    expect(ring.complete()).toBe(true);
  });

  it('a server cut off from the ring (its timers running) is back within two periods of the network healing', () => {
    for (const cutMs of [5000, 30_000]) {
      const ring = createPausableRing(IDS, { periodMs: PERIOD });
      ring.timers.advance(3000);
      ring.isolate('n2');
      ring.timers.advance(cutMs);
      expect(ring.nodes.get('n1')!.store.get('n2')!.alive).toBe(false);
      expect(ring.nodes.get('n2')!.store.aliveIds()).toEqual(['n2']);
      ring.heal('n2');
      // It hears from nobody; it finds its way back through the seed or the predecessor's probes.
      expect(timeToComplete(ring, 5 * PERIOD)).toBeLessThanOrEqual(2 * PERIOD + 100);
    }
  });

  it('a short pause (below the suspicion time) is not a death at all', () => {
    const ring = createPausableRing(IDS, { periodMs: PERIOD });
    const deaths = deathsOf(ring, 'n2');
    ring.timers.advance(3000);
    ring.pause('n2');
    ring.timers.advance(1000);
    ring.resume('n2');
    ring.timers.advance(3000);
    expect(deaths()).toBe(0);
    expect(ring.complete()).toBe(true);
  });

  it('a server that really died is still marked dead, and probes of it back off', () => {
    const ring = createPausableRing(IDS, { periodMs: PERIOD });
    ring.timers.advance(3000);
    ring.pause('n2'); // never resumes
    ring.timers.advance(4000);
    for (const [id, s] of ring.nodes) if (id !== 'n2') expect(s.store.get('n2')!.alive).toBe(false);
    const sent = (): number => ring.sentTo.get('n2') ?? 0;
    const a = sent();
    ring.timers.advance(20_000);
    const early = sent() - a;
    ring.timers.advance(60_000);
    const late = sent() - a - early;
    expect(early).toBeGreaterThan(0);
    // 60 s late in its death cost fewer probes than the first 20 s.
    expect(late).toBeLessThan(early);
    expect(ring.nodes.get('n1')!.store.get('n2')!.alive).toBe(false);
  });
});

describe('ring liveness under sync loss (idle 5-server ring, 60 s)', () => {
  it('10% loss of tokens and acks: views complete at least 99% of the time', () => {
    for (const seed of [1, 2, 3]) {
      const ring = createPausableRing(IDS, { periodMs: PERIOD, faults: { lossProbability: 0.1 }, seed });
      ring.timers.advance(3000);
      expect(completeFraction(ring, 60_000)).toBeGreaterThanOrEqual(0.99);
    }
  });

  it('50% loss: no false death sticks (every view is whole again within seconds)', () => {
    const ring = createPausableRing(IDS, { periodMs: PERIOD, faults: { lossProbability: 0.5 }, seed: 7 });
    ring.timers.advance(3000);
    let incomplete = 0;
    let longest = 0;
    for (let t = 0; t < 60_000; t += 10) {
      ring.timers.advance(10);
      incomplete = ring.complete() ? 0 : incomplete + 10;
      longest = Math.max(longest, incomplete);
    }
    expect(longest).toBeLessThan(10 * PERIOD);
  });
});
