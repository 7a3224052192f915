import { describe, expect, it } from 'vitest';
import { createManualClock, createSeededRandom, silentLogger } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { RingSync } from './ring-sync.js';
import { createFaultInjector } from './sync-faults.js';

/*
 * A cluster started at once, its first server — the others' seed, with no seed of its own — up last (it loads its
 * models first): the others found each other through another seed meanwhile, so none is alone and none dialed the
 * late seed again until the reseed, 32 periods on. The first server stayed a cluster of its own that long: a worker
 * that unloaded a model then had nowhere to send its requests. A seed never yet at an alive entry is now dialed
 * after 1, 2, 4… periods (at most 32 apart): the late seed is in every view within about as long again as it took
 * to come up.
 */

const PERIOD = 500;

describe('RingSync: a seed that comes up after the others met', () => {
  it('is found within twice its start-up delay, long before the 32-period reseed', () => {
    const clock = createManualClock(1000);
    const timers = createManualTimers(clock);
    const nodes = new Map<string, RingSync>();
    const joinsTo: Record<string, number> = {};
    const make = (id: string, seeds: string[]): RingSync => {
      const sync = new RingSync({
        selfId: id,
        epoch: 1,
        clock,
        timers,
        periodMs: PERIOD,
        ackTimeoutMs: 50,
        attempts: 2,
        fullEvery: 1000,
        seeds,
        faults: createFaultInjector({}, createSeededRandom(1)),
        logger: silentLogger,
        readSelf: () => ({ instances: [], load: 0, freeMemoryBytes: 1e9, arrivalRates: {}, address: id }),
        send: (target, message) => {
          const to = target.id ?? target.address!;
          if (target.id === undefined) joinsTo[to] = (joinsTo[to] ?? 0) + 1;
          // A server not started yet (or an address nobody is at) drops what is sent to it.
          timers.setTimeout(() => nodes.get(to)?.receive(message, (reply) => timers.setTimeout(() => nodes.get(id)?.receive(reply, () => undefined), 1)), 1);
        },
      });
      nodes.set(id, sync);
      sync.start();
      return sync;
    };
    // The entry (seeds: both workers) and the second worker (seed: the first) start; the first worker is 10 periods late.
    const entry = make('entry', ['w1', 'w2']);
    const w2 = make('w2', ['w1']);
    timers.advance(2 * PERIOD);
    expect(entry.store.aliveIds()).toEqual(['entry', 'w2']);
    // Backed off meanwhile: two servers dialing every period, each join with its one retry, would send 32 in 8 periods.
    joinsTo['w1'] = 0;
    timers.advance(8 * PERIOD);
    expect(joinsTo['w1']).toBeLessThanOrEqual(2 * 2 * 4);
    const w1 = make('w1', []);
    timers.advance(10 * PERIOD);
    for (const s of [entry, w1, w2]) expect(s.store.aliveIds()).toEqual(['entry', 'w1', 'w2']);
  });
});
