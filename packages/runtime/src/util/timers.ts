import { performance } from 'node:perf_hooks';
import type { Clock } from '@epara/core';

/** A cancellable timer handle. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * Where the executor schedules its wake-ups. The default uses the platform's `setTimeout`; tests pass a
 * manual implementation together with a manual clock so that batching decisions are deterministic.
 */
export interface Timers {
  /** Calls `fn` once at (or after) clock time `at`. */
  at(at: number, fn: () => void): TimerHandle;
}

/**
 * The default clock of the runtime: milliseconds since the Unix epoch like `Date.now()`, with sub-millisecond
 * resolution (`performance.timeOrigin + performance.now()`), so deadlines from other processes compare.
 */
export const hrClock: Clock = { now: () => performance.timeOrigin + performance.now() };

/** {@link Timers} on the platform's `setTimeout`, reading `clock` to turn absolute times into delays. */
export function createSystemTimers(clock: Clock): Timers {
  return {
    at(at, fn) {
      const t = setTimeout(fn, Math.max(0, at - clock.now()));
      return { cancel: () => clearTimeout(t) };
    },
  };
}

/** Timers driven by hand, for tests with a manual clock: `fire(now)` runs every timer due by `now`. */
export interface ManualTimers extends Timers {
  fire(now: number): number;
  readonly pending: number;
}

/** Creates {@link ManualTimers}. */
export function createManualTimers(): ManualTimers {
  let list: { at: number; fn: () => void; live: boolean }[] = [];
  return {
    at(at, fn) {
      const entry = { at, fn, live: true };
      list.push(entry);
      return { cancel: () => (entry.live = false) };
    },
    fire(now) {
      const due = list.filter((e) => e.live && e.at <= now);
      list = list.filter((e) => e.live && e.at > now);
      for (const e of due) e.fn();
      return due.length;
    },
    get pending() {
      return list.filter((e) => e.live).length;
    },
  };
}
