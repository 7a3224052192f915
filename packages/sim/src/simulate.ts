import { EparaError } from '@epara/core';
import { runEvents } from './engine/run-events.js';
import { buildServers } from './model/hardware.js';
import { createNetwork, DEFAULT_NETWORK_OPTIONS } from './model/network.js';
import { SERVICE_CATALOG, serviceDeadlineMs, type SimService } from './model/services.js';
import { buildRunResult, type RunResult } from './metrics/summary.js';
import type { Scenario, SystemSpec } from './scenario/scenario.js';
import { DEFAULT_INTERFERENCE, validateScenario } from './scenario/resolve-scenario.js';
import { shardPlanOf } from './shard/shard-plan.js';
import { prepareShards, runZone, type ShardContext, type ZonePartial } from './shard/zone-run.js';
import { mergeZones } from './shard/merge-zones.js';
import { compileWorkload, readsArrivalSlack } from './workload/compile-workload.js';
import { SimWorld } from './world/world.js';
import type { SimSystem } from './world/system.js';
import { createTritonSystem } from './systems/triton.js';
import { createCentralizedSystem } from './systems/centralized.js';
import { createEparaSystem } from './systems/epara.js';
import { createRayServeSystem } from './systems/ray-serve.js';

export { DEFAULT_INTERFERENCE };

/** Options of {@link simulate}. */
export interface SimulateOptions {
  /** Called now and then with the fraction of simulated time done (0..1). */
  readonly onProgress?: (fraction: number) => void;
  /** Wraps the scenario's system before the run (diagnostics that watch what a system sees, such as the loss breakdown). */
  readonly wrapSystem?: (system: SimSystem) => SimSystem;
}

/** Builds the system a scenario names. */
export function createSystem(spec: SystemSpec): SimSystem {
  switch (spec.kind) {
    case 'epara': return createEparaSystem(spec);
    case 'triton': return createTritonSystem(spec);
    case 'centralized': return createCentralizedSystem(spec);
    case 'ray-serve': return createRayServeSystem(spec);
  }
}

/**
 * Runs one scenario to completion under the core virtual clock and returns its figures. Deterministic: the
 * same scenario (and seed) gives the same result, bit for bit. A run whose zones are independent (EPARA on
 * more than one zone, no injected failure: `shardPlanOf`) is simulated zone by zone, each zone in a world of
 * its own with random streams of its own, one zone after the other in this thread; `simulateInParallel` runs
 * the same zones in worker threads and returns the same result.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field of an invalid scenario.
 * @example
 * ```ts
 * import { productionMix, simulate } from '@epara/sim';
 * const result = simulate({
 *   durationMs: 60_000,
 *   cluster: { groups: [{ preset: 'gpu-server', count: 4 }, { preset: 'jetson', count: 4 }] },
 *   workload: productionMix({ scale: 4 }),
 *   system: { kind: 'epara' },
 * });
 * console.log(result.total.goodputPerSec, result.total.sloAttainment);
 * ```
 */
export function simulate(input: Scenario, options: SimulateOptions = {}): RunResult {
  const scenario = validateScenario(input);
  const seed = scenario.seed ?? 1;
  const servers = buildServers(scenario.cluster.groups, scenario.cluster.zoneSize ?? 50);
  const plan = shardPlanOf(scenario, servers);
  if (plan.sharded) return simulateZones(prepareShards(scenario, servers, plan.zones), options);
  const network = createNetwork(servers, { ...DEFAULT_NETWORK_OPTIONS, ...scenario.network }, seed);
  const earlyWindowMs = scenario.earlyWindowMs ?? Math.min(60_000, scenario.durationMs / 4);
  const compiled = compileWorkload({ workload: scenario.workload, servers, durationMs: scenario.durationMs, seed, earlyWindowMs, contention: scenario.network?.contention ?? DEFAULT_NETWORK_OPTIONS.contention, measureSlack: readsArrivalSlack(scenario.system) });
  const services: SimService[] = compiled.serviceIds.map((id) => SERVICE_CATALOG[id]!);
  const failures = (scenario.failures ?? []).map((f, i) => {
    const server = typeof f.server === 'number' ? f.server : servers.findIndex((s) => s.spec.id === f.server);
    if (!(server >= 0 && server < servers.length)) throw new EparaError('INVALID_OPTIONS', `scenario.failures[${i}].server names no server: ${JSON.stringify(f.server)}`, { field: `scenario.failures[${i}].server`, value: f.server });
    if (f.device !== undefined && servers[server]!.spec.devices[f.device] === undefined) throw new EparaError('INVALID_OPTIONS', `scenario.failures[${i}].device out of range: ${f.device}`, { field: `scenario.failures[${i}].device`, value: f.device });
    return { atMs: f.atMs, server, device: f.device, recover: f.recover };
  });
  const world = new SimWorld({
    seed, servers, services, network, failures,
    sources: compiled.sources, trace: compiled.trace, sessions: compiled.sessions, origins: compiled.origins, earlyWindowDemand: compiled.earlyWindowDemand, earlyWindowSlackMs: compiled.earlyWindowSlackMs, interference: scenario.interference ?? DEFAULT_INTERFERENCE,
    durationMs: scenario.durationMs, warmupMs: scenario.warmupMs ?? 0,
    system: options.wrapSystem === undefined ? createSystem(scenario.system) : options.wrapSystem(createSystem(scenario.system)),
  });
  world.start();
  const drain = scenario.drainMs ?? Math.max(...services.map((s) => serviceDeadlineMs(s.spec)), 0) + 2000;
  const until = scenario.durationMs + drain;
  const onProgress = options.onProgress;
  const events = runEvents({ queue: world.queue, clock: world.clock, handler: world, untilMs: until, onProgress: onProgress && ((t) => onProgress(Math.min(1, t / until))) });
  onProgress?.(1);
  return buildRunResult(world, scenario.name ?? 'scenario', seed, events);
}

/** Simulates the zones of a sharded run one after the other in this thread and merges them. */
function simulateZones(ctx: ShardContext, options: SimulateOptions): RunResult {
  const { scenario } = ctx;
  const system = (): SimSystem => (options.wrapSystem === undefined ? createSystem(scenario.system) : options.wrapSystem(createSystem(scenario.system)));
  const onProgress = options.onProgress;
  const zones = ctx.zones.length;
  const parts: ZonePartial[] = [];
  for (let z = 0; z < zones; z++) {
    parts.push(runZone(ctx, z, { createSystem: system, ...(onProgress === undefined ? {} : { onProgress: (t: number) => onProgress(Math.min(1, (z + t / ctx.untilMs) / zones)) }) }));
  }
  onProgress?.(1);
  return mergeZones(ctx, parts);
}
