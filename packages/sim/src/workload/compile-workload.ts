import { EparaError, createSeededRandom } from '@epara/core';
import type { SimServer } from '../model/hardware.js';
import { SERVICE_CATALOG } from '../model/services.js';
import type { CompiledTrace } from '../world/world.js';
import { pickWeighted } from './samplers.js';
import { generateSessions, type RequestSource, type StreamSession, type WorkloadSpec } from './workload.js';

/** A workload turned into what the world runs: sources, trace columns, sessions, and its average demand. */
export interface CompiledWorkload {
  /** Catalog ids of the services the workload uses, in index order. */
  readonly serviceIds: readonly string[];
  readonly sources: readonly RequestSource[];
  readonly trace: CompiledTrace | null;
  readonly sessions: readonly StreamSession[];
  readonly originWeights: Float64Array;
  /** Average items/s per service (row) and access server (column). */
  readonly expectedDemand: number[][];
}

/** Compiles a validated workload for a set of servers. Stream sessions are drawn up front (seeded). */
export function compileWorkload(input: { workload: WorkloadSpec; servers: readonly SimServer[]; durationMs: number; seed: number }): CompiledWorkload {
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
  const weights = new Float64Array(servers.map((s) => (w.origins === 'clients' && s.preset.deviceKind !== 'edge-gpu' ? 3 : 1)));
  const wsum = weights.reduce((a, b) => a + b, 0);
  const demand = ids.map(() => servers.map(() => 0));
  const spread = (k: number, rate: number): void => servers.forEach((_, s) => (demand[k]![s]! += (rate * weights[s]!) / wsum));
  const sources: RequestSource[] = [];
  for (const r of w.requests ?? []) {
    if (r.ratePerSec <= 0) continue;
    const k = indexOf(r.service);
    sources.push({ service: k, meanGapMs: 1000 / r.ratePerSec, process: r.process ?? { kind: 'poisson' } });
    spread(k, r.ratePerSec);
  }
  const rng = createSeededRandom(input.seed ^ 0x27d4eb2f);
  const cumulative = new Float64Array(weights.length);
  let acc = 0;
  weights.forEach((x, i) => (cumulative[i] = acc += x));
  const sessions: StreamSession[] = [];
  for (const load of w.streams ?? []) {
    const k = indexOf(load.service);
    const svc = SERVICE_CATALOG[load.service]!;
    const rateHz = svc.spec.slo.kind === 'frequency' ? svc.spec.slo.rateHz : 1;
    const meanDurationMs = load.meanDurationMs ?? svc.streamMeanMs ?? 60_000;
    sessions.push(...generateSessions({ load, service: k, rateHz, meanDurationMs, durationMs, pickOrigin: () => pickWeighted(rng, cumulative), rng, firstId: sessions.length }));
    spread(k, load.concurrentStreams * rateHz);
  }
  let trace: CompiledTrace | null = null;
  if (w.trace !== undefined && w.trace.length > 0) {
    const rows = [...w.trace].sort((a, b) => a.timeMs - b.timeMs);
    const times = new Float64Array(rows.length);
    const services = new Int32Array(rows.length);
    const origins = new Int32Array(rows.length);
    rows.forEach((r, i) => {
      const origin = typeof r.origin === 'number' ? r.origin : servers.findIndex((s) => s.spec.id === r.origin);
      if (!(Number.isInteger(origin) && origin >= 0 && origin < servers.length)) {
        throw new EparaError('INVALID_OPTIONS', `scenario.workload.trace[${i}].origin names no server: ${JSON.stringify(r.origin)}`, { field: `scenario.workload.trace[${i}].origin`, value: r.origin });
      }
      times[i] = r.timeMs;
      services[i] = indexOf(r.service);
      origins[i] = origin;
      if (r.timeMs < durationMs) demand[services[i]!]![origin]! += 1000 / durationMs;
    });
    trace = { times, services, origins };
  }
  return { serviceIds: ids, sources, trace, sessions, originWeights: weights, expectedDemand: demand };
}
