import { createProfile, latencyAt, type LatencyProfile } from '@epara/core';

/**
 * Latency of one unit of work (a pipeline stage, a decode step) as a function of a size (batch, or tokens in
 * a step): a given profile, else learned online as an exponentially weighted mean per observed size,
 * interpolated piecewise-linearly by the core's {@link latencyAt}.
 */
export interface LatencyTracker {
  /** Records one observed run of `size` that took `ms`. */
  observe(size: number, ms: number): void;
  /** Estimated ms for `size`; `undefined` while nothing is known. */
  estimate(size: number): number | undefined;
  /** The current profile, if any. */
  profile(): LatencyProfile | undefined;
}

/** Creates a {@link LatencyTracker}; `fixed` (a measured profile) wins over observations when given. */
export function createLatencyTracker(options: { fixed?: LatencyProfile; alpha?: number; kind?: string } = {}): LatencyTracker {
  const alpha = options.alpha ?? 0.3;
  const means = new Map<number, number>();
  let cached: LatencyProfile | undefined = options.fixed;
  let dirty = false;
  return {
    observe(size, ms) {
      if (options.fixed || !(size > 0) || !(ms >= 0) || !Number.isFinite(ms)) return;
      const key = Math.max(1, Math.round(size));
      const prev = means.get(key);
      means.set(key, prev === undefined ? ms : prev + alpha * (ms - prev));
      dirty = true;
    },
    estimate(size) {
      const p = this.profile();
      return p === undefined ? undefined : latencyAt(p, Math.max(1, size));
    },
    profile() {
      if (dirty) {
        const points = [...means].map(([batch, ms]) => ({ batch, ms: Math.max(ms, 1e-3) }));
        cached = createProfile(options.kind ?? 'observed', points);
        dirty = false;
      }
      return cached;
    },
  };
}
