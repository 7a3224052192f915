import type { Clock } from '@epara/core';

/** Wall-clock ms at `performance.now() === 0`, read once (`performance.timeOrigin` can be tens of ms off `Date.now()`). */
const anchor = Date.now() - performance.now();

/**
 * A clock that never steps: the wall-clock time read once, when this module loaded, plus the monotonic time
 * since (`performance.now()`). It reads like `Date.now()` until the wall clock is stepped (NTP, a VM resumed,
 * the date set by hand) and then keeps counting real elapsed time, so what it measures — how long a peer has
 * been silent, how old a view entry is, a round trip — is never off by the step. Epochs taken from it still
 * grow across restarts (each process starts from the wall clock).
 *
 * @example
 * ```ts
 * import { monotonicClock } from '@epara/mesh';
 * const started = monotonicClock.now();
 * const elapsedMs = monotonicClock.now() - started; // never negative, whatever the wall clock did
 * ```
 */
export const monotonicClock: Clock = { now: () => anchor + performance.now() };
