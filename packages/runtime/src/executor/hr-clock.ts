import { performance } from 'node:perf_hooks';
import type { Clock } from '@epara/core';

/**
 * The default clock of the runtime: milliseconds since the Unix epoch like `Date.now()`, with sub-millisecond
 * resolution (`performance.timeOrigin + performance.now()`), so deadlines from other processes compare.
 */
export const hrClock: Clock = { now: () => performance.timeOrigin + performance.now() };
