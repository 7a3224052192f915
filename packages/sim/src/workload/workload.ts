import type { Random } from '@epara/core';
import { sampleExponential, sampleGamma, sampleInterArrival } from './samplers.js';

/**
 * How requests of one service arrive: `poisson`; `gamma` renewal with a coefficient of variation `cv`
 * (bursty for `cv > 1`); `diurnal`: a rate `mean·(1 + amplitude·sin(2πt/period))` by thinning, with gaps of
 * the given `cv` (default 1).
 */
export type ArrivalProcess =
  | { readonly kind: 'poisson' }
  | { readonly kind: 'gamma'; readonly cv: number }
  | { readonly kind: 'diurnal'; readonly periodMs: number; readonly amplitude: number; readonly cv?: number }
  | BurstProcess;

/**
 * Bursts: once every `periodMs` the rate rises `factor`-fold for `burstMs` (the burst starts at a seeded
 * offset within its period); the rate outside bursts is lowered so the mean stays `ratePerSec`.
 */
export interface BurstProcess {
  readonly kind: 'bursts';
  readonly periodMs: number;
  readonly burstMs: number;
  readonly factor: number;
}

/** Open-loop requests of a latency service (or frames sent as independent requests). */
export interface RequestLoad {
  readonly service: string;
  /** Mean requests per second over the whole cluster. */
  readonly ratePerSec: number;
  /** @default { kind: 'poisson' } */
  readonly process?: ArrivalProcess;
}

/** Stream sessions of a frequency service: about `concurrentStreams` active at any time. */
export interface StreamLoad {
  readonly service: string;
  readonly concurrentStreams: number;
  /** Mean session length (exponential), ms. @default the service's `streamMeanMs` */
  readonly meanDurationMs?: number;
}

/** One row of a request trace: when, which service, which access server (index or id; omitted: drawn from `origins`). */
export interface TraceRow {
  readonly timeMs: number;
  readonly service: string;
  readonly origin?: number | string;
  /** Prompt tokens of an LLM request (omitted: drawn from the service's timing). */
  readonly promptTokens?: number;
  /** Answer tokens of an LLM request. */
  readonly outputTokens?: number;
}

/**
 * Moving hot spots: access servers get Zipf weights `base(s) / rank^exponent` over a seeded random ranking
 * that is redrawn every `shiftEveryMs` (the hot spots move), on top of the `base` weighting.
 */
export interface ZipfOrigins {
  readonly kind: 'zipf';
  /** @default 1.1 */
  readonly exponent?: number;
  /** @default 120000 */
  readonly shiftEveryMs?: number;
  /** @default 'uniform' */
  readonly base?: 'uniform' | 'clients';
}

/**
 * A workload: synthetic request loads, stream sessions and/or trace rows. Origins of synthetic requests
 * are drawn per request: `uniform` over servers, or `clients` (embedded boards and microcomputers weigh
 * 3, GPU servers 1: most requests come from the small devices).
 */
export interface WorkloadSpec {
  readonly requests?: readonly RequestLoad[];
  readonly streams?: readonly StreamLoad[];
  readonly trace?: readonly TraceRow[];
  /** @default 'uniform' */
  readonly origins?: 'uniform' | 'clients' | ZipfOrigins;
}

/** One stream session, generated up front. */
export interface StreamSession {
  readonly id: number;
  readonly service: number;
  readonly origin: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly rateHz: number;
}

/** A request source that samples its next arrival lazily (one pending event per source). */
export interface RequestSource {
  readonly service: number;
  readonly meanGapMs: number;
  readonly process: ArrivalProcess;
  /** Set in a zone's world: the source emits only the cluster-wide arrivals whose clients are in the zone. */
  readonly zoneShare?: ZoneShare;
}

/**
 * The share of a cluster-wide source's arrivals that enter at one zone's access servers, per origin epoch: a
 * zone's world runs the cluster process independently thinned by it (see `nextZoneArrivalMs`).
 */
export interface ZoneShare {
  readonly epochMs: number;
  /** Per epoch, the zone's weight over the cluster's (0..1). */
  readonly shares: Float64Array;
  /** The largest share (> 0). */
  readonly max: number;
}

/** Next arrival time of a source after `nowMs` (diurnal by thinning against the peak rate). */
export function nextArrivalMs(source: RequestSource, nowMs: number, rng: Random): number {
  if (source.zoneShare !== undefined) return nextZoneArrivalMs(source, source.zoneShare, nowMs, rng);
  const p = source.process;
  if (p.kind === 'poisson') return nowMs + sampleExponential(rng, source.meanGapMs);
  if (p.kind === 'gamma') return nowMs + sampleInterArrival(rng, source.meanGapMs, p.cv);
  if (p.kind === 'bursts') return nextBurstArrival(p, source, nowMs, rng);
  const peak = 1 + p.amplitude;
  let t = nowMs;
  for (;;) {
    t += sampleInterArrival(rng, source.meanGapMs / peak, p.cv ?? 1);
    const rel = (1 + p.amplitude * Math.sin((2 * Math.PI * t) / p.periodMs)) / peak;
    if (rng.next() < rel) return t;
  }
}

