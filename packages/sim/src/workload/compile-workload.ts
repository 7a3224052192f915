import { DEFAULT_PLACEMENT_OPTIONS, EparaError, createSeededRandom, type Random } from '@epara/core';
import { EPARA_PLACEMENT_OPTIONS } from '@epara/core/internal';
import type { SimServer } from '../model/hardware.js';
import { SERVICE_CATALOG } from '../model/services.js';
import { pickOrigin, type CompiledTrace, type OriginTable } from '../world/world.js';
import { generateSessions, nextArrivalMs, type RequestSource, type StreamSession, type WorkloadSpec, type ZipfOrigins } from './workload.js';

/** A workload turned into what the world runs: sources, trace columns, sessions, origins and the early window. */
export interface CompiledWorkload {
  /** Catalog ids of the services the workload uses, in index order. */
  readonly serviceIds: readonly string[];
  readonly sources: readonly RequestSource[];
  readonly trace: CompiledTrace | null;
  readonly sessions: readonly StreamSession[];
  readonly origins: OriginTable;
  /** Items/s per service (row) and access server (column) measured over a sampled early window. */
  readonly earlyWindowDemand: number[][];
  /**
   * Per service and access server: quantiles (ascending) of the slack the early window's items had left when they
   * reached their access server over its shared uplink, net of the result's way back to the client, ms; empty
   * where no item arrived; empty without `measureSlack`. {@link earlyWindowSlack}.
   */
  readonly earlyWindowSlackMs: number[][][];
}

/** Inputs of {@link compileWorkload}. */
export interface CompileWorkloadInput {
  readonly workload: WorkloadSpec;
  readonly servers: readonly SimServer[];
  readonly durationMs: number;
  readonly seed: number;
  /** Length of the early window the operator measured, ms. */
  readonly earlyWindowMs: number;
  /** Whether the access uplinks queue (the network's `contention`). @default true */
  readonly contention?: boolean;
  /** Measure {@link CompiledWorkload.earlyWindowSlackMs} ({@link readsArrivalSlack}). @default false */
  readonly measureSlack?: boolean;
}

/** Compiles a validated workload for a set of servers. Stream sessions are drawn up front (seeded). */
export function compileWorkload(input: CompileWorkloadInput): CompiledWorkload {
  const { workload: w, servers, durationMs } = input;
  const ids: string[] = [];
  const indexOf = (id: string): number => {
    let i = ids.indexOf(id);
    if (i < 0) i = ids.push(id) - 1;
    return i;
  };
  for (const r of w.requests ?? []) indexOf(r.service);
  for (const s of w.streams ?? []) indexOf(s.service);
  for (const t of w.trace ?? []) indexOf(t.service);
  const origins = originTable(w, servers, durationMs, input.seed);
  const sources: RequestSource[] = [];
  for (const r of w.requests ?? []) {
    if (r.ratePerSec <= 0) continue;
    sources.push({ service: indexOf(r.service), meanGapMs: 1000 / r.ratePerSec, process: r.process ?? { kind: 'poisson' } });
  }
  const rng = createSeededRandom(input.seed ^ 0x27d4eb2f);
  const sessions: StreamSession[] = [];
  for (const load of w.streams ?? []) {
    const k = indexOf(load.service);
    const svc = SERVICE_CATALOG[load.service]!;
    const rateHz = svc.spec.slo.kind === 'frequency' ? svc.spec.slo.rateHz : 1;
    const meanDurationMs = load.meanDurationMs ?? svc.streamMeanMs ?? 60_000;
    sessions.push(...generateSessions({ load, service: k, rateHz, meanDurationMs, durationMs, pickOrigin: (at) => pickOrigin(origins, at, rng), rng, firstId: sessions.length }));
  }
  let trace: CompiledTrace | null = null;
  if (w.trace !== undefined && w.trace.length > 0) {
    const rows = [...w.trace].sort((a, b) => a.timeMs - b.timeMs);
    const n = rows.length;
    trace = { times: new Float64Array(n), services: new Int32Array(n), origins: new Int32Array(n), promptTokens: new Int32Array(n), outputTokens: new Int32Array(n) };
    rows.forEach((r, i) => {
      const origin = r.origin === undefined ? -1 : typeof r.origin === 'number' ? r.origin : servers.findIndex((s) => s.spec.id === r.origin);
      if (r.origin !== undefined && !(Number.isInteger(origin) && origin >= 0 && origin < servers.length)) {
        throw new EparaError('INVALID_OPTIONS', `scenario.workload.trace[${i}].origin names no server: ${JSON.stringify(r.origin)}`, { field: `scenario.workload.trace[${i}].origin`, value: r.origin });
      }
      trace!.times[i] = r.timeMs;
      trace!.services[i] = indexOf(r.service);
      trace!.origins[i] = origin;
      trace!.promptTokens[i] = r.promptTokens ?? -1;
      trace!.outputTokens[i] = r.outputTokens ?? -1;
    });
  }
  const arrivals: EarlyArrival[] | null = input.measureSlack === true ? [] : null;
  const earlyWindowDemand = sampleEarlyWindow({ ids, sources, sessions, trace, origins, servers: servers.length, windowMs: Math.min(input.earlyWindowMs, durationMs), seed: input.seed, arrivals });
  const earlyWindowSlackMs = arrivals === null ? [] : earlyWindowSlack(ids, servers, arrivals, input.contention ?? true);
  return { serviceIds: ids, sources, trace, sessions, origins, earlyWindowDemand, earlyWindowSlackMs };
}

