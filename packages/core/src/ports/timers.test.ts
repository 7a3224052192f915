import { describe, expect, it } from 'vitest';
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
});

describe('logger port', () => {
  it('recognises pino-shaped loggers', () => {
    expect(isLogger(silentLogger)).toBe(true);
    expect(isLogger({ info: () => undefined })).toBe(false);
    expect(isLogger(null)).toBe(false);
  });
});
