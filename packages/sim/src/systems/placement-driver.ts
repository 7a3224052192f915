import {
  allocate,
  deviceKindsOf,
  placeServices,
  type ParallelPlan,
  type PlacedInstance,
  type PlacementOptions,
  type PlacementResult,
  type ServerSpec,
  type ServiceDemand,
  type ServiceSpec,
  type StrategyOptions,
} from '@epara/core';
import { asLatencyService } from '../model/services.js';
import type { BatchPolicy, SimInstance } from '../world/types.js';
import type { World } from '../world/world.js';

/** Options of {@link createPlacementDriver}. */
export interface PlacementDriverOptions {
  /** Server indices this scheduler places on (one zone). */
  readonly servers: readonly number[];
  /** Use the declared categories (false: every service as a latency service, i.e. batching only). */
  readonly categorize: boolean;
  readonly strategyOptions: Partial<StrategyOptions>;
  readonly placementOptions: PlacementOptions;
  readonly policy: BatchPolicy;
  /** Capacity is planned for `forecast × demandHeadroom` (bursts, pack fill time). */
  readonly demandHeadroom: number;
  /**
   * Locality counts the clients' access legs too: the delay between two servers handed to core placement
   * includes half of each one's access latency, so a request's round trip through its access server is in
   * the test. Default false (server-to-server delays only).
   */
  readonly accessInDelays?: boolean;
}

/** Delay between two servers as placement sees it (with the access legs when `accessInDelays`). */
function delayWith(access: boolean): (world: World, a: number, b: number) => number {
  if (!access) return (world, a, b) => world.network.delayMs(a, b);
  return (world, a, b) => world.network.delayMs(a, b) + (world.servers[a]!.preset.accessLatencyMs + world.servers[b]!.preset.accessLatencyMs) / 2;
}

/** Runs core `allocate` + `placeServices` for one zone and applies the result to the world. */
export interface PlacementDriver {
  /** Places for `demand[service][server]` (items/s); `warm` instances start ready (the initial deployment). */
  run(world: World, demand: readonly (readonly number[])[], warm: boolean): PlacementResult;
  /** Continues a paused change plan (call when an instance became ready or was freed). */
  resume(world: World): void;
  /** Instances this driver placed that are not gone. */
  instances(): SimInstance[];
  /** Placed (possibly fractional, multi-task) capacity of an instance, items/s. */
  capacityOf(inst: SimInstance): number;
  /** How many placements ran and what the last predicted. */
  stats(): { runs: number; lastPredictedGoodput: number; lastGuarantee: string; changes: number; lastMs: number; loadFailures: number };
}

/**
 * The bridge from the simulator to the core's placement: the same `allocate` and `placeServices` the mesh
 * runs, fed with simulated servers (live health), the services (as categorized, or all batched) and a
 * demand forecast; the result's new instances load (model load time) and removed ones drain.
 */
