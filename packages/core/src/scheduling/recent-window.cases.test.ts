import { describe, expect, it } from 'vitest';
import { RecentWindow } from './recent-window.js';

/**
 * The window against its definition, on scripted time patterns: after a refresh at `now`, `sorted[0..sortedCount)`
 * holds the excess of each of the last `window` observations made at or after `now − maxAgeMs`, ascending, and
 * `validUntil` is when the oldest of them ages out (+∞ when none). The patterns are the ones the in-order
 * bookkeeping has to get right: runs of times going back (longer and shorter than the window), equal times,
 * observations landing exactly on the age limit, and refreshes at any `now`, also earlier than the last one.
 */
function reference(obs: readonly (readonly [number, number])[], window: number, maxAgeMs: number, now: number) {
  const since = now - maxAgeMs;
  const recent = obs.slice(-window).filter(([at]) => !(at < since));
  return {
    sorted: recent.map(([, x]) => x).sort((a, b) => a - b),
    validUntil: recent.length > 0 ? Math.min(...recent.map(([at]) => at)) + maxAgeMs : Number.POSITIVE_INFINITY,
  };
}

/** mulberry32: a small seeded generator, so that every run checks the same sequences. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Pattern = (rnd: () => number, t: number, i: number, window: number) => number;
const int = (rnd: () => number, lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
/** The next observation's time after `t`. */
const PATTERNS: Record<string, Pattern> = {
  'in order, often equal': (rnd, t) => t + int(rnd, 0, 4),
  'in order with a step back now and then': (rnd, t) => t + (rnd() < 0.15 ? -int(rnd, 1, 6) : int(rnd, 0, 5)),
  'runs going back, as long as the window and longer': (rnd, t, i, window) => t + ((i % (2 * window + 3)) < window + 1 ? -int(rnd, 1, 3) : int(rnd, 1, 8)),
  'going back all the time': (rnd, t) => t - int(rnd, 0, 3),
  'jumps past the age limit': (rnd, t) => t + (rnd() < 0.2 ? int(rnd, 20, 60) : int(rnd, 0, 3)),
};

function check(pattern: Pattern, seed: number): void {
  const rnd = random(seed);
  const window = int(rnd, 1, 7);
  const maxAgeMs = [10, 25][int(rnd, 0, 1)]!;
  const w = new RecentWindow(window, maxAgeMs);
  const obs: [number, number][] = [];
  let t = 0;
  for (let i = 0; i < 120; i++) {
    if (rnd() < 0.6) {
      t = pattern(rnd, t, i, window);
      // Few distinct values: equal excesses to insert after and remove among.
      const x = int(rnd, -3, 4);
      w.push(t, x);
      obs.push([t, x]);
      continue;
    }
    // Now: around the last time, at the age limit of a recent observation, or (sometimes) before the last refresh.
    const last = obs.length > 0 ? obs[obs.length - 1 - int(rnd, 0, Math.min(obs.length, window) - 1)]![0] : t;
    const now = rnd() < 0.3 ? last + maxAgeMs : t + int(rnd, -maxAgeMs - 5, maxAgeMs + 5);
    w.refresh(now);
    const want = reference(obs, window, maxAgeMs, now);
    const got = [...w.sorted.subarray(0, w.sortedCount)].map((x) => x + 0);
    expect({ got, validUntil: w.validUntil, step: i, seed }).toEqual({ got: want.sorted, validUntil: want.validUntil, step: i, seed });
  }
}

describe('RecentWindow against its definition', () => {
  for (const [name, pattern] of Object.entries(PATTERNS)) {
    it(`holds the recent observations, sorted, and when the oldest ages out: ${name}`, () => {
      for (let seed = 1; seed <= 40; seed++) check(pattern, seed);
    });
  }

  it('refreshed only when its snapshot is stale, on a clock that never goes back (as the guard does), holds the same', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const rnd = random(seed);
      const window = int(rnd, 1, 7);
      const cached = new RecentWindow(window, 25);
      const obs: [number, number][] = [];
      let t = 0;
      // The guard's clock: it never goes back (observations may carry earlier times).
      let now = 0;
      for (let i = 0; i < 120; i++) {
        if (rnd() < 0.5) {
          t += rnd() < 0.1 ? -int(rnd, 1, 4) : int(rnd, 0, 6);
          const x = int(rnd, -2, 3);
          cached.push(t, x);
          obs.push([t, x]);
          continue;
        }
        now = Math.max(now, t + int(rnd, 0, 30));
        if (now >= cached.validUntil) cached.refresh(now);
        const want = reference(obs, window, 25, now);
        expect([...cached.sorted.subarray(0, cached.sortedCount)].map((x) => x + 0)).toEqual(want.sorted);
      }
    }
  });
});
