import { describe, expect, it } from 'vitest';
import { EparaError } from '../errors/epara-error.js';
import { createProfile } from '../profiles/latency-profile.js';
import { LaunchPlan } from './launch-plan.js';
import { streamCapacity } from './stream-capacity.js';

// streamCapacity at the edges of its rule (a pack of `n` fits when its hold H(n) is positive and 2·H(n) ≤ S) and of
// its options; and the launch decision's optional times, each cleared on its own.

/** 10 ms for one frame, 2 ms more for each further frame up to four. */
const profile = createProfile('cpu', [
  { batch: 1, ms: 10 },
  { batch: 2, ms: 12 },
  { batch: 3, ms: 14 },
  { batch: 4, ms: 16 },
]);

describe('streamCapacity edges', () => {
  it('takes a pack whose two holds fill the staleness budget exactly', () => {
    expect(streamCapacity(profile, { stalenessMs: 32, maxBatch: 4 })).toEqual({ ratePerSec: 250, packSize: 4 });
  });

  it('falls back to a pack of one when only that fits', () => {
    expect(streamCapacity(profile, { stalenessMs: 20, maxBatch: 4 })).toEqual({ ratePerSec: 100, packSize: 1 });
    expect(streamCapacity(profile, { stalenessMs: 19.99, maxBatch: 4 })).toEqual({ ratePerSec: 0, packSize: 0 });
  });

  it('accepts a largest pack of exactly 1', () => {
    expect(streamCapacity(profile, { stalenessMs: 100, maxBatch: 1 })).toEqual({ ratePerSec: 100, packSize: 1 });
  });

  it('prices no pack that holds the device for no time (an infinite learned speed)', () => {
    // A size whose hold is 0 would claim an infinite rate: the next size down is priced instead.
    const speed = (n: number): number => (n >= 3 ? Number.POSITIVE_INFINITY : 1);
    expect(streamCapacity(profile, { stalenessMs: 100, maxBatch: 4, speed })).toEqual({ ratePerSec: 2000 / 12, packSize: 2 });
    expect(streamCapacity(profile, { stalenessMs: 100, maxBatch: 4, speed: () => Number.POSITIVE_INFINITY })).toEqual({ ratePerSec: 0, packSize: 0 });
  });

  it('names the option it refuses', () => {
    const field = (o: { stalenessMs: number; maxBatch: number }): unknown => {
      try {
        streamCapacity(profile, o);
      } catch (e) {
        return e instanceof EparaError ? [e.code, e.details?.['field']] : e;
      }
      return undefined;
    };
    expect(field({ stalenessMs: 0, maxBatch: 4 })).toEqual(['INVALID_OPTIONS', 'stalenessMs']);
    expect(field({ stalenessMs: 40, maxBatch: 0.5 })).toEqual(['INVALID_OPTIONS', 'maxBatch']);
  });
});

describe('LaunchPlan times', () => {
  const fields = ['wakeAt', 'headDeadline', 'runMs', 'expireAt'] as const;

  it.each(fields)('clears %s alone when it is set to undefined', (cleared) => {
    const p = new LaunchPlan();
    fields.forEach((f, i) => (p[f] = i + 1));
    p[cleared] = undefined;
    expect(fields.map((f) => p[f])).toEqual(fields.map((f, i) => (f === cleared ? undefined : i + 1)));
    // Clearing an unset time sets no other.
    const q = new LaunchPlan();
    q[cleared] = undefined;
    expect(fields.map((f) => q[f])).toEqual([undefined, undefined, undefined, undefined]);
  });
});