/**
 * Next arrival of a cluster-wide source that enters at one zone: the cluster process thinned by the zone's share
 * at each arrival's time, drawn directly. Candidates are the process's own candidate gaps thinned by the largest
 * share `m` (a geometric number N of gaps each: for Gamma gaps of shape k, one Gamma of shape N·k; for
 * exponential ones, one exponential of mean / m), each kept with the process's own test times share(t) / m.
 * Independent thinning of a thinned process is thinning by the product, so a zone sees exactly the arrival process
 * it sees in the whole cluster (its own marginal); what differs from drawing the cluster's sequence once is only
 * that two zones' arrivals are drawn independently.
 */
function nextZoneArrivalMs(source: RequestSource, z: ZoneShare, nowMs: number, rng: Random): number {
  const p = source.process;
  const m = z.max;
  let t = nowMs;
  for (;;) {
    let keep = 1;
    if (p.kind === 'poisson') t += sampleExponential(rng, source.meanGapMs / m);
    else if (p.kind === 'gamma') t += thinnedGap(rng, source.meanGapMs, p.cv, m);
    else if (p.kind === 'diurnal') {
      const peak = 1 + p.amplitude;
      t += thinnedGap(rng, source.meanGapMs / peak, p.cv ?? 1, m);
      keep = (1 + p.amplitude * Math.sin((2 * Math.PI * t) / p.periodMs)) / peak;
    } else {
      const share = p.burstMs / p.periodMs;
      const base = 1 / (1 - share + p.factor * share);
      t += sampleExponential(rng, source.meanGapMs / (p.factor * base) / m);
      const i = Math.floor(t / p.periodMs);
      const offset = unitHash(i, source.service) * (p.periodMs - p.burstMs);
      const inBurst = t - i * p.periodMs >= offset && t - i * p.periodMs < offset + p.burstMs;
      keep = inBurst ? 1 : 1 / p.factor;
    }
    const e = Math.min(z.shares.length - 1, Math.max(0, Math.floor(t / z.epochMs)));
    // The last epoch lasts for ever: with no share in it, no arrival ever comes.
    if (e === z.shares.length - 1 && z.shares[e] === 0) return Infinity;
    if (rng.next() < (keep * z.shares[e]!) / m) return t;
  }
}

/** The sum of a geometric(m) number of renewal gaps of mean `meanMs` and variation `cv`. */
function thinnedGap(rng: Random, meanMs: number, cv: number, m: number): number {
  if (cv === 1) return sampleExponential(rng, meanMs / m);
  const n = m >= 1 ? 1 : 1 + Math.floor(Math.log(1 - rng.next()) / Math.log(1 - m));
  const shape = 1 / (cv * cv);
  return sampleGamma(rng, n * shape, meanMs / shape);
}

/** Generates the stream sessions of one load over `[0, durationMs)`: those active at 0 plus Poisson starts. */
export function generateSessions(options: {
  load: StreamLoad;
  service: number;
  rateHz: number;
  meanDurationMs: number;
  durationMs: number;
  pickOrigin: (atMs: number) => number;
  rng: Random;
  firstId: number;
}): StreamSession[] {
  const { load, rng, meanDurationMs, durationMs } = options;
  const out: StreamSession[] = [];
  const add = (start: number): void => {
    const end = start + sampleExponential(rng, meanDurationMs);
    out.push({ id: options.firstId + out.length, service: options.service, origin: options.pickOrigin(start), startMs: start, endMs: end, rateHz: options.rateHz });
  };
  for (let i = 0; i < load.concurrentStreams; i++) add(rng.next() * Math.min(1000, durationMs));
  const gap = meanDurationMs / Math.max(load.concurrentStreams, 1e-9);
  for (let t = sampleExponential(rng, gap); t < durationMs && load.concurrentStreams > 0; t += sampleExponential(rng, gap)) add(t);
  return out;
}

/** Thinning against the burst rate; the burst's offset in period `i` is a hash of `i` and the source. */
function nextBurstArrival(p: BurstProcess, source: RequestSource, nowMs: number, rng: Random): number {
  const share = p.burstMs / p.periodMs;
  // Base rate r with r·(1 − share) + factor·r·share = mean: the mean is kept.
  const base = 1 / (1 - share + p.factor * share);
  const peakGap = source.meanGapMs / (p.factor * base);
  let t = nowMs;
  for (;;) {
    t += sampleExponential(rng, peakGap);
    const i = Math.floor(t / p.periodMs);
    const offset = unitHash(i, source.service) * (p.periodMs - p.burstMs);
    const inBurst = t - i * p.periodMs >= offset && t - i * p.periodMs < offset + p.burstMs;
    if (inBurst || rng.next() < 1 / p.factor) return t;
  }
}

function unitHash(a: number, b: number): number {
  let h = Math.imul(a + 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  return ((h ^ (h >>> 13)) >>> 0) / 4294967296;
}
