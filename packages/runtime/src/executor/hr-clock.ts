import { performance } from 'node:perf_hooks';
import type { Clock } from '@epara/core';

/** How far the monotonic reading may drift from `Date.now()` before it is taken for a wall-clock step, ms. */
const STEP_TOLERANCE_MS = 2;

/** Wall-clock ms at `performance.now() === 0`: the process start, moved when the wall clock steps. */
let anchor = performance.timeOrigin;

/**
 * The default clock of the runtime: milliseconds since the Unix epoch like `Date.now()`, with sub-millisecond
 * resolution (`performance.now()` from an anchor), so deadlines from other processes compare. It follows the
 * wall clock when that steps (NTP, a VM resumed, the date set by hand): callers give deadlines as
 * `Date.now() + budget` (the mesh node's and the gateway's default clock), and a clock anchored at process start
 * alone would put every one of them in its past after a step back, or far in its future after a step forward.
 */
export const hrClock: Clock = {
  now: () => {
    const p = performance.now();
    const t = anchor + p;
    const wall = Date.now();
    if (t - wall < STEP_TOLERANCE_MS && wall - t < STEP_TOLERANCE_MS) return t;
    // `Date.now()` truncates to the ms: the new anchor puts this reading mid-way in that ms.
    anchor = wall + 0.5 - p;
    return anchor + p;
  },
};
