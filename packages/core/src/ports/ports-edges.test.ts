import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createManualClock } from './clock.js';
import { isLogger } from './logger.js';
import { createSeededRandom } from './random.js';
import { createManualTimers, createSystemTimers } from './timers.js';

describe('manual clock edges', () => {
  it('may be set to the time it shows and advanced by 0; a bad move names `ms`', () => {
    const clock = createManualClock(7);
    clock.set(7);
    clock.advance(0);
    expect(clock.now()).toBe(7);
    expect(() => clock.set(6)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'ms' }) }));
    expect(() => clock.advance(-0.5)).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'ms' }) }));
  });
});

describe('isLogger edges', () => {
  it('is false, never a throw, for undefined and null', () => {
    expect(isLogger(undefined)).toBe(false);
    expect(isLogger(null)).toBe(false);
  });
});

describe('manual timers order and clock', () => {
  it('fires timers due at the same time in the order they were scheduled, after earlier ones', () => {
    const timers = createManualTimers(createManualClock(0));
    const seen: string[] = [];
    timers.at(10, () => seen.push('first at 10'));
    timers.at(10, () => seen.push('second at 10'));
    timers.at(5, () => seen.push('at 5'));
    timers.at(10, () => seen.push('third at 10'));
    timers.advance(10);
    expect(seen).toEqual(['at 5', 'first at 10', 'second at 10', 'third at 10']);
    timers.at(20, () => seen.push('a'));
    timers.at(20, () => seen.push('b'));
    expect(timers.fire(20)).toBe(2);
    expect(seen.slice(-2)).toEqual(['a', 'b']);
  });

  it('runs a timer due in the past without moving the clock back', () => {
    const clock = createManualClock(100);
    const timers = createManualTimers(clock);
    let ranAt = -1;
    timers.at(40, () => (ranAt = clock.now()));
    timers.advance(0);
    expect(ranAt).toBe(100);
    expect(clock.now()).toBe(100);
  });

  it('leaves the clock where a timer moved it past the end of the advance', () => {
    const clock = createManualClock(0);
    const timers = createManualTimers(clock);
    timers.setTimeout(() => clock.advance(50), 5);
    timers.advance(10);
    expect(clock.now()).toBe(55);
  });
});

describe('system timers', () => {
  const wait = (timers: ReturnType<typeof createSystemTimers>, ms: number): Promise<void> => new Promise((r) => void timers.setTimeout(r, ms));

  it('a long timer does not fire before a short one scheduled after it (the delay is not dropped)', async () => {
    const timers = createSystemTimers();
    const seen: string[] = [];
    const long = timers.setTimeout(() => seen.push('long'), 60_000);
    timers.setTimeout(() => seen.push('short'), 0);
    await wait(timers, 5);
    expect(seen).toEqual(['short']);
    long.cancel();
  });

  it('`at` waits until the given time on its own clock', async () => {
    const clock = createManualClock(1_000_000);
    const timers = createSystemTimers(clock);
    const seen: string[] = [];
    const soon = timers.at(1_000_001, () => seen.push('due'));
    const far = timers.at(1_060_000, () => seen.push('far'));
    await wait(timers, 100);
    expect(seen).toEqual(['due']);
    soon.cancel();
    far.cancel();
  });
});

describe('seeded random', () => {
  /** sfc32 (Chris Doty-Humphrey's small fast counter) over a splitmix-style seeding with the murmur3 finaliser, written from the published algorithms. */
  function reference(seed: number): () => number {
    let s = seed >>> 0;
    const mix = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s >>> 0;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    let [a, b, c, d] = [mix(), mix(), mix(), mix()];
    return () => {
      a |= 0;
      b |= 0;
      c |= 0;
      d |= 0;
      const t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      return (t >>> 0) / 4294967296;
    };
  }

  it('is sfc32 seeded through the 32-bit splitmix: the same sequence as the reference for any seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (seed) => {
        const r = createSeededRandom(seed);
        const ref = reference(seed);
        for (let i = 0; i < 20; i++) expect(r.next()).toBe(ref());
      }),
    );
  });
});
