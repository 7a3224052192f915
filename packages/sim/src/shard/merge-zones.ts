import { EparaError } from '@epara/core';
import type { ServiceCounters } from '../metrics/collector.js';
import { LatencyHistogram } from '../metrics/histogram.js';
import { summarize, type OutcomeSummary, type RunResult } from '../metrics/summary.js';
import type { DropReason } from '../world/types.js';
import type { CountersPart, ShardContext, ZonePartial } from './zone-run.js';

/**
 * Counters of EPARA's `describe()` that add up over zones; every other field is the first zone's (options, sync
 * settings, the forecaster's window count, and `placement`, the first zone's placement statistics, which is
 * what the whole-cluster world reports too).
 */
const SUMMED: readonly (readonly string[])[] = [
  ['placements'], ['shiftReplacements'], ['zones'],
  ['forecast', 'changes'], ['forecast', 'recorded'],
  ['sync', 'rounds'], ['sync', 'messages'], ['sync', 'lost'], ['sync', 'bytes'],
];

/**
 * Merges the zones of a sharded run into one {@link RunResult}, always in zone order: counters and histograms
 * add exactly, and every sum of fractions is taken in the same order, so the result does not depend on how the
 * zones were spread over threads.
 *
 * @throws EparaError `INTERNAL` when a zone is missing or given twice.
 */
export function mergeZones(ctx: ShardContext, parts: readonly ZonePartial[]): RunResult {
  const ordered = [...parts].sort((a, b) => a.zone - b.zone);
  if (ordered.length !== ctx.zones.length || ordered.some((p, i) => p.zone !== i)) {
    throw new EparaError('INTERNAL', `sharded run ended with zones [${ordered.map((p) => p.zone).join(', ')}] of ${ctx.zones.length}`, { zones: ordered.map((p) => p.zone) });
  }
  const { scenario } = ctx;
  const warmupMs = scenario.warmupMs ?? 0;
  const seconds = (scenario.durationMs - warmupMs) / 1000;
  const total = counters(ordered.map((p) => p.total));
  const unfinished = total.offered - total.good - total.late - total.dropped;
  if (unfinished > 0) {
    total.drops.UNFINISHED = unfinished;
    total.dropped += unfinished;
  }
  const perService: Record<string, OutcomeSummary> = {};
  ctx.services.forEach((s, k) => (perService[s.spec.id] = summarize(counters(ordered.map((p) => p.perService[k]!)), seconds)));
  let events = 0;
  let devices = 0;
  let busyMs = 0;
  let memoryBytes = 0;
  let memoryHeld = 0;
  let frames = 0;
  let loadFailures = 0;
  let transfers = 0;
  let queueMs = 0;
  for (const p of ordered) {
    events += p.events;
    devices += p.devices;
    busyMs += p.busyMs;
    memoryBytes += p.memoryBytes;
    // Every zone samples at the same moments, and no device fails in a sharded run: the cluster's held fraction
    // per sample is the zones' fractions weighted by their memory.
    memoryHeld += p.memoryMean * p.memoryBytes;
    frames += p.framesOffered;
    loadFailures += p.loadFailures;
    transfers += p.transfers;
    queueMs += p.queueMsSum;
  }
  const deviceMs = devices * scenario.durationMs;
  return {
    scenario: scenario.name ?? 'scenario',
    system: ordered[0]!.systemName,
    seed: ctx.seed,
    servers: ctx.servers.length,
    devices,
    measuredSec: seconds,
    offeredPerSec: { requests: (total.offered - frames) / seconds, frames: frames / seconds },
    total: summarize(total, seconds),
    perService,
    utilization: { compute: deviceMs > 0 ? Math.min(1, busyMs / deviceMs) : 0, memory: memoryBytes > 0 ? memoryHeld / memoryBytes : 0 },
    timeline: { bucketMs: ordered[0]!.timelineBucketMs, offered: addUp(ordered.map((p) => p.timelineOffered)), good: addUp(ordered.map((p) => p.timelineGood)) },
    events,
    instanceModes: modes(ctx, ordered),
    world: { loadFailures, transfers, meanLinkQueueMs: Math.round((transfers === 0 ? 0 : queueMs / transfers) * 100) / 100 },
    systemInfo: systemInfo(ordered.map((p) => p.systemInfo)),
  };
}

function counters(parts: readonly CountersPart[]): ServiceCounters {
  const c: ServiceCounters = { offered: 0, good: 0, late: 0, dropped: 0, drops: {}, hops: [], latency: new LatencyHistogram() };
  for (const p of parts) {
    c.offered += p.offered;
    c.good += p.good;
    c.late += p.late;
    c.dropped += p.dropped;
    for (const [reason, n] of Object.entries(p.drops)) c.drops[reason as DropReason] = (c.drops[reason as DropReason] ?? 0) + n;
    p.hops.forEach((n, h) => (c.hops[h] = (c.hops[h] ?? 0) + n));
    c.latency.mergeSnapshot(p.latency);
  }
  return c;
}

function addUp(lists: readonly (readonly number[])[]): number[] {
  const out: number[] = [];
  for (const l of lists) l.forEach((x, i) => (out[i] = (out[i] ?? 0) + x));
  return out;
}

/** Instance modes per service as the whole-cluster world formats them (modes in the order servers list them). */
function modes(ctx: ShardContext, parts: readonly ZonePartial[]): Record<string, string> {
  const out: Record<string, string> = {};
  ctx.services.forEach((s, k) => {
    const counts = new Map<string, number>();
    for (const p of parts) for (const [mode, n] of p.modes[k]!) counts.set(mode, (counts.get(mode) ?? 0) + n);
    out[s.spec.id] = counts.size === 0 ? 'none' : [...counts].map(([m, n]) => `${n}× ${m}`).join(', ');
  });
  return out;
}

function systemInfo(infos: readonly Readonly<Record<string, unknown>>[]): Record<string, unknown> {
  const out = structuredClone(infos[0]!) as Record<string, unknown>;
  for (const path of SUMMED) {
    const parent = path.slice(0, -1).reduce<unknown>((o, k) => (isRecord(o) ? o[k] : undefined), out);
    const key = path[path.length - 1]!;
    if (!isRecord(parent) || typeof parent[key] !== 'number') continue;
    let sum = 0;
    for (const info of infos) {
      const v = path.reduce<unknown>((o, k) => (isRecord(o) ? o[k] : undefined), info);
      sum += typeof v === 'number' ? v : 0;
    }
    parent[key] = sum;
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
