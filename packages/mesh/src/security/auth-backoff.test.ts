import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '@epara/core';
import { AuthBackoff } from './auth-backoff.js';

const fixed = (v: number) => ({ next: () => v });

describe('AuthBackoff', () => {
  it('doubles the wait after each failure in a row, up to the maximum', () => {
    let now = 0;
    const b = new AuthBackoff({ initialMs: 100, maxMs: 1000, now: () => now, random: fixed(0.999999) });
    expect(b.remainingMs('a')).toBe(0);
    const waits = Array.from({ length: 6 }, () => b.failed('a'));
    expect(waits.map(Math.round)).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(b.failures('a')).toBe(6);
    expect(b.remainingMs('b')).toBe(0);
    now = 500;
    expect(Math.round(b.remainingMs('a'))).toBe(500);
    now = 1000;
    expect(b.remainingMs('a')).toBe(0);
  });

  it('jitters each wait within [0.5, 1) of its ceiling, so peers that failed together spread out', () => {
    const b = new AuthBackoff({ initialMs: 1000, maxMs: 1000, now: () => 0, random: createSeededRandom(7) });
    const waits = Array.from({ length: 200 }, (_, i) => b.failed(`p${i}`));
    for (const w of waits) expect(w >= 500 && w < 1000).toBe(true);
    expect(new Set(waits.map(Math.round)).size).toBeGreaterThan(100);
    expect(Math.min(...waits)).toBeLessThan(600);
    expect(Math.max(...waits)).toBeGreaterThan(900);
  });

  it('forgets an address once it authenticated: the next failure starts from the initial wait again', () => {
    const b = new AuthBackoff({ initialMs: 100, maxMs: 10_000, now: () => 0, random: fixed(0.999999) });
    b.failed('a');
    b.failed('a');
    b.failed('a');
    b.succeeded('a');
    expect(b.remainingMs('a')).toBe(0);
    expect(b.failures('a')).toBe(0);
    expect(Math.round(b.failed('a'))).toBe(100);
  });

  it('keeps a bounded number of addresses', () => {
    const b = new AuthBackoff({ initialMs: 100, maxMs: 100, now: () => 0, random: fixed(0) });
    for (let i = 0; i < 5000; i++) b.failed(`a${i}`);
    expect(b.failures('a0')).toBe(0);
    expect(b.failures('a4999')).toBe(1);
  });

  it('forgets addresses whose wait ended more than maxMs ago, so addresses seen once are not held for ever', () => {
    let now = 0;
    const b = new AuthBackoff({ initialMs: 100, maxMs: 1000, now: () => now, random: fixed(0.999999) });
    for (let i = 0; i < 500; i++) b.failed(`old${i}`);
    now = 900;
    b.failed('kept');
    b.failed('kept');
    now = 1800; // old*: waited until ~100, ended 1 700 ms ago; kept: until ~1 100, ended 700 ms ago
    b.failed('new');
    expect(b.size).toBe(2);
    expect(b.failures('old0')).toBe(0);
    expect(b.failures('kept')).toBe(2);
    expect(Math.round(b.failed('old0'))).toBe(100);
  });
});
