import type { Random } from '@epara/core';
import { sampleExponential, sampleInterArrival } from './samplers.js';

/**
 * How requests of one service arrive: `poisson`; `gamma` renewal with a coefficient of variation `cv`
 * (bursty for `cv > 1`); `diurnal`: a rate `mean·(1 + amplitude·sin(2πt/period))` by thinning, with gaps of
 * the given `cv` (default 1).
 */
export type ArrivalProcess =
  | { readonly kind: 'poisson' }
  | { readonly kind: 'gamma'; readonly cv: number }
  | { readonly kind: 'diurnal'; readonly periodMs: number; readonly amplitude: number; readonly cv?: number };

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

/** One row of a request trace: when, which service, which access server (index or id). */
export interface TraceRow {
  readonly timeMs: number;
  readonly service: string;
  readonly origin: number | string;
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
  readonly origins?: 'uniform' | 'clients';
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
}

/** Next arrival time of a source after `nowMs` (diurnal by thinning against the peak rate). */
export function nextArrivalMs(source: RequestSource, nowMs: number, rng: Random): number {
  const p = source.process;
  if (p.kind === 'poisson') return nowMs + sampleExponential(rng, source.meanGapMs);
  if (p.kind === 'gamma') return nowMs + sampleInterArrival(rng, source.meanGapMs, p.cv);
  const peak = 1 + p.amplitude;
  let t = nowMs;
  for (;;) {
    t += sampleInterArrival(rng, source.meanGapMs / peak, p.cv ?? 1);
    const rel = (1 + p.amplitude * Math.sin((2 * Math.PI * t) / p.periodMs)) / peak;
    if (rng.next() < rel) return t;
  }
}

/** Generates the stream sessions of one load over `[0, durationMs)`: those active at 0 plus Poisson starts. */
export function generateSessions(options: {
  load: StreamLoad;
  service: number;
  rateHz: number;
  meanDurationMs: number;
  durationMs: number;
  pickOrigin: () => number;
  rng: Random;
  firstId: number;
}): StreamSession[] {
  const { load, rng, meanDurationMs, durationMs } = options;
  const out: StreamSession[] = [];
  const add = (start: number): void => {
    const end = start + sampleExponential(rng, meanDurationMs);
    out.push({ id: options.firstId + out.length, service: options.service, origin: options.pickOrigin(), startMs: start, endMs: end, rateHz: options.rateHz });
  };
  for (let i = 0; i < load.concurrentStreams; i++) add(rng.next() * Math.min(1000, durationMs));
  const gap = meanDurationMs / Math.max(load.concurrentStreams, 1e-9);
  for (let t = sampleExponential(rng, gap); t < durationMs && load.concurrentStreams > 0; t += sampleExponential(rng, gap)) add(t);
  return out;
}
