import type { CompiledTrace, OriginTable } from '../world/world-init.js';
import type { CompiledWorkload } from './compile-workload.js';
import type { RequestSource, StreamSession } from './workload.js';

/** What one zone's world runs of a cluster's compiled workload, with its servers numbered from 0. */
export interface ZoneWorkload {
  readonly sources: readonly RequestSource[];
  readonly trace: CompiledTrace | null;
  readonly sessions: readonly StreamSession[];
  readonly origins: OriginTable;
  readonly earlyWindowDemand: number[][];
  readonly earlyWindowSlackMs: number[][][];
}

/**
 * Restricts a cluster's compiled workload to one zone: `members` are the zone's servers (cluster indices,
 * ascending); server `members[i]` is server `i` of the zone's world. Synthetic sources become the cluster
 * sources thinned by the zone's share of the origin weights (`RequestSource.zoneShare`), origins are drawn
 * from the zone's own weights, and sessions and trace rows are those whose access server is in the zone. Trace
 * rows must name their origin (`shardPlanOf` keeps scenarios with rows that do not on the whole-cluster world).
 */
export function zoneWorkload(compiled: CompiledWorkload, members: readonly number[]): ZoneWorkload {
  const local = new Map(members.map((s, i) => [s, i]));
  const t = compiled.origins;
  const n = t.cumulative.length / t.epochs;
  const k = members.length;
  const cumulative = new Float64Array(t.epochs * k);
  const shares = new Float64Array(t.epochs);
  for (let e = 0; e < t.epochs; e++) {
    const c = t.cumulative.subarray(e * n, (e + 1) * n);
    let acc = 0;
    members.forEach((s, i) => (cumulative[e * k + i] = acc += c[s]! - (s > 0 ? c[s - 1]! : 0)));
    shares[e] = c[n - 1]! > 0 ? acc / c[n - 1]! : 0;
  }
  const max = Math.max(0, ...shares);
  const sources = max > 0 ? compiled.sources.map((s) => ({ ...s, zoneShare: { epochMs: t.epochMs, shares, max } })) : [];
  const sessions = compiled.sessions.filter((s) => local.has(s.origin)).map((s) => ({ ...s, origin: local.get(s.origin)! }));
  return {
    sources,
    trace: compiled.trace === null ? null : zoneTrace(compiled.trace, local),
    sessions,
    origins: { epochMs: t.epochMs, epochs: t.epochs, cumulative },
    earlyWindowDemand: compiled.earlyWindowDemand.map((row) => members.map((s) => row[s]!)),
    earlyWindowSlackMs: compiled.earlyWindowSlackMs.map((row) => members.map((s) => row[s]!)),
  };
}

function zoneTrace(t: CompiledTrace, local: ReadonlyMap<number, number>): CompiledTrace | null {
  const rows: number[] = [];
  for (let i = 0; i < t.times.length; i++) if (local.has(t.origins[i]!)) rows.push(i);
  if (rows.length === 0) return null;
  const pick = <A extends Float64Array | Int32Array>(a: A, out: A): A => {
    rows.forEach((r, i) => (out[i] = a[r]!));
    return out;
  };
  const n = rows.length;
  const origins = new Int32Array(n);
  rows.forEach((r, i) => (origins[i] = local.get(t.origins[r]!)!));
  return { times: pick(t.times, new Float64Array(n)), services: pick(t.services, new Int32Array(n)), origins, promptTokens: pick(t.promptTokens, new Int32Array(n)), outputTokens: pick(t.outputTokens, new Int32Array(n)) };
}
