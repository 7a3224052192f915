import { latencyAt, type LatencyProfile } from '@epara/core';
import { DEFAULT_STREAM_PACK_PRICING, type StreamPackPricing } from './stream-pack-pricing.js';

/**
 * Bounds of a correction. The upper one bounds what stream admission and routing read as an instance's capacity
 * (`capacityPerSec` divides by it at the plan's batch, or for streams at each pack size it weighs: a pack of 1's
 * hand-offs alone hold a contended device several times a small model's profile).
 */
const MIN_RATIO = 0.5;
const MAX_RATIO = 4;
/**
 * What one batch may pull a correction toward, relative to its current value: a stall counts as at most this many
 * times the current figure, so one moves it by at most `WEIGHT × (STEP − 1)` (60 %), while a sustained slowdown
 * is reached in a few batches. Each batch's ratio was clamped to 4× the profile before it entered the EWMA: on
 * the demo's contended host, where batches held their device 3–4× the profile on average, that cut off the slow
 * half of them and the estimate ran short by a tenth to a third, an error every queued batch adds to.
 */
const STEP = 4;
/** Weight of the newest batch in the EWMA. */
const WEIGHT = 0.2;
/**
 * Half-life of a correction no batch refreshed for {@link STALE_AFTER_MS}, ms: it fades back toward the
 * profile, so a service whose inflated estimate stops work from reaching it (refused, routed away) is trusted
 * again instead of being locked out by a correction nothing can replace.
 */
const HALF_LIFE_MS = 2000;
/** A correction refreshed within this is kept as is (fading it between batches would bias it toward 1), ms. */
const STALE_AFTER_MS = 1000;

/** A learned ratio and when a batch last set it, clock ms. */
interface Ratio {
  value: number;
  at: number;
}

/**
 * What one device learned: per batch-size class (1, 2–3, 4–7, …), and over all sizes for a class not seen yet; and,
 * from the batches whose backend time is known, the backend's speed (its run time over the profile) and the hand-off
 * (the hold outside the backend, ms) apart.
 */
interface DeviceRatios {
  readonly all: Ratio;
  readonly classes: (Ratio | undefined)[];
  /** Whether a batch reported its backend time (the two figures below are learned only from those). */
  timed: boolean;
  /** Backend run time ÷ profile, over all sizes. */
  readonly backend: Ratio;
  /** The per-batch hand-off, ms (as a {@link Ratio} whose `value` is ms; it fades toward 0). */
  readonly handOff: Ratio;
}

/**
 * Per-device corrections of a service's profile by how long its batches really **hold the device**, as the
 * host sees it: from the later of the batch's dispatch and the previous launch's outputs reaching the host,
 * to its own outputs reaching the host (measured by the device scheduler). That is the compute plus what the
 * host adds to each batch — the hand-offs to and from the device's thread, waiting for a core — so that
 * batches queued behind each other are priced at what they really cost, not at compute time; a batch sent
 * ahead is counted from the previous one's end, not from its dispatch (its wait is the other batch's hold).
 * Kept as an EWMA of held over profiled time per batch-size class (the hand-offs cost about the same per
 * batch, so they weigh more on small batches), one batch counted at most 4× the current figure, the correction bounded to ½…4×, fading toward 1 (half-life {@link HALF_LIFE_MS})
 * once no batch refreshed it for {@link STALE_AFTER_MS}. `version` changes with every observation, for callers
 * that cache figures derived from them.
 */
export class HoldCorrections {
  readonly #devices = new Map<string, DeviceRatios>();
  readonly #pricing: StreamPackPricing;
  #version = 0;

  /** `pricing`: how {@link packOf} prices a pack (see there). */
  constructor(pricing: StreamPackPricing = DEFAULT_STREAM_PACK_PRICING) {
    this.#pricing = pricing;
  }

  /** Bumped whenever a correction changes. */
  get version(): number {
    return this.#version;
  }

  /** The correction of a batch of `n` on `deviceId` at `now` (1 before any batch there). */
  of(deviceId: string, n: number, now: number): number {
    const d = this.#devices.get(deviceId);
    if (d === undefined) return 1;
    return aged(d.classes[sizeClass(n)] ?? d.all, now);
  }

  /**
   * The correction a stream's capacity prices a pack of `n` at (its hold time ÷ its profile). By default
   * (`'hand-off-once'`) the pack pays one hand-off and its frames the backend's speed: `(h + r·L(n)) / L(n)`, with the
   * hand-off `h` (ms) and the backend's ratio `r` learned apart from every batch whose backend time is known —
   * figures every batch refreshes, so a pack size that has not run yet is priced at what the device's batches teach,
   * and the hand-offs of packs of one do not multiply the compute of a pack of eight. Before any such batch (or with
   * `'worst-class'`, the earlier rule) it is the largest of the device's figure over all sizes, its size class's and
   * every smaller class's: on a contended device whose packs of one hold it several times their profile, that
   * prices a pack of eight at the same multiple. Bounded to ½…4×, as every correction.
   */
  packOf(profile: LatencyProfile, deviceId: string, n: number, now: number): number {
    const d = this.#devices.get(deviceId);
    if (d === undefined) return 1;
    if (this.#pricing === 'hand-off-once' && d.timed) {
      const profiled = latencyAt(profile, n);
      return clamp((aged(d.backend, now) * profiled + fadeStale(d.handOff.value, 0, d.handOff.at, now)) / profiled);
    }
    let c = aged(d.all, now);
    for (let k = sizeClass(n); k >= 0; k--) {
      const r = d.classes[k];
      if (r !== undefined) c = Math.max(c, aged(r, now));
    }
    return c;
  }

