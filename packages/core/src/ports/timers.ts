import type { Clock, ManualClock } from './clock.js';
import { createManualClock, systemClock } from './clock.js';

/** A scheduled call; `cancel()` is idempotent and harmless after the call ran. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * Where EPARA schedules its wake-ups (batching deadlines, ring-sync ticks, ack timeouts, placement periods).
 * Hosts use {@link createSystemTimers}; tests and the simulator pass `createManualTimers` (`@epara/core/testing`), driven by the same
 * {@link ManualClock} they pass as `clock`, so timing decisions are deterministic.
 */
export interface Timers {
  /**
   * Calls `fn` once, `ms` milliseconds from now (a negative `ms` means as soon as possible, `Infinity` never; a
   * delay past the platform's 2^31 − 1 ms limit is kept, not cut short).
   */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Calls `fn` once at (or after) clock time `at`, on the clock these timers read. */
  at(at: number, fn: () => void): TimerHandle;
}

/** The host's timer functions (Node, browsers and Deno all have them); core compiles without platform types. */
const platform = globalThis as unknown as {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
};

/** The longest delay the platform's `setTimeout` honours (a signed 32-bit count of ms). */
const MAX_PLATFORM_DELAY_MS = 2 ** 31 - 1;

/**
 * {@link Timers} on the platform's `setTimeout`, reading `clock` to turn absolute times into delays.
 *
 * @example
 * ```ts
 * import { createSystemTimers, systemClock } from '@epara/core';
 * const timers = createSystemTimers(systemClock);
 * timers.setTimeout(() => undefined, 10).cancel();
 * ```
 */
export function createSystemTimers(clock: Clock = systemClock): Timers {
  const after = (fn: () => void, ms: number): TimerHandle => {
    let t: unknown;
    // The platform fires a delay past 2^31 − 1 ms after 1 ms: a longer one waits in steps of at most that, and
    // an infinite one (a wait with no bound) never fires.
    const arm = (left: number): void => {
      if (left === Infinity) return;
      t = left > MAX_PLATFORM_DELAY_MS ? platform.setTimeout(() => arm(left - MAX_PLATFORM_DELAY_MS), MAX_PLATFORM_DELAY_MS) : platform.setTimeout(fn, left > 0 ? left : 0);
    };
    arm(ms);
    return { cancel: () => (t === undefined ? undefined : platform.clearTimeout(t)) };
  };
  return { setTimeout: after, at: (at, fn) => after(fn, at - clock.now()) };
}

/** {@link Timers} that fire only when told to: for tests with a {@link ManualClock}. */
export interface ManualTimers extends Timers {
  /** The clock the timers read and move. */
  readonly clock: ManualClock;
  /** Moves the clock forward by `ms`, firing due timers in time order, each with the clock set to its due time. */
  advance(ms: number): void;
  /** Runs every timer due by `now` (without moving the clock) and returns how many ran. */
  fire(now: number): number;
  /** Timers scheduled and neither fired nor cancelled. */
  readonly pending: number;
}

interface ManualTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/**
 * Creates {@link ManualTimers} over `clock` (a fresh {@link createManualClock} by default).
 *
 * @example
 * ```ts
 * import { createManualClock } from '@epara/core';
 * import { createManualTimers } from '@epara/core/testing';
 * const timers = createManualTimers(createManualClock());
 * let fired = 0;
 * timers.setTimeout(() => fired++, 100);
 * timers.advance(100); // fired === 1
 * ```
 */
export function createManualTimers(clock: ManualClock = createManualClock()): ManualTimers {
  const timers = new Set<ManualTimer>();
  let seq = 0;
  const next = (limit: number): ManualTimer | undefined => {
    let best: ManualTimer | undefined;
    for (const t of timers) {
      if (t.at > limit) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  };
  const at = (when: number, fn: () => void): TimerHandle => {
    const timer: ManualTimer = { at: when, seq: seq++, fn };
    timers.add(timer);
    return { cancel: () => void timers.delete(timer) };
  };
  return {
    clock,
    at,
    setTimeout: (fn, ms) => at(clock.now() + Math.max(0, ms), fn),
    advance(ms) {
      const end = clock.now() + ms;
      for (let t = next(end); t; t = next(end)) {
        timers.delete(t);
        if (t.at > clock.now()) clock.set(t.at);
        t.fn();
      }
      if (end > clock.now()) clock.set(end);
    },
    fire(now) {
      let count = 0;
      for (let t = next(now); t; t = next(now), count++) {
        timers.delete(t);
        t.fn();
      }
      return count;
    },
    get pending() {
      return timers.size;
    },
  };
}
