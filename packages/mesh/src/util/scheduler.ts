import type { Clock } from '@epara/core';

/** An opaque handle returned by {@link Scheduler.setTimeout}. */
export type TimerHandle = { readonly __timer: true } | object;

/**
 * Where a node's timers come from. The default uses the platform timers; tests pass
 * {@link createManualScheduler} to run periodic work (ring sync, placement, ack timeouts) deterministically.
 */
export interface Scheduler {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Platform timers (`setTimeout`/`clearTimeout`). */
export const systemScheduler: Scheduler = {
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** A scheduler driven by a manual clock: timers fire only inside {@link ManualScheduler.advance}. */
export interface ManualScheduler extends Scheduler {
  /** Moves the clock forward by `ms`, firing due timers in time order (each at its due time). */
  advance(ms: number): void;
  /** Timers not yet fired. */
  pending(): number;
}

interface ManualTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/**
 * Creates a {@link ManualScheduler} over a clock that has `advance` and `set` (core's `createManualClock`).
 *
 * @example
 * ```ts
 * const clock = createManualClock();
 * const scheduler = createManualScheduler(clock);
 * scheduler.setTimeout(() => fired++, 100);
 * scheduler.advance(100); // fired === 1
 * ```
 */
export function createManualScheduler(clock: Clock & { set(ms: number): void }): ManualScheduler {
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
  return {
    setTimeout(fn, ms) {
      const timer: ManualTimer = { at: clock.now() + Math.max(0, ms), seq: seq++, fn };
      timers.add(timer);
      return timer;
    },
    clearTimeout(handle) {
      timers.delete(handle as ManualTimer);
    },
    advance(ms) {
      const end = clock.now() + ms;
      for (let t = next(end); t; t = next(end)) {
        timers.delete(t);
        if (t.at > clock.now()) clock.set(t.at);
        t.fn();
      }
      if (end > clock.now()) clock.set(end);
    },
    pending: () => timers.size,
  };
}
