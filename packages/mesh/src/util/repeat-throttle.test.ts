import { describe, expect, it } from 'vitest';
import { RepeatThrottle } from './repeat-throttle.js';

describe('RepeatThrottle', () => {
  it('passes the first occurrence, holds repeats within the window, then passes one with the count held', () => {
    let now = 0;
    const t = new RepeatThrottle(10_000, () => now);
    expect(t.pass('a')).toEqual({ held: 0 });
    now = 250;
    expect(t.pass('a')).toBeUndefined();
    now = 500;
    expect(t.pass('a')).toBeUndefined();
    expect(t.pass('b')).toEqual({ held: 0 });
    now = 10_000;
    expect(t.pass('a')).toEqual({ held: 2 });
    now = 10_001;
    expect(t.pass('a')).toBeUndefined();
    now = 20_000;
    expect(t.pass('a')).toEqual({ held: 1 });
  });

  it('keeps a bounded number of keys', () => {
    const t = new RepeatThrottle(10_000, () => 0);
    for (let i = 0; i < 5000; i++) expect(t.pass(`k${i}`)).toEqual({ held: 0 });
    expect(t.pass('k4999')).toBeUndefined();
  });
});
