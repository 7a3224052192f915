import { invalidOption } from '@epara/core';
import { monotonicClock } from '../util/monotonic-clock.js';
import type { Clock } from '@epara/core';

/** Options of {@link createRateLimiter}: two token buckets, one for frames and one for bytes. */
export interface RateLimiterOptions {
  /** Sustained frames per second a peer may send. @default 50_000 */
  readonly framesPerSec?: number;
  /** Sustained bytes per second a peer may send. @default 1 GiB/s */
  readonly bytesPerSec?: number;
  /** Frames allowed in a burst above the sustained rate. @default framesPerSec (one second's worth) */
  readonly burstFrames?: number;
  /** Bytes allowed in a burst. @default bytesPerSec (one second's worth), and at least one largest frame */
  readonly burstBytes?: number;
  /** Time source (core's `Clock`); a wall clock that steps would refill the buckets at once. @default monotonicClock */
  readonly clock?: Clock;
}

/** Defaults of {@link RateLimiterOptions}: generous enough never to slow a well-behaved peer on a LAN. */
export const RATE_LIMITER_DEFAULTS = { framesPerSec: 50_000, bytesPerSec: 1024 * 1024 * 1024 } as const;

/** A token-bucket limiter for one peer's incoming frames. */
export interface RateLimiter {
  /**
   * Takes one frame of `bytes` from the buckets: true when allowed, false when the peer is over its rate
   * (nothing is taken then).
   */
  tryAccept(bytes: number): boolean;
  /** Tokens left now, for diagnostics. */
  available(): { frames: number; bytes: number };
}

/** {@link RateLimiterOptions} after defaults and validation. */
export type ResolvedRateLimiterOptions = Required<RateLimiterOptions>;

/**
 * Fills and validates {@link RateLimiterOptions}.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field.
 */
export function resolveRateLimiterOptions(options: RateLimiterOptions = {}): ResolvedRateLimiterOptions {
  const framesPerSec = options.framesPerSec ?? RATE_LIMITER_DEFAULTS.framesPerSec;
  const bytesPerSec = options.bytesPerSec ?? RATE_LIMITER_DEFAULTS.bytesPerSec;
  const r = {
    framesPerSec,
    bytesPerSec,
    burstFrames: options.burstFrames ?? framesPerSec,
    burstBytes: options.burstBytes ?? bytesPerSec,
    clock: options.clock ?? monotonicClock,
  };
  for (const field of ['framesPerSec', 'bytesPerSec', 'burstFrames', 'burstBytes'] as const) {
    if (typeof r[field] !== 'number' || !(r[field] > 0)) invalidOption(field, r[field], 'a positive number (Infinity disables it)');
  }
  if (typeof r.clock?.now !== 'function') invalidOption('clock', r.clock, 'a Clock with now()');
  return r;
}

/**
 * Creates a {@link RateLimiter}: buckets start full, refill continuously at the sustained rates and hold at
 * most a burst. A frame passes only when both buckets have room for it.
 *
 * @example
 * ```ts
 * const limiter = createRateLimiter({ framesPerSec: 1000, bytesPerSec: 50e6 });
 * if (!limiter.tryAccept(frame.byteLength)) connection.close('rate limited');
 * ```
 * @throws EparaError `INVALID_OPTIONS` for bad options.
 */
export function createRateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  const o = resolveRateLimiterOptions(options);
  let frames = o.burstFrames;
  let bytes = o.burstBytes;
  let last = o.clock.now();
  const refill = (): void => {
    const now = o.clock.now();
    const dt = Math.max(0, now - last) / 1000;
    last = now;
    frames = Math.min(o.burstFrames, frames + dt * o.framesPerSec);
    bytes = Math.min(o.burstBytes, bytes + dt * o.bytesPerSec);
  };
  return {
    tryAccept(n) {
      refill();
      if (frames < 1 || bytes < n) return false;
      frames -= 1;
      bytes -= n;
      return true;
    },
    available() {
      refill();
      return { frames, bytes };
    },
  };
}
