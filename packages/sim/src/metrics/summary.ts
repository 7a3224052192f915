import type { DropReason } from '../world/types.js';
import type { ServiceCounters } from './collector.js';
import type { World } from '../world/world.js';

/** Outcome figures of one service (or of all). */
export interface OutcomeSummary {
  readonly offered: number;
  readonly good: number;
  readonly late: number;
  readonly dropped: number;
  readonly drops: Partial<Record<DropReason, number>>;
  /** Good items per second of measured time. */
  readonly goodputPerSec: number;
  /** good / offered (1 when nothing was offered). */
  readonly sloAttainment: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  /** Completed items by hops taken (index = hops). */
  readonly hops: readonly number[];
  /** Mean hops of completed items. */
  readonly meanHops: number;
}

/** The result of one simulation run. */
export interface RunResult {
  readonly scenario: string;
  readonly system: string;
  readonly seed: number;
  readonly servers: number;
  readonly devices: number;
  /** Measured window (duration minus warm-up), seconds. */
  readonly measuredSec: number;
  /** Offered items per second in the measured window, split into requests and stream frames. */
  readonly offeredPerSec: { readonly requests: number; readonly frames: number };
  readonly total: OutcomeSummary;
  readonly perService: Readonly<Record<string, OutcomeSummary>>;
  /** Device busy time ÷ device time (healthy devices), and mean fraction of device memory held by instances. */
  readonly utilization: { readonly compute: number; readonly memory: number };
  /** Per-second good/offered items (by emission time) for recovery charts. */
  readonly timeline: { readonly bucketMs: number; readonly offered: readonly number[]; readonly good: readonly number[] };
  readonly events: number;
  /** Instances alive when the workload stopped, per service: counts by `requestStrategy × serviceStrategy (devices)`. */
  readonly instanceModes: Readonly<Record<string, string>>;
  /** Loads refused because a device could not hold them; network transfers and mean link queueing. */
  readonly world: { readonly loadFailures: number; readonly transfers: number; readonly meanLinkQueueMs: number };
  /** What the system reported about itself (configuration, placements, sync). */
  readonly systemInfo: Readonly<Record<string, unknown>>;
}

/** Summarizes one service's counters over `seconds` of measured time. */
export function summarize(c: ServiceCounters, seconds: number): OutcomeSummary {
  const completed = c.good + c.late;
  let hopSum = 0;
  c.hops.forEach((n, h) => (hopSum += (n ?? 0) * h));
  return {
    offered: c.offered,
    good: c.good,
    late: c.late,
    dropped: c.dropped,
    drops: { ...c.drops },
    goodputPerSec: c.good / seconds,
    sloAttainment: c.offered === 0 ? 1 : c.good / c.offered,
    p50Ms: round(c.latency.quantile(0.5)),
    p99Ms: round(c.latency.quantile(0.99)),
    meanMs: round(c.latency.mean),
    hops: Array.from(c.hops, (n) => n ?? 0),
    meanHops: completed === 0 ? 0 : hopSum / completed,
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Builds the {@link RunResult} of a finished world. */
export function buildRunResult(world: World, scenario: string, seed: number, events: number): RunResult {
  const frames = world.metrics.framesOffered;
  const seconds = (world.durationMs - world.warmupMs) / 1000;
  const m = world.metrics;
  const unfinished = m.total.offered - m.total.good - m.total.late - m.total.dropped;
  if (unfinished > 0) {
    m.total.drops.UNFINISHED = unfinished;
    m.total.dropped += unfinished;
  }
  const perService: Record<string, OutcomeSummary> = {};
  world.services.forEach((s, i) => (perService[s.spec.id] = summarize(m.perService[i]!, seconds)));
  let busy = 0;
  for (const d of world.devices) busy += d.busyMs;
  const deviceMs = world.devices.length * world.durationMs;
  return {
    scenario,
    system: world.system.name,
    seed,
    servers: world.servers.length,
    devices: world.devices.length,
    measuredSec: seconds,
    offeredPerSec: { requests: (m.total.offered - frames) / seconds, frames: frames / seconds },
    total: summarize(m.total, seconds),
    perService,
    utilization: { compute: deviceMs > 0 ? Math.min(1, busy / deviceMs) : 0, memory: world.memorySamples > 0 ? world.memoryUsedSum / world.memorySamples : 0 },
    timeline: { bucketMs: m.timelineBucketMs, offered: [...m.timelineOffered], good: [...m.timelineGood] },
    events,
    instanceModes: world.modesAtEnd,
    world: { loadFailures: world.loadFailures, transfers: world.network.stats().transfers, meanLinkQueueMs: round(world.network.stats().meanQueueMs) },
    systemInfo: world.system.describe(),
  };
}