/**
 * Whether a scenario's system reads {@link CompiledWorkload.earlyWindowSlackMs} (the slack an operator measured over
 * the early window, what placement's `arrivalSlackMs` holds until EPARA has measured its own): EPARA whose placement
 * options — given ones over those it deploys (`EPARA_PLACEMENT_OPTIONS`, as the system merges them) — have
 * `arrivalSlack` or `serverSwap` on. Not for `slackReach` alone, which EPARA deploys: its reach reads only the slack
 * EPARA measured from its own arrivals, with the option given or not.
 */
export function readsArrivalSlack(system: { readonly kind: string; readonly placementOptions?: { readonly arrivalSlack?: boolean; readonly serverSwap?: boolean; readonly slackReach?: boolean } }): boolean {
  return system.kind === 'epara' && placementReadsSlack({ ...EPARA_PLACEMENT_OPTIONS, ...system.placementOptions, slackReach: false });
}

/** Whether placement options read `arrivalSlackMs`: `arrivalSlack`, `serverSwap` or `slackReach` on. */
export function placementReadsSlack(options: { readonly arrivalSlack?: boolean; readonly serverSwap?: boolean; readonly slackReach?: boolean }): boolean {
  return (options.arrivalSlack ?? DEFAULT_PLACEMENT_OPTIONS.arrivalSlack) || (options.serverSwap ?? DEFAULT_PLACEMENT_OPTIONS.serverSwap) || (options.slackReach ?? DEFAULT_PLACEMENT_OPTIONS.slackReach);
}

/** Base weights per server: `clients` weighs embedded boards and microcomputers 3, GPU servers 1. */
function baseWeights(kind: 'uniform' | 'clients', servers: readonly SimServer[]): number[] {
  return servers.map((s) => (kind === 'clients' && s.preset.deviceKind !== 'edge-gpu' ? 3 : 1));
}

/** The origin table: one epoch for static weightings, one per shift for moving Zipf hot spots. */
function originTable(w: WorkloadSpec, servers: readonly SimServer[], durationMs: number, seed: number): OriginTable {
  const o = w.origins ?? 'uniform';
  if (typeof o === 'string') return { epochMs: Infinity, epochs: 1, cumulative: cumulate(baseWeights(o, servers)) };
  return zipfOriginTable(o, baseWeights(o.base ?? 'uniform', servers), durationMs, seed);
}

/**
 * Moving Zipf hot spots ({@link ZipfOrigins}) over servers of the given base weights: one seeded ranking per
 * `shiftEveryMs` epoch of `[0, durationMs)`, read with `pickOrigin`. The world's own origin table for a Zipf
 * workload (exported for hosts that replay the edge world outside the simulator, e.g. the demo).
 */
