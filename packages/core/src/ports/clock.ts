import { invalidOption } from '../errors/epara-error.js';

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
  /** Moves time forward by `ms` (≥ 0); throws `INVALID_OPTIONS` otherwise. */
  advance(ms: number): void;
}

/** Creates a {@link ManualClock} starting at `startMs` (default 0). */
export function createManualClock(startMs = 0): ManualClock {
  return new Manual(startMs);
}

/**
 * The time lives in a field, not in a variable the methods close over: a double captured by closures is a new
 * heap number at every write, and the simulator sets the clock once per event. The methods are own arrow
 * functions, so they work unbound (`const { now } = clock`) as the closures did.
 */
class Manual implements ManualClock {
  #t = 0;
  readonly now = (): number => this.#t;
  readonly set = (ms: number): void => {
    if (!(ms >= this.#t)) invalidOption('ms', ms, `a time >= the current ${this.#t} (the clock cannot move backwards)`);
    this.#t = ms;
  };
  readonly advance = (ms: number): void => {
    if (!(ms >= 0)) invalidOption('ms', ms, 'a number >= 0');
    this.#t += ms;
  };

  constructor(startMs: number) {
    this.#t = startMs;
  }
}
