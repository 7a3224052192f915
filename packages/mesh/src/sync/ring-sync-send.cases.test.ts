import { describe, expect, it } from 'vitest';
import { createManualClock, createSeededRandom, silentLogger } from '@epara/core';
import type { Logger } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { RingSync } from './ring-sync.js';
import { createFaultInjector } from './sync-faults.js';

describe('RingSync: a send that throws', () => {
  it('is logged at debug with its error and does not stop the server from trying again', () => {
    const clock = createManualClock(1000);
    const timers = createManualTimers(clock);
    const failures: unknown[] = [];
    const logger: Logger = { ...silentLogger, debug: (o) => void failures.push(o) };
    const refused = new Error('link refused');
    let attempts = 0;
    const sync = new RingSync({
      selfId: 'b',
      epoch: 1,
      clock,
      timers,
      periodMs: 100,
      ackTimeoutMs: 20,
      attempts: 2,
      fullEvery: 10,
      seeds: ['a'],
      faults: createFaultInjector({}, createSeededRandom(1)),
      logger,
      readSelf: () => ({ instances: [], load: 0, freeMemoryBytes: 0, arrivalRates: {}, address: 'b' }),
      send: () => {
        attempts++;
        throw refused;
      },
    });
    expect(() => {
      sync.start();
      timers.advance(1000);
    }).not.toThrow();
    expect(attempts).toBeGreaterThan(1);
    expect(failures.filter((o) => (o as { err?: unknown }).err === refused)).toHaveLength(attempts);
    sync.stop();
  });
});
