import { describe, expect, it } from 'vitest';
import { createManualClock, createSeededRandom, silentLogger } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { RingSync } from './ring-sync.js';
import { createFaultInjector } from './sync-faults.js';

// Every 32 periods (the reseed period) a server sends a join token to each seed no alive entry of its view is at:
// how two sides of a partition that outlasted the dead retention find each other again. Between reseeds it sends the
// seed nothing.
const PERIOD = 500;
const RESEED_PERIODS = 32;

describe('RingSync: reseeding', () => {
  it('sends a join token to a seed no alive server is at once every 32 periods, and none to a seed that is alive', () => {
    const clock = createManualClock(1000);
    const timers = createManualTimers(clock);
    const nodes = new Map<string, RingSync>();
    const joins: Record<string, number[]> = { a: [], x: [] };
    for (const id of ['a', 'b']) {
      const sync = new RingSync({
        selfId: id,
        epoch: 1,
        clock,
        timers,
        periodMs: PERIOD,
        ackTimeoutMs: 50,
        attempts: 2,
        fullEvery: 1000,
        // b knows a, alive, and x, an address nobody answers at.
        seeds: id === 'a' ? [] : ['a', 'x'],
        faults: createFaultInjector({}, createSeededRandom(1)),
        logger: silentLogger,
        readSelf: () => ({ instances: [], load: 0, freeMemoryBytes: 1e9, arrivalRates: {}, address: id }),
        send: (target, message) => {
          const to = target.id ?? target.address!;
          // A join token: this server's own round, full, carrying only its own entry.
          if (id === 'b' && message.kind === 'token' && message.token.origin === 'b' && message.token.entries.length === 1 && to in joins) joins[to]!.push(clock.now());
          timers.setTimeout(() => nodes.get(to)?.receive(message, (reply) => timers.setTimeout(() => nodes.get(id)!.receive(reply, () => undefined), 1)), 1);
        },
      });
      nodes.set(id, sync);
      sync.start();
    }
    timers.advance(3000);
    expect(nodes.get('b')!.store.aliveIds()).toEqual(['a', 'b']);
    const from = clock.now();
    joins.x!.length = 0;
    joins.a!.length = 0;
    timers.advance(2 * RESEED_PERIODS * PERIOD);
    const toX = joins.x!.filter((t) => t > from);
    // Each reseed is one join token and its one retry after the ack timeout (attempts: 2), 32 periods apart.
    const t0 = toX[0]!;
    expect(toX).toEqual([t0, t0 + 50, t0 + RESEED_PERIODS * PERIOD, t0 + RESEED_PERIODS * PERIOD + 50]);
    expect(joins.a!.filter((t) => t > from)).toEqual([]);
  });
});
