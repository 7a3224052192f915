import { EparaError, invalidOption } from '../errors/epara-error.js';
import type { DeviceKind } from '../model/device.js';

/** One measured point: a batch of `batch` items took `ms` on one device. */
export interface ProfilePoint {
  readonly batch: number;
  readonly ms: number;
}

/**
 * Measured latency against batch size on one device kind: strictly increasing batch sizes with
 * non-decreasing latencies. Use {@link createProfile} or {@link fitProfile} to build one; read it with
 * {@link latencyAt}.
 */
export interface LatencyProfile {
  readonly deviceKind: DeviceKind;
  readonly points: readonly ProfilePoint[];
}

/**
 * Validates and normalizes measured points into a {@link LatencyProfile}: sorted by batch, with latency made
 * non-decreasing (a larger batch never takes less time than a smaller one; measurement noise that says
 * otherwise is flattened to the running maximum).
 *
 * @throws EparaError `INVALID_OPTIONS` for an empty list, a batch that is not a positive integer, a repeated
 * batch, or a latency that is not a positive finite number.
 */
export function createProfile(deviceKind: DeviceKind, points: readonly ProfilePoint[]): LatencyProfile {
  if (typeof deviceKind !== 'string' || deviceKind === '') invalidOption('deviceKind', deviceKind, 'a non-empty string');
  if (!Array.isArray(points) || points.length === 0) invalidOption('points', points, 'a non-empty array');
  const sorted = [...points].sort((a, b) => a.batch - b.batch);
  const out: ProfilePoint[] = [];
  let runningMax = 0;
  for (const [i, p] of sorted.entries()) {
    if (!Number.isInteger(p.batch) || p.batch < 1) invalidOption(`points[${i}].batch`, p.batch, 'a positive integer');
    if (!Number.isFinite(p.ms) || p.ms <= 0) invalidOption(`points[${i}].ms`, p.ms, 'a positive finite number');
    if (out.length > 0 && out[out.length - 1]!.batch === p.batch) {
      invalidOption(`points[${i}].batch`, p.batch, 'unique across points');
    }
    runningMax = Math.max(runningMax, p.ms);
    out.push({ batch: p.batch, ms: runningMax });
  }
  return { deviceKind, points: out };
}

/** A raw timing sample, as a profiler records it. */
export interface ProfileSample {
  readonly batch: number;
  readonly ms: number;
}

/**
 * Fits a profile from raw samples: the median per batch size, then made monotone. Medians resist the
 * outliers a shared machine produces.
 */
export function fitProfile(deviceKind: DeviceKind, samples: readonly ProfileSample[]): LatencyProfile {
  const byBatch = new Map<number, number[]>();
  for (const s of samples) {
    const list = byBatch.get(s.batch) ?? [];
    list.push(s.ms);
    byBatch.set(s.batch, list);
  }
  const points: ProfilePoint[] = [];
  for (const [batch, list] of byBatch) points.push({ batch, ms: median(list) });
  return createProfile(deviceKind, points);
}

/**
 * Latency in ms of a batch of `batch` items (monotone piecewise-linear between measured points).
 * Below the first point the first latency holds (an idle device cannot run fewer than one batch faster);
 * above the last point latency grows along the last segment's slope (or, with a single point, linearly
 * with batch size: a pessimistic but safe assumption).
 *
 * @throws EparaError `INVALID_OPTIONS` if `batch` is not a positive number.
 */
export function latencyAt(profile: LatencyProfile, batch: number): number {
  if (!(batch > 0)) throw new EparaError('INVALID_OPTIONS', `batch must be > 0, got ${batch}`, { field: 'batch', value: batch });
  const pts = profile.points;
  const first = pts[0]!;
  if (batch <= first.batch) return first.ms;
  const last = pts[pts.length - 1]!;
  if (batch >= last.batch) {
    if (pts.length === 1) return (first.ms * batch) / first.batch;
    const prev = pts[pts.length - 2]!;
    const slope = (last.ms - prev.ms) / (last.batch - prev.batch);
    return last.ms + slope * (batch - last.batch);
  }
  // Binary search for the segment containing `batch`.
  let lo = 0;
  let hi = pts.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (pts[mid]!.batch <= batch) lo = mid;
    else hi = mid;
  }
  const a = pts[lo]!;
  const b = pts[hi]!;
  return a.ms + ((b.ms - a.ms) * (batch - a.batch)) / (b.batch - a.batch);
}

/** Items per second a device sustains running back-to-back batches of `batch`. */
export function throughputAt(profile: LatencyProfile, batch: number): number {
  return (batch * 1000) / latencyAt(profile, batch);
}

/** A profile whose latencies are all multiplied by `factor` (slower device classes, interference). */
export function scaleProfile(profile: LatencyProfile, factor: number, deviceKind: DeviceKind = profile.deviceKind): LatencyProfile {
  if (!(factor > 0) || !Number.isFinite(factor)) invalidOption('factor', factor, 'a positive finite number');
  return { deviceKind, points: profile.points.map((p) => ({ batch: p.batch, ms: p.ms * factor })) };
}

/** A profile from the affine model `L(b) = fixedMs + perItemMs·b`, sampled at powers of two up to `maxBatch`. */
export function affineProfile(deviceKind: DeviceKind, options: { fixedMs: number; perItemMs: number; maxBatch?: number }): LatencyProfile {
  const maxBatch = options.maxBatch ?? 64;
  const points: ProfilePoint[] = [];
  for (let b = 1; b <= maxBatch; b *= 2) points.push({ batch: b, ms: options.fixedMs + options.perItemMs * b });
  return createProfile(deviceKind, points);
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
