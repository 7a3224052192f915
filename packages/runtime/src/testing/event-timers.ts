import type { ManualClock, TimerHandle, Timers } from '@epara/core';

/** {@link eventTimers}' timers: the driver asks when the next one is due and fires it. */
export interface EventTimers extends Timers {
  /** When the next live timer is due, clock ms (infinite when none). */
  nextAt(): number;
  /** Moves the clock to the next live timer (never back) and runs it. */
  fireNext(): void;
}

/**
 * Timers on a manual clock that a test's driver runs in time order, one at a time, so that whatever a timer
 * settles (a batch's end) runs between them. A test helper (not part of the package's API).
 *
 * @example
 * ```ts
 * const timers = eventTimers(clock);
 * while (timers.nextAt() <= arrivalAt) timers.fireNext();
 * ```
 */
export function eventTimers(clock: ManualClock): EventTimers {
  const queue: { at: number; seq: number; fn: () => void; live: boolean }[] = [];
  let seq = 0;
  const at = (when: number, fn: () => void): TimerHandle => {
    const e = { at: when, seq: seq++, fn, live: true };
    queue.push(e);
    return { cancel: () => void (e.live = false) };
  };
  const first = (): number => {
    let best = -1;
    for (let i = 0; i < queue.length; i++) {
      const e = queue[i]!;
      if (e.live && (best < 0 || e.at < queue[best]!.at || (e.at === queue[best]!.at && e.seq < queue[best]!.seq))) best = i;
    }
    return best;
  };
  return {
    at,
    setTimeout: (fn, ms) => at(clock.now() + Math.max(0, ms), fn),
    nextAt: () => {
      const i = first();
      return i < 0 ? Number.POSITIVE_INFINITY : queue[i]!.at;
    },
    fireNext: () => {
      const i = first();
      const e = queue.splice(i, 1)[0]!;
      for (let k = queue.length - 1; k >= 0; k--) if (!queue[k]!.live) queue.splice(k, 1);
      clock.set(Math.max(clock.now(), e.at));
      e.fn();
    },
  };
}
