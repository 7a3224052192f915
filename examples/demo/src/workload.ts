import { createSeededRandom, type Random } from '@epara/core';
import { bundledAzureLlmTrace, edgeMix, readAzureLlmTrace, type BurstProcess, type TraceRow, type ZipfOrigins } from '@epara/sim';
import { generateSessions, nextArrivalMs, pickOrigin, zipfOriginTable, type OriginTable } from '@epara/sim/engine';
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

/** Items/s per service and entry node. */
export type Demand = Readonly<Record<DemoServiceId, readonly number[]>>;

/** The whole workload of one run: identical for both systems (same seed, same arrivals). */
export interface Workload {
  readonly durationMs: number;
  readonly requests: readonly RequestArrival[];
  readonly streams: readonly StreamSession[];
  /**
   * The demand forecast both systems place from. In the edge world: what an operator measured over the early
   * window of another seed's workload ({@link earlyWindowForecast}); in the stationary world: the exact mean.
   */
  readonly demand: Demand;
  /** The process's mean items/s per service and entry node (the stationary world's forecast). */
  readonly meanDemand: Demand;
  /** The world it was drawn from. */
  readonly world: DemoWorld;
}

/**
 * Which world the workload comes from. `edge` (the default): the simulator's edge world (`edgeMix` of
 * `@epara/sim`) scaled to a run — image bursts, moving Zipf hot spots, chat replayed from the Azure LLM trace,
 * streams that come and go, a forecast learned from another seed's run. `stationary`: the demo's world
 * until this version — Poisson requests at fixed entry shares, streams open for the whole run, the exact mean
 * as forecast.
 */
export type DemoWorld = 'edge' | 'stationary';

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
  /** @default 'edge' */
  readonly world?: DemoWorld;
}

/** Builds the deterministic workload of a run from its seed. */
export function buildWorkload(o: WorkloadOptions): Workload {
  if ((o.world ?? 'edge') === 'edge') {
    const w = edgeArrivals(o);
    return { ...w, demand: earlyWindowForecast(o) };
  }
  return stationaryWorkload(o);
}

function stationaryWorkload(o: WorkloadOptions): Workload {
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
  return { durationMs: o.durationMs, requests, streams, demand, meanDemand: demand, world: 'stationary' };
}

/**
 * The simulator's edge world (`edgeMix`) mapped onto one run of `durationMs` (a trial or a probe, 10 s by default). Its
 * time constants are minutes, a run is seconds, so each is scaled to keep what a run sees of it:
 * - bursts: `edgeMix`'s period (20 s) becomes the run (one burst per run), its length keeps its share of the
 *   period (2 s of 20 → a tenth of the run), its factor (4×, mean kept) as is;
 * - hot spots: `edgeMix`'s Zipf (exponent 0.9, uniform base) re-drawn every half run (one move per run);
 * - stream sessions: the simulator's mean lengths (60 s video, 120 s device loops) on the hot spots' scale
 *   (60 s → half a run): video half a run, loop and VAD a whole run;
 * - the forecast's window: the simulator's operator measures `min(60 s, duration / 4)`, i.e. (in any run past
 *   4 minutes) 60 s, three whole burst periods and one hot-spot period; scaled the same way it is one whole run
 *   (a quarter of a run would always hold the one burst — its place in the period is a hash of the period and
 *   the service, the same in every seed — and forecast images at about 1.7× their mean).
 */
export function edgeWorld(durationMs: number): { readonly burst: BurstProcess; readonly origins: ZipfOrigins; readonly streamMeanMs: Readonly<Record<'video' | 'loop' | 'vad', number>>; readonly earlyWindowMs: number } {
  const spec = edgeMix({ durationMs, chatTrace: false });
  const sim = spec.requests?.find((r) => r.process?.kind === 'bursts')?.process as BurstProcess;
  const zipf = spec.origins as ZipfOrigins;
  const shiftEveryMs = durationMs / 2;
  return {
    burst: { kind: 'bursts', periodMs: durationMs, burstMs: (durationMs * sim.burstMs) / sim.periodMs, factor: sim.factor },
    origins: { ...zipf, shiftEveryMs },
    streamMeanMs: { video: shiftEveryMs, loop: 2 * shiftEveryMs, vad: 2 * shiftEveryMs },
    earlyWindowMs: durationMs,
  };
}

/** Service indices the simulator's samplers key on (the burst's offset in its period is a hash of it). */
const SIM_INDEX = { image: 0, chat: 1, video: 2, loop: 3, vad: 4 } as const;

let recorded: { readonly perSec: number; readonly spanMs: number } | undefined;

/** The bundled trace's recorded requests/s (as `edgeMix` computes it) and its length. */
function recordedTrace(): { readonly perSec: number; readonly spanMs: number } {
  if (recorded === undefined) {
    const all = readAzureLlmTrace(bundledAzureLlmTrace(), {});
    const spanMs = all[all.length - 1]!.timeMs;
    recorded = { perSec: all.length / Math.max(1, spanMs / 1000), spanMs };
  }
  return recorded;
}

/**
 * Chat arrivals: the Azure LLM conversation trace sped up to `perSec` (as `edgeMix` does), from a seeded point
 * of the recorded hour, so that each seed replays another stretch of it.
 */
