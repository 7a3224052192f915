/**
 * Time source. Core never reads the wall clock itself: hosts pass {@link systemClock}, tests and the
 * simulator pass a {@link ManualClock} (TanStack Query's `timeoutManager` is the model).
 */
export interface Clock {
  /** Milliseconds; monotone non-decreasing. The epoch is the clock's own. */
  now(): number;
}

/** The host's wall clock (`Date.now`), for production use. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to: for tests and discrete-event simulation. */
export interface ManualClock extends Clock {
  /** Sets the time; throws `INVALID_OPTIONS` if it would move backwards. */
  set(ms: number): void;
  /** Moves time forward by `ms` (≥ 0). */
  advance(ms: number): void;
}

/** Creates a {@link ManualClock} starting at `startMs` (default 0). */
export function createManualClock(startMs = 0): ManualClock {
  let t = startMs;
  return {
    now: () => t,
    set(ms: number) {
      if (!(ms >= t)) throw new RangeError(`clock cannot move backwards: ${ms} < ${t}`);
      t = ms;
    },
    advance(ms: number) {
      if (!(ms >= 0)) throw new RangeError(`clock advance must be >= 0, got ${ms}`);
      t += ms;
    },
  };
}
