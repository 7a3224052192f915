import { describe, expect, it } from 'vitest';
import { createManualClock, createSeededRandom, silentLogger } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { RingSync } from './ring-sync.js';
import { createFaultInjector } from './sync-faults.js';

// A server sends a join token to each seed no alive entry of its view is at: a seed never yet at one (not up yet, or
// an address nobody answers at) after 1, 2, 4… periods, then every 32 periods (the reseed period); a seed that was
// (a partition that outlasted the dead retention) every 32 periods. Between them it sends the seed nothing.
const PERIOD = 500;
const RESEED_PERIODS = 32;

describe('RingSync: reseeding', () => {
  it('sends join tokens to a seed no alive server is at ever less often, down to once every 32 periods, and none to a seed that is alive', () => {
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
    // Each is one join token and its one retry after the ack timeout (attempts: 2); the gaps double up to 32 periods.
    const rounds = toX.filter((_, i) => i % 2 === 0);
    expect(toX.filter((_, i) => i % 2 === 1)).toEqual(rounds.map((t) => t + 50));
    const gaps = rounds.slice(1).map((t, i) => t - rounds[i]!);
    expect(gaps.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]).toBe(Math.min(RESEED_PERIODS * PERIOD, 2 * gaps[i - 1]!));
    expect(gaps.at(-1)).toBe(RESEED_PERIODS * PERIOD);
    expect(joins.a!.filter((t) => t > from)).toEqual([]);
  });
});
