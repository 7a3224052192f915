import { describe, expect, it, vi } from 'vitest';
import { createManualClock } from './clock.js';
import { isLogger, silentLogger } from './logger.js';
import { createManualTimers, createSystemTimers } from './timers.js';

describe('manual timers', () => {
  it('advance fires due timers in time order with the clock at each due time, and cancel is final', () => {
    const clock = createManualClock(100);
    const timers = createManualTimers(clock);
    const seen: string[] = [];
    timers.setTimeout(() => seen.push(`b@${clock.now()}`), 20);
    timers.at(110, () => seen.push(`a@${clock.now()}`));
    const c = timers.setTimeout(() => seen.push('cancelled'), 5);
    c.cancel();
    c.cancel();
    expect(timers.pending).toBe(2);
    timers.advance(50);
    expect(seen).toEqual(['a@110', 'b@120']);
    expect(clock.now()).toBe(150);
    expect(timers.pending).toBe(0);
  });

  it('fire(now) runs what is due by now without moving the clock, including timers scheduled while firing', () => {
    const clock = createManualClock();
    const timers = createManualTimers(clock);
    let runs = 0;
    timers.at(10, () => {
      runs++;
      timers.at(5, () => runs++);
    });
    timers.at(30, () => runs++);
    expect(timers.fire(10)).toBe(2);
    expect(runs).toBe(2);
    expect(clock.now()).toBe(0);
    expect(timers.pending).toBe(1);
  });
});

describe('system timers', () => {
  it('run a call at an absolute clock time and not after cancel', async () => {
    const clock = { now: () => Date.now() };
    const timers = createSystemTimers(clock);
    const order: string[] = [];
    const cancelled = timers.setTimeout(() => order.push('cancelled'), 0);
    cancelled.cancel();
    await new Promise<void>((resolve) => timers.at(clock.now() + 5, () => (order.push('at'), resolve())));
    expect(order).toEqual(['at']);
  });

  it('keep a delay past the platform limit (2^31 − 1 ms) in steps instead of firing it at once, and never fire Infinity', () => {
    vi.useFakeTimers();
    try {
      const timers = createSystemTimers({ now: () => Date.now() });
      const fired: string[] = [];
      timers.setTimeout(() => fired.push('long'), 1e10);
      timers.setTimeout(() => fired.push('never'), Infinity);
      const cancelled = timers.setTimeout(() => fired.push('cancelled'), 3e9);
      vi.advanceTimersByTime(2 ** 31);
      cancelled.cancel();
      expect(fired).toEqual([]);
      vi.advanceTimersByTime(1e10 - 2 ** 31 - 1);
      expect(fired).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(fired).toEqual(['long']);
      vi.advanceTimersByTime(1e12);
      expect(fired).toEqual(['long']);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('logger port', () => {
  it('recognises pino-shaped loggers', () => {
    expect(isLogger(silentLogger)).toBe(true);
    expect(isLogger({ info: () => undefined })).toBe(false);
    expect(isLogger(null)).toBe(false);
  });
});
