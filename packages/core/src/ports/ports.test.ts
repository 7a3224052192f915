import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createManualClock, systemClock } from './clock.js';
import { createSeededRandom } from './random.js';

/** Fixed seed: the suite is deterministic (set FC_SEED to explore other cases). */
const SEED = Number(process.env.FC_SEED ?? 20251126);

describe('clock ports', () => {
  it('the manual clock moves only when told and never backwards', () => {
    const clock = createManualClock(10);
    expect(clock.now()).toBe(10);
    clock.advance(5);
    expect(clock.now()).toBe(15);
    clock.set(20);
    expect(clock.now()).toBe(20);
    expect(() => clock.set(19)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(() => clock.advance(-1)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(() => clock.advance(Number.NaN)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(clock.now()).toBe(20);
  });

  it('the system clock is monotone over two reads', () => {
    const a = systemClock.now();
    const b = systemClock.now();
    expect(b).toBeGreaterThanOrEqual(a);
  });
});

describe('seeded random', () => {
  it('gives the same sequence for the same seed and a different one for another seed', () => {
    const take = (seed: number): number[] => {
      const r = createSeededRandom(seed);
      return Array.from({ length: 8 }, () => r.next());
    };
    expect(take(42)).toEqual(take(42));
    expect(take(42)).not.toEqual(take(43));
  });

  it('stays in [0, 1) for any seed', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const r = createSeededRandom(seed);
        for (let i = 0; i < 50; i++) {
          const x = r.next();
          if (!(x >= 0 && x < 1)) return false;
        }
        return true;
      }),
      { seed: SEED },
    );
  });

  it('is roughly uniform (mean near 0.5 over 10k draws)', () => {
    const r = createSeededRandom(7);
    let sum = 0;
    for (let i = 0; i < 10_000; i++) sum += r.next();
    expect(Math.abs(sum / 10_000 - 0.5)).toBeLessThan(0.02);
  });
});
