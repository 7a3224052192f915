import { createSeededRandom, type Random } from '@epara/core';
import type { DemoServiceId } from './catalog.js';

/** One latency request: when it arrives (ms from the start), at which node, and which input variant. */
export interface RequestArrival {
  readonly atMs: number;
  readonly serviceId: DemoServiceId;
  readonly node: number;
  /** Seeds the request's input (image pool entry, prompt length and tokens). */
  readonly variant: number;
}

/** One stream session: opened at a node at `startMs`, pushes `frames` frames at `rateHz` until the end. */
export interface StreamSession {
  readonly id: string;
  readonly serviceId: DemoServiceId;
  readonly node: number;
  readonly rateHz: number;
  readonly startMs: number;
  readonly frames: number;
}

/** The whole workload of one run: identical for both systems (same seed, same arrivals). */
export interface Workload {
  readonly durationMs: number;
  readonly requests: readonly RequestArrival[];
  readonly streams: readonly StreamSession[];
  /** Average items/s per service and entry node: the demand forecast both systems place from. */
  readonly demand: Readonly<Record<DemoServiceId, readonly number[]>>;
}

/** Base rates at `load = 1`: Poisson requests/s, and stream counts with their rates. */
export const BASE_MIX = {
  image: { perSec: 24 },
  chat: { perSec: 6 },
  video: { streams: 3, rateHz: 10 },
  loop: { streams: 3, rateHz: 20 },
  vad: { streams: 4, rateHz: 31.25 },
} as const;

/**
 * The smallest load multiplier at which every stream service still has one stream (its count is rounded):
 * below it the workload stops shrinking in streams, so a search for a knee gains nothing by going lower.
 */
export const MIN_LOAD = 0.5 / Math.min(BASE_MIX.video.streams, BASE_MIX.loop.streams, BASE_MIX.vad.streams);

/** Share of a service's requests entering at each node: images mostly at the first node, chat at the last. */
export function entryWeights(serviceId: 'image' | 'chat', nodes: number): number[] {
  const raw = Array.from({ length: nodes }, (_, i) => 0.3 ** (serviceId === 'image' ? i : nodes - 1 - i));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => w / sum);
}

function pick(weights: readonly number[], random: Random): number {
  let u = random.next();
  for (const [i, w] of weights.entries()) {
    if (u < w) return i;
    u -= w;
  }
  return weights.length - 1;
}

function poisson(serviceId: 'image' | 'chat', perSec: number, o: WorkloadOptions, random: Random): RequestArrival[] {
  const out: RequestArrival[] = [];
  const weights = entryWeights(serviceId, o.nodes);
  let t = 0;
  for (;;) {
    t += (-Math.log(1 - random.next()) / perSec) * 1000;
    if (t >= o.durationMs) return out;
    out.push({ atMs: t, serviceId, node: pick(weights, random), variant: Math.floor(random.next() * 1e9) });
  }
}

function sessions(serviceId: 'video' | 'loop' | 'vad', o: WorkloadOptions, random: Random, offset: number): StreamSession[] {
  const { streams, rateHz } = BASE_MIX[serviceId];
  const count = Math.max(1, Math.round(streams * o.load));
  return Array.from({ length: count }, (_, k) => {
    const startMs = random.next() * Math.min(1000, o.durationMs * 0.1);
    const frames = Math.max(1, Math.floor(((o.durationMs - startMs) / 1000) * rateHz));
    return { id: `${serviceId}-${k}`, serviceId, node: (k + offset) % o.nodes, rateHz, startMs, frames };
  });
}

/** Options of {@link buildWorkload}. */
export interface WorkloadOptions {
  readonly durationMs: number;
  readonly load: number;
  readonly nodes: number;
  readonly seed: number;
}

/** Builds the deterministic workload of a run from its seed. */
export function buildWorkload(o: WorkloadOptions): Workload {
  const random = createSeededRandom(o.seed);
  const requests = [...poisson('image', BASE_MIX.image.perSec * o.load, o, random), ...poisson('chat', BASE_MIX.chat.perSec * o.load, o, random)].sort(
    (a, b) => a.atMs - b.atMs,
  );
  const streams = [...sessions('video', o, random, 0), ...sessions('loop', o, random, 1), ...sessions('vad', o, random, 2)];
  const demand = {} as Record<DemoServiceId, number[]>;
  for (const id of ['image', 'chat'] as const) demand[id] = entryWeights(id, o.nodes).map((w) => w * BASE_MIX[id].perSec * o.load);
  for (const id of ['video', 'loop', 'vad'] as const) {
    demand[id] = Array.from({ length: o.nodes }, () => 0);
    for (const s of streams) if (s.serviceId === id) demand[id][s.node]! += s.rateHz;
  }
  return { durationMs: o.durationMs, requests, streams, demand };
}