function chatTrace(perSec: number, durationMs: number, random: Random): TraceRow[] {
  const trace = recordedTrace();
  const speedup = perSec / trace.perSec;
  const skipMs = random.next() * Math.max(0, trace.spanMs - durationMs * speedup);
  return readAzureLlmTrace(bundledAzureLlmTrace(), { speedup, skipMs, durationMs });
}

function edgeArrivals(o: WorkloadOptions): Omit<Workload, 'demand'> {
  const world = edgeWorld(o.durationMs);
  const random = createSeededRandom(o.seed);
  const origins = zipfOriginTable(world.origins, Array.from({ length: o.nodes }, () => 1), o.durationMs, o.seed);
  const at = (t: number): number => pickOrigin(origins, t, random);
  const requests: RequestArrival[] = [];
  const image = { service: SIM_INDEX.image, meanGapMs: 1000 / (BASE_MIX.image.perSec * o.load), process: world.burst };
  for (let t = nextArrivalMs(image, 0, random); t < o.durationMs; t = nextArrivalMs(image, t, random)) {
    requests.push({ atMs: t, serviceId: 'image', node: at(t), variant: Math.floor(random.next() * 1e9) });
  }
  for (const row of chatTrace(BASE_MIX.chat.perSec * o.load, o.durationMs, random)) {
    requests.push({ atMs: row.timeMs, serviceId: 'chat', node: at(row.timeMs), variant: Math.floor(random.next() * 1e9) });
  }
  requests.sort((a, b) => a.atMs - b.atMs);
  const streams: StreamSession[] = [];
  for (const id of ['video', 'loop', 'vad'] as const) {
    const { streams: count, rateHz } = BASE_MIX[id];
    const drawn = generateSessions({
      load: { service: id, concurrentStreams: Math.max(1, Math.round(count * o.load)) },
      service: SIM_INDEX[id],
      rateHz,
      meanDurationMs: world.streamMeanMs[id],
      durationMs: o.durationMs,
      pickOrigin: at,
      rng: random,
      firstId: 0,
    });
    for (const [k, s] of drawn.entries()) {
      const frames = Math.floor(((Math.min(s.endMs, o.durationMs) - s.startMs) / 1000) * rateHz);
      if (frames >= 1) streams.push({ id: `${id}-${k}`, serviceId: id, node: s.origin, rateHz, startMs: s.startMs, frames });
    }
  }
  return { durationMs: o.durationMs, requests, streams, meanDemand: meanDemandOf(o, origins), world: 'edge' };
}

/** The edge world's mean items/s per entry node: each service's mean rate × the hot spots' share averaged over the run. */
function meanDemandOf(o: WorkloadOptions, origins: OriginTable): Demand {
  const share = Array.from({ length: o.nodes }, () => 0);
  for (let e = 0; e < origins.epochs; e++) {
    const c = origins.cumulative.subarray(e * o.nodes, (e + 1) * o.nodes);
    const span = Math.min(o.durationMs, (e + 1) * origins.epochMs) - Math.min(o.durationMs, e * origins.epochMs);
    for (let i = 0; i < o.nodes; i++) share[i]! += ((c[i]! - (i > 0 ? c[i - 1]! : 0)) / c[o.nodes - 1]!) * (span / o.durationMs);
  }
  const rate: Record<DemoServiceId, number> = {
    image: BASE_MIX.image.perSec * o.load,
    chat: BASE_MIX.chat.perSec * o.load,
    video: Math.max(1, Math.round(BASE_MIX.video.streams * o.load)) * BASE_MIX.video.rateHz,
    loop: Math.max(1, Math.round(BASE_MIX.loop.streams * o.load)) * BASE_MIX.loop.rateHz,
    vad: Math.max(1, Math.round(BASE_MIX.vad.streams * o.load)) * BASE_MIX.vad.rateHz,
  };
  return Object.fromEntries(Object.entries(rate).map(([id, r]) => [id, share.map((x) => x * r)])) as unknown as Demand;
}

/** Seed of the workload a run's forecast is measured on: another day of the same process. */
export function forecastSeed(seed: number): number {
  return (seed ^ 0x61c88647) >>> 0;
}

/**
 * The edge world's forecast, as the simulator's operator learns it: items/s per service and entry node over
 * the window (`edgeWorld(...).earlyWindowMs`, the whole run) of the workload of another seed ({@link forecastSeed}) —
 * requests counted, stream sessions by their frames in the window. Triton keeps it; EPARA places from it.
 */
export function earlyWindowForecast(o: WorkloadOptions): Demand {
  const sample = edgeArrivals({ ...o, seed: forecastSeed(o.seed) });
  const windowMs = edgeWorld(o.durationMs).earlyWindowMs;
  const counts = Object.fromEntries((['image', 'chat', 'video', 'loop', 'vad'] as const).map((id) => [id, Array.from({ length: o.nodes }, () => 0)])) as Record<DemoServiceId, number[]>;
  for (const r of sample.requests) if (r.atMs < windowMs) counts[r.serviceId][r.node]!++;
  for (const s of sample.streams) {
    const endMs = s.startMs + (s.frames * 1000) / s.rateHz;
    const overlap = Math.min(endMs, windowMs) - Math.max(s.startMs, 0);
    if (overlap > 0) counts[s.serviceId][s.node]! += (overlap / 1000) * s.rateHz;
  }
  return Object.fromEntries(Object.entries(counts).map(([id, row]) => [id, row.map((c) => (c * 1000) / windowMs)])) as unknown as Demand;
}