  /**
   * Folds in a batch of `n` (at profiled input size) that held `deviceId` for `holdMs`, ending at `now`; `runMs`, when
   * known, is the time its backend ran (inside the device): the rest of the hold is the batch's hand-off.
   */
  observe(profile: LatencyProfile, deviceId: string, n: number, holdMs: number, now: number, runMs?: number): void {
    if (!(holdMs > 0) || !Number.isFinite(holdMs)) return;
    const profiled = latencyAt(profile, n);
    const ratio = holdMs / profiled;
    let d = this.#devices.get(deviceId);
    if (d === undefined) this.#devices.set(deviceId, (d = { all: { value: 1, at: now }, classes: [], timed: false, backend: { value: 1, at: now }, handOff: { value: 0, at: now } }));
    if (runMs !== undefined && runMs >= 0 && Number.isFinite(runMs)) learnSplit(d, profile, profiled, holdMs, runMs, now);
    const k = sizeClass(n);
    // A class seen for the first time starts from what all sizes taught, not from the profile.
    const own = (d.classes[k] ??= { value: aged(d.all, now), at: now });
    own.value = step(aged(own, now), ratio);
    own.at = now;
    d.all.value = step(aged(d.all, now), ratio);
    d.all.at = now;
    this.#version++;
  }

  /** The smaller of the profile's and the corrected time of a batch of `n` over `deviceIds` at `now`, ms. */
  optimisticMs(profile: LatencyProfile, n: number, deviceIds: readonly string[], now: number): number {
    const profiled = latencyAt(profile, n);
    let ms = profiled;
    // Indexed: admission asks this per submit, and an iterator is an object per loop wherever the code runs unoptimized.
    for (let i = 0; i < deviceIds.length; i++) ms = Math.min(ms, profiled * this.of(deviceIds[i]!, n, now));
    return ms;
  }
}

/**
 * Learns a batch's backend ratio (`runMs` over the profile) and its hand-off (`holdMs − runMs`, ms) apart, each an
 * EWMA in which one batch counts at most {@link STEP}× the current figure — the hand-off's at least the profile's
 * pack of one, so that it can grow from nothing — so one stalled batch moves either by at most 60 %. A batch sent
 * ahead can report a run longer than its hold (its run began in the worker before the host counted it): no hand-off.
 */
function learnSplit(d: DeviceRatios, profile: LatencyProfile, profiled: number, holdMs: number, runMs: number, now: number): void {
  d.timed = true;
  d.backend.value = step(aged(d.backend, now), runMs / profiled);
  d.backend.at = now;
  const h = fadeStale(d.handOff.value, 0, d.handOff.at, now);
  const seen = Math.max(0, holdMs - runMs);
  d.handOff.value = (1 - WEIGHT) * h + WEIGHT * Math.min(seen, STEP * Math.max(h, latencyAt(profile, 1)));
  d.handOff.at = now;
}

function aged(r: Ratio, now: number): number {
  return fadeStale(r.value, 1, r.at, now);
}

/**
 * A learned `value` at `now`, set last at `refreshedAt`: kept as is for {@link STALE_AFTER_MS}, then fading
 * toward `toward` with a half-life of {@link HALF_LIFE_MS} — so a figure that stops work from reaching what would
 * refresh it cannot lock that work out for good. The executor's hold-time corrections and the generation engine's
 * step overhead learn this way.
 */
export function fadeStale(value: number, toward: number, refreshedAt: number, now: number): number {
  const age = now - refreshedAt - STALE_AFTER_MS;
  return age > 0 ? toward + (value - toward) * 0.5 ** (age / HALF_LIFE_MS) : value;
}

/** The EWMA's next value from `value` and one batch's `ratio`, that batch counted at most {@link STEP}× `value`. */
function step(value: number, ratio: number): number {
  return clamp((1 - WEIGHT) * value + WEIGHT * Math.min(ratio, STEP * value));
}

function clamp(ratio: number): number {
  return Math.min(MAX_RATIO, Math.max(MIN_RATIO, ratio));
}

/** ⌊log2 n⌋: 1 → 0, 2–3 → 1, 4–7 → 2, … */
function sizeClass(n: number): number {
  return n >= 1 ? Math.floor(Math.log2(n)) : 0;
}