export function createPlacementDriver(o: PlacementDriverOptions): PlacementDriver {
  const delayOf = delayWith(o.accessInDelays === true);
  const byId = new Map<string, SimInstance>();
  const placed = new Map<SimInstance, PlacedInstance>();
  const gone = new Map<string, SimInstance>();
  let runs = 0;
  let changes = 0;
  let lastPredicted = 0;
  let lastGuarantee = '';
  let lastMs = 0;

  const specOf = (world: World, k: number): ServiceSpec => (o.categorize ? world.services[k]!.spec : asLatencyService(world.services[k]!).spec);

  function serverSpecs(world: World): ServerSpec[] {
    return o.servers.map((s) => {
      const spec = world.servers[s]!.spec;
      return { ...spec, healthy: world.serverAlive[s]!, devices: spec.devices.map((d, i) => ({ ...d, healthy: world.devicesByServer[s]![i]!.healthy })) };
    });
  }

  function run(world: World, demand: readonly (readonly number[])[], warm: boolean): PlacementResult {
    const started = performance.now();
    const servers = serverSpecs(world);
    const kinds = deviceKindsOf(servers);
    const services = world.services.map((_, k) => specOf(world, k));
    const plans: Record<string, readonly ParallelPlan[]> = {};
    const demands: ServiceDemand[] = [];
    services.forEach((spec, k) => {
      const ratePerServer: Record<string, number> = {};
      let total = 0;
      for (const s of o.servers) {
        const r = demand[k]![s]! * o.demandHeadroom;
        if (r > 0) ratePerServer[world.servers[s]!.spec.id] = r;
        total += r;
      }
      demands.push({ serviceId: spec.id, ratePerServer });
      plans[spec.id] = kinds.length === 0 ? [] : allocate({ service: spec, demand: total, deviceKinds: kinds, options: o.strategyOptions }).plans;
    });
    const current = [...placed.entries()].filter(([inst]) => inst.status !== 'gone' && inst.status !== 'draining').map(([inst, p]) => ({ ...p, backlogItems: inst.queue.size }));
    // The initial deployment happens before traffic: loading then forgoes no goodput, so it pays no switching cost.
    const options = warm ? { ...o.placementOptions, switchWeight: 0 } : o.placementOptions;
    const result = placeServices({ servers, services, plans, demand: demands, current, delaysMs: (a, b) => delayOf(world, indexOf(world, a), indexOf(world, b)) }, options);
    apply(world, result, warm);
    runs++;
    lastPredicted = result.goodputPerSec;
    lastGuarantee = result.guarantee.statement;
    lastMs = performance.now() - started;
    return result;
  }

  let pending: { steps: PlacementResult['changes']; at: number; next: Set<string>; warm: boolean; byPlaced: Map<string, PlacedInstance> } | null = null;
  let loadFailures = 0;

  /** Applies the core's make-before-break steps in order, pausing at `ready` and `free` until they happen. */
  function apply(world: World, result: PlacementResult, warm: boolean): void {
    if (pending !== null) advance(world, true);
    // Instances lost to failures are gone: forget them so a new instance may reuse their id.
    for (const [id, inst] of byId) {
      if (inst.status !== 'gone') continue;
      byId.delete(id);
      placed.delete(inst);
    }
    const byPlaced = new Map(result.instances.map((p) => [p.instanceId, p]));
    // Loads are issued as the walk reaches them (after the frees the plan puts before them): the world
    // enforces device memory, so a load issued early could fail.
    pending = { steps: result.changes, at: 0, next: new Set(result.instances.map((p) => p.instanceId)), warm, byPlaced };
    advance(world, false);
  }

  function create(world: World, p: PlacedInstance, warm: boolean): void {
    const server = indexOf(world, p.serverId);
    const spec = world.servers[server]!.spec;
    const devices = p.deviceIds.map((id) => world.devicesByServer[server]![spec.devices.findIndex((d) => d.id === id)]!);
    const service = world.services.findIndex((s) => s.spec.id === p.serviceId);
    const inst = world.createInstance({ service, server, devices, policy: o.policy, plan: toInstancePlan(p) }, warm);
    if (inst === null) {
      loadFailures++;
      return;
    }
    byId.set(p.instanceId, inst);
    placed.set(inst, p);
    changes++;
  }

  let advancing = false;

  function advance(world: World, force: boolean): void {
    const plan = pending;
    // Draining an idle instance frees it at once, which calls back here: the running walk continues instead.
    if (plan === null || advancing) return;
    advancing = true;
    try {
      walk(world, plan, force);
    } finally {
      advancing = false;
    }
  }

  function walk(world: World, plan: NonNullable<typeof pending>, force: boolean): void {
    while (plan.at < plan.steps.length) {
      const step = plan.steps[plan.at]!;
      if (step.action === 'load' && !byId.has(step.instanceId)) {
        const p = plan.byPlaced.get(step.instanceId);
        if (p !== undefined) create(world, p, plan.warm);
      }
      const inst = byId.get(step.instanceId) ?? gone.get(step.instanceId);
      if (!force && step.action === 'ready' && inst?.status === 'loading') return;
      if (!force && step.action === 'free' && inst !== undefined && inst.status !== 'gone') return;
      if (step.action === 'drain' && inst !== undefined) {
        byId.delete(step.instanceId);
        gone.set(step.instanceId, inst);
        placed.delete(inst);
        world.drainInstance(inst);
        changes++;
      }
      plan.at++;
    }
    for (const [id, inst] of byId) {
      if (plan.next.has(id)) continue;
      byId.delete(id);
      placed.delete(inst);
      world.drainInstance(inst);
    }
    gone.clear();
    pending = null;
  }

  return {
    run,
    resume: (world) => advance(world, false),
    instances: () => [...placed.keys()].filter((i) => i.status !== 'gone'),
    capacityOf: (inst) => {
      const p = placed.get(inst);
      return p?.capacityPerSec ?? inst.plan.capacityPerSec;
    },
    stats: () => ({ runs, lastPredictedGoodput: lastPredicted, lastGuarantee, changes, lastMs, loadFailures }),
  };
}

function toInstancePlan(p: PlacedInstance): SimInstance['plan'] {
  const plan = p.plan;
  return {
    requestStrategy: plan.requestStrategy,
    serviceStrategy: plan.serviceStrategy,
    batchSize: plan.batchSize,
    capacityPerSec: p.capacityPerSec ?? plan.capacityPerSec,
    memoryPerDeviceBytes: plan.memoryPerDeviceBytes,
    runMs: plan.runMs,
    stages: plan.stages ?? plan.devices,
  };
}

/** Server index of a server id (the world's own map: a weak map keyed by world cost a lookup per call). */
export function indexOf(world: World, id: string): number {
  return world.serverIndex.get(id)!;
}
