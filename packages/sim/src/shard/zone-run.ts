import { runEvents } from '../engine/run-events.js';
import type { SimServer } from '../model/hardware.js';
import { createNetwork, DEFAULT_NETWORK_OPTIONS } from '../model/network.js';
import { SERVICE_CATALOG, serviceDeadlineMs, type SimService } from '../model/services.js';
import type { ServiceCounters } from '../metrics/collector.js';
import type { HistogramSnapshot } from '../metrics/histogram.js';
import type { Scenario } from '../scenario/scenario.js';
import { DEFAULT_INTERFERENCE } from '../scenario/resolve-scenario.js';
import { compileWorkload, readsArrivalSlack, type CompiledWorkload } from '../workload/compile-workload.js';
import { zoneWorkload } from '../workload/zone-workload.js';
import { SimWorld } from '../world/world.js';
import type { SimSystem } from '../world/system.js';

/** Everything the zones of one sharded run share: built once per thread, the same in every thread. */
export interface ShardContext {
  readonly scenario: Scenario;
  readonly seed: number;
  /** The whole cluster (cluster indices). */
  readonly servers: readonly SimServer[];
  readonly compiled: CompiledWorkload;
  readonly services: readonly SimService[];
  /** Cluster indices of each zone's servers, ascending, zones in order. */
  readonly zones: readonly (readonly number[])[];
  /** Simulated time the loop runs to (duration plus drain), ms. */
  readonly untilMs: number;
}

/** One service's counters as plain data. */
export interface CountersPart {
  readonly offered: number;
  readonly good: number;
  readonly late: number;
  readonly dropped: number;
  readonly drops: Readonly<Record<string, number>>;
  /** Completed items by hops (dense). */
  readonly hops: readonly number[];
  readonly latency: HistogramSnapshot;
}

/** What one zone's world ends with, as plain data (it crosses a worker boundary by structured clone). */
export interface ZonePartial {
  readonly zone: number;
  readonly events: number;
  readonly total: CountersPart;
  readonly perService: readonly CountersPart[];
  readonly framesOffered: number;
  readonly timelineBucketMs: number;
  readonly timelineOffered: readonly number[];
  readonly timelineGood: readonly number[];
  readonly devices: number;
  readonly busyMs: number;
  /** Device memory of the zone, bytes, and the mean fraction of it its instances held over the samples. */
  readonly memoryBytes: number;
  readonly memoryMean: number;
  readonly loadFailures: number;
  readonly transfers: number;
  /** Summed link queueing of the zone's transfers, ms. */
  readonly queueMsSum: number;
  /** Per service, instance modes at the end of the workload and their counts, in the order the zone met them. */
  readonly modes: readonly (readonly (readonly [string, number])[])[];
  readonly systemName: string;
  readonly systemInfo: Readonly<Record<string, unknown>>;
}

/** Builds what every zone of a sharded run shares (the cluster's workload is compiled once, with the run's seed). */
export function prepareShards(scenario: Scenario, servers: readonly SimServer[], zones: readonly (readonly number[])[]): ShardContext {
  const seed = scenario.seed ?? 1;
  const earlyWindowMs = scenario.earlyWindowMs ?? Math.min(60_000, scenario.durationMs / 4);
  const compiled = compileWorkload({ workload: scenario.workload, servers, durationMs: scenario.durationMs, seed, earlyWindowMs, contention: scenario.network?.contention ?? DEFAULT_NETWORK_OPTIONS.contention, measureSlack: readsArrivalSlack(scenario.system) });
  const services = compiled.serviceIds.map((id) => SERVICE_CATALOG[id]!);
  const drain = scenario.drainMs ?? Math.max(...services.map((s) => serviceDeadlineMs(s.spec)), 0) + 2000;
  return { scenario, seed, servers, compiled, services, zones, untilMs: scenario.durationMs + drain };
}

/**
 * The seed of zone `zone`'s own random streams (arrivals, origins, token counts, sync noise and loss): a zone
 * draws from streams of its own so that it is simulated the same whatever other zones run beside it.
 */
export function zoneSeed(seed: number, zone: number): number {
  let h = Math.imul(seed ^ 0x2545f491, 0x9e3779b1) ^ Math.imul(zone + 1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return (h ^ (h >>> 13)) | 0;
}

/** Options of {@link runZone}. */
export interface RunZoneOptions {
  /** Builds the zone's system (the scenario's, possibly wrapped for diagnostics). */
  readonly createSystem: () => SimSystem;
  /** Called now and then with the zone's simulated time, ms. */
  readonly onProgress?: (nowMs: number) => void;
}

/** Simulates zone `zone` of a sharded run in a world of its own: its servers (numbered from 0), its share of the workload. */
export function runZone(ctx: ShardContext, zone: number, options: RunZoneOptions): ZonePartial {
  const { scenario, seed } = ctx;
  const members = ctx.zones[zone]!;
  // The zone's world has one zone (0): its servers keep their cluster index for the network's sites and delays.
  const servers: SimServer[] = members.map((g, i) => ({ ...ctx.servers[g]!, index: i, zone: 0, clusterIndex: g }));
  const network = createNetwork(servers, { ...DEFAULT_NETWORK_OPTIONS, ...scenario.network }, seed);
  const w = zoneWorkload(ctx.compiled, members);
  const world = new SimWorld({
    seed: zoneSeed(seed, zone), servers, services: ctx.services, network, failures: [],
    sources: w.sources, trace: w.trace, sessions: w.sessions, origins: w.origins, earlyWindowDemand: w.earlyWindowDemand, earlyWindowSlackMs: w.earlyWindowSlackMs, interference: scenario.interference ?? DEFAULT_INTERFERENCE,
    durationMs: scenario.durationMs, warmupMs: scenario.warmupMs ?? 0, system: options.createSystem(),
  });
  world.start();
  const events = runEvents({ queue: world.queue, clock: world.clock, handler: world, untilMs: ctx.untilMs, ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }) });
  const m = world.metrics;
  let busyMs = 0;
  let memoryBytes = 0;
  for (const d of world.devices) {
    busyMs += d.busyMs;
    memoryBytes += d.memoryBytes;
  }
  const net = world.network.stats();
  return {
    zone, events, total: part(m.total), perService: m.perService.map(part), framesOffered: m.framesOffered,
    timelineBucketMs: m.timelineBucketMs, timelineOffered: [...m.timelineOffered], timelineGood: [...m.timelineGood],
    devices: world.devices.length, busyMs, memoryBytes, memoryMean: world.memorySamples > 0 ? world.memoryUsedSum / world.memorySamples : 0,
    loadFailures: world.loadFailures, transfers: net.transfers, queueMsSum: net.meanQueueMs * net.transfers,
    modes: world.services.map((s) => parseModes(world.modesAtEnd[s.spec.id] ?? 'none')),
    systemName: world.system.name, systemInfo: world.system.describe(),
  };
}

function part(c: ServiceCounters): CountersPart {
  return { offered: c.offered, good: c.good, late: c.late, dropped: c.dropped, drops: { ...c.drops }, hops: Array.from(c.hops, (n) => n ?? 0), latency: c.latency.snapshot() };
}

/** Reads back `instanceModes`' `3× multi-frame × single (1 dev), 1× …` (the world keeps only that text). */
function parseModes(text: string): [string, number][] {
  if (text === 'none') return [];
  return text.split(', ').map((p) => {
    const at = p.indexOf('× ');
    return [p.slice(at + 2), Number(p.slice(0, at))];
  });
}