export function zipfOriginTable(o: ZipfOrigins, base: readonly number[], durationMs: number, seed: number): OriginTable {
  const n = base.length;
  const epochMs = o.shiftEveryMs ?? 120_000;
  const exponent = o.exponent ?? 1.1;
  const epochs = Math.max(1, Math.ceil(durationMs / epochMs));
  const rng = createSeededRandom(seed ^ 0x165667b1);
  const cumulative = new Float64Array(epochs * n);
  for (let e = 0; e < epochs; e++) {
    const order = base.map((_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const weights = new Array<number>(n);
    order.forEach((s, rank) => (weights[s] = base[s]! / (rank + 1) ** exponent));
    cumulative.set(cumulate(weights), e * n);
  }
  return { epochMs, epochs, cumulative };
}

function cumulate(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let acc = 0;
  weights.forEach((x, i) => (out[i] = acc += x));
  return out;
}

/**
 * What an operator measured over the first `windowMs`: synthetic arrivals are sampled again with their own
 * seed (another day of the same process, not this run's requests); trace rows and sessions of the window are
 * counted as they are (the past the operator saw). Items/s per service and access server.
 */
function sampleEarlyWindow(o: { ids: readonly string[]; sources: readonly RequestSource[]; sessions: readonly StreamSession[]; trace: CompiledTrace | null; origins: OriginTable; servers: number; windowMs: number; seed: number; arrivals: EarlyArrival[] | null }): number[][] {
  const counts = o.ids.map(() => new Array<number>(o.servers).fill(0));
  const W = o.windowMs;
  if (!(W > 0)) return counts;
  const rng: Random = createSeededRandom(o.seed ^ 0x61c88647);
  const arrive = (atMs: number, service: number, origin: number): void => {
    counts[service]![origin]!++;
    o.arrivals?.push({ atMs, service, origin });
  };
  for (const src of o.sources) {
    for (let t = nextArrivalMs(src, 0, rng); t < W; t = nextArrivalMs(src, t, rng)) arrive(t, src.service, pickOrigin(o.origins, t, rng));
  }
  for (const s of o.sessions) {
    const overlap = Math.min(s.endMs, W) - Math.max(s.startMs, 0);
    if (overlap > 0) counts[s.service]![s.origin]! += (overlap / 1000) * s.rateHz;
    // The session's frames in the window, for the uplink replay (the count above stays the exact overlap).
    if (o.arrivals !== null) for (let t = s.startMs; t < Math.min(s.endMs, W); t += 1000 / s.rateHz) if (t >= 0) o.arrivals.push({ atMs: t, service: s.service, origin: s.origin });
  }
  const t = o.trace;
  if (t !== null) {
    for (let i = 0; i < t.times.length && t.times[i]! < W; i++) arrive(t.times[i]!, t.services[i]!, t.origins[i]! >= 0 ? t.origins[i]! : pickOrigin(o.origins, t.times[i]!, rng));
  }
  return counts.map((row) => row.map((c) => (c * 1000) / W));
}

/** One item of the early window: when it was sent, of which service, from which access server's clients. */
interface EarlyArrival {
  readonly atMs: number;
  readonly service: number;
  readonly origin: number;
}

/** Quantiles kept per service and access server by {@link earlyWindowSlack}. */
const SLACK_QUANTILES = 20;

/**
 * What an operator measured of the items' age at their access servers over the early window: the window's items
 * are replayed over each access server's shared uplink in send order (first come, first served, the payload at
 * the access link's rate, the access latency on top; an item that could not arrive before its deadline is skipped,
 * as the world's clients skip it), and each arrival's slack is `due − arrival − the result's uncontended way back
 * to the client`. Kept as {@link SLACK_QUANTILES} quantiles per service and access server: placement's
 * `arrivalSlackMs` (docs/placement.md). The items' own arrivals later in the run are not read.
 */
function earlyWindowSlack(ids: readonly string[], servers: readonly SimServer[], arrivals: EarlyArrival[], contention: boolean): number[][][] {
  const samples = ids.map(() => servers.map((): number[] => []));
  arrivals.sort((a, b) => a.atMs - b.atMs || a.origin - b.origin || a.service - b.service);
  const upFreeAt = new Float64Array(servers.length);
  const svcs = ids.map((id) => SERVICE_CATALOG[id]!);
  for (const a of arrivals) {
    const svc = svcs[a.service]!;
    const preset = servers[a.origin]!.preset;
    const slo = svc.spec.slo.kind === 'latency' ? svc.spec.slo.deadlineMs : svc.spec.slo.stalenessMs;
    const payload = svc.llm ? 512 + 4 * svc.llm.promptTokensMean : svc.payloadBytes;
    const ms = payload / preset.accessBytesPerMs;
    const start = contention ? Math.max(a.atMs, upFreeAt[a.origin]!) : a.atMs;
    const at = start + ms + preset.accessLatencyMs;
    if (contention && at > a.atMs + slo) continue;
    if (contention) upFreeAt[a.origin] = start + ms;
    const back = preset.accessLatencyMs + svc.responseBytes / preset.accessBytesPerMs;
    samples[a.service]![a.origin]!.push(a.atMs + slo - at - back);
  }
  return samples.map((row) =>
    row.map((list) => {
      if (list.length === 0) return [];
      list.sort((x, y) => x - y);
      const n = Math.min(SLACK_QUANTILES, list.length);
      return Array.from({ length: n }, (_, i) => list[Math.min(list.length - 1, Math.floor(((i + 0.5) * list.length) / n))]!);
    }),
  );
}
