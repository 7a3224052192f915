import {
  allocate,
  type ServerEntry,
  deviceKindsOf,
  placeServices,
  type ParallelPlan,
  type PlacedInstance,
  type PlacementOptions,
  type PlacementInput,
  type PlacementResult,
  type ServerSpec,
  type ServiceDemand,
  type ServiceSpec,
  type StrategyOptions,
} from '@epara/core';
import { asLatencyService } from '../model/services.js';
import type { BatchPolicy, SimInstance } from '../world/types.js';
import type { World } from '../world/world.js';

/** Event kind: a placement command (load or drain) reaches its server (`a`: the zone, `ref`: the command). */
export const EV_PLACEMENT_COMMAND = 80;
/** Event kind: a server's notice that one of its instances became ready or was freed reaches the placer. */
export const EV_PLACEMENT_NOTICE = 81;

/**
 * What a deployable placement knows, and where it runs. Without it the driver reads the world exactly and its
 * commands act at once (the oracle's placement: an upper bound).
 */
export interface PlacementKnowledge {
  /** The server the placement runs on: its load and drain commands leave from there, notices come back there. */
  placer(world: World): number;
  /** Whether server `server` is taken as alive (a failure only once detected). */
  serverAlive(server: number): boolean;
  /** Whether device `local` of `server` is taken as healthy (a failure only once detected). */
  deviceHealthy(world: World, server: number, local: number): boolean;
  /**
   * The placer's entry for `server` (its instances and their waits as that server last wrote them and the ring
   * carried them to the placer); undefined: none (the driver reads the instances' own state).
   */
  entryOf(world: World, placer: number, server: number): ServerEntry | undefined;
}

/** A command travelling from the placer to a server. */
type Command = { readonly load: PlacedInstance } | { readonly drain: SimInstance };

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
  /**
   * Placement's reach test counts each item's payload and result on the links between the two servers
   * (`transferMs`: the service's upload and result bytes over the slower link, as the network moves them
   * uncontended). Default false.
   */
  readonly transferInReach?: boolean;
  /** What the placement knows and where it runs (omitted: exact state, commands act at once). */
  readonly knowledge?: PlacementKnowledge;
  /** This driver's zone index (the `a` of its command and notice events). @default 0 */
  readonly zone?: number;
  /**
   * Placement's `arrivalSlackMs` for this zone's access servers (placement reads it with its `arrivalSlack` option).
   * @default none
   */
  readonly arrivalSlack?: (world: World, servers: readonly number[]) => PlacementInput['arrivalSlackMs'];
}

/** Delay between two servers as placement sees it (with the access legs when `accessInDelays`). */
function delayWith(access: boolean): (world: World, a: number, b: number) => number {
  if (!access) return (world, a, b) => world.network.delayMs(a, b);
  return (world, a, b) => world.network.delayMs(a, b) + (world.servers[a]!.preset.accessLatencyMs + world.servers[b]!.preset.accessLatencyMs) / 2;
}

/**
 * An item of service `id` entering at server `a` and served at `b`: its upload to `b` and its result back, each over
 * the slower of the two links, ms without the delays (0 at `a` itself).
 */
export function transferOf(world: Pick<World, 'services' | 'network'>, id: string, a: number, b: number): number {
  if (a === b) return 0;
  const svc = world.services.find((s) => s.spec.id === id)!;
  const net = world.network;
  return net.transferMs(a, b, svc.payloadBytes) - net.delayMs(a, b) + net.transferMs(b, a, svc.responseBytes) - net.delayMs(b, a);
}

/** Runs core `allocate` + `placeServices` for one zone and applies the result to the world. */
export interface PlacementDriver {
  /** Places for `demand[service][server]` (items/s); `warm` instances start ready (the initial deployment). */
  run(world: World, demand: readonly (readonly number[])[], warm: boolean): PlacementResult;
  /**
   * One of this zone's instances became ready or was freed: the plan continues once the hosting server's notice
   * reached the placer (at once without {@link PlacementDriverOptions.knowledge}).
   */
  noticed(world: World, inst: SimInstance): void;
  /** Handles {@link EV_PLACEMENT_COMMAND} and {@link EV_PLACEMENT_NOTICE}. */
  onEvent(world: World, kind: number, ref: unknown): void;
  /** Instances this driver placed that are not gone. */
  instances(): SimInstance[];
  /** Placed (possibly fractional, multi-task) capacity of an instance, items/s. */
  capacityOf(inst: SimInstance): number;
  /** How many placements ran and what the last predicted. */
  /** `shortages`: with the `shortage` placement option, which valuation each run kept (`'floors-by-load'` or `'as-given'`). */
  stats(): { runs: number; lastPredictedGoodput: number; lastGuarantee: string; changes: number; lastMs: number; loadFailures: number; shortages?: string[] };
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
  const shortages: string[] = [];
  let lastMs = 0;
  const k = o.knowledge;
  const zone = o.zone ?? 0;
  /** Load commands on their way to their servers, by instance id (the plan waits for them as for a loading instance). */
  const sent = new Map<string, PlacedInstance>();
  /** When each instance was created at its server (an entry written later that does not list it means it is gone). */
  const createdAt = new Map<SimInstance, number>();
  /** The instance ids of the last plan: a load command arriving for another one was superseded on the way. */
  let wanted = new Set<string>();

  const specOf = (world: World, k: number): ServiceSpec => (o.categorize ? world.services[k]!.spec : asLatencyService(world.services[k]!).spec);

  function serverSpecs(world: World): ServerSpec[] {
    return o.servers.map((s) => {
      const spec = world.servers[s]!.spec;
      if (k !== undefined) return { ...spec, healthy: k.serverAlive(s), devices: spec.devices.map((d, i) => ({ ...d, healthy: k.deviceHealthy(world, s, i) })) };
      return { ...spec, healthy: world.serverAlive[s]!, devices: spec.devices.map((d, i) => ({ ...d, healthy: world.devicesByServer[s]![i]!.healthy })) };
    });
  }

  /**
   * An instance's status and backlog (items) as the placer knows them: from its view's entry for the instance's
   * server (the backlog from the reported wait, as the mesh's leader computes it), exact without knowledge.
   */
  function known(world: World, inst: SimInstance, placer: number): { status: SimInstance['status']; backlog: number } {
    if (k === undefined) return { status: inst.status, backlog: inst.queue.size };
    if (!k.serverAlive(inst.server)) return GONE;
    const entry = k.entryOf(world, placer, inst.server);
    if (entry === undefined) return { status: inst.status, backlog: inst.queue.size };
    if (!entry.alive) return GONE;
    const id = String(inst.id);
    const info = entry.instances.find((i) => i.instanceId === id);
    if (info !== undefined) return { status: info.status, backlog: info.runMs > 0 ? Math.round((info.waitMs / info.runMs) * info.batchSize) : 0 };
    // Not listed: gone when its server wrote the entry after the instance was created there, else not reported yet.
    return entry.updatedAt > (createdAt.get(inst) ?? 0) ? GONE : { status: 'loading', backlog: 0 };
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
    const placer = k?.placer(world) ?? -1;
    const current: PlacedInstance[] = [];
    for (const [inst, p] of placed) {
      const s = known(world, inst, placer);
      if (s.status !== 'gone' && s.status !== 'draining') current.push({ ...p, backlogItems: s.backlog });
    }
    // Loads still on their way: the placer commanded them, so they are part of the current placement (loading).
    for (const p of sent.values()) current.push({ ...p, backlogItems: 0 });
    // The initial deployment happens before traffic: loading then forgoes no goodput, so it pays no switching cost.
    const options = warm ? { ...o.placementOptions, switchWeight: 0 } : o.placementOptions;
    // The demand handed over is forecast × headroom; placement is told so, to value the headroom apart (`headroomValue`).
    const headroom = o.demandHeadroom >= 1 ? { demandHeadroom: o.demandHeadroom } : {};
    // The slack the items have left at their access servers, when placement reads it (`arrivalSlack`).
    const slack = o.arrivalSlack !== undefined ? { arrivalSlackMs: o.arrivalSlack(world, o.servers) } : {};
    const transfer = o.transferInReach === true ? { transferMs: (id: string, a: string, b: string) => transferOf(world, id, indexOf(world, a), indexOf(world, b)) } : {};
    const result = placeServices({ servers, services, plans, demand: demands, ...headroom, ...slack, ...transfer, current, delaysMs: (a, b) => delayOf(world, indexOf(world, a), indexOf(world, b)) }, options);
    apply(world, result, warm, placer);
    runs++;
    lastPredicted = result.goodputPerSec;
    lastGuarantee = result.guarantee.statement;
    if (result.stats.shortage !== undefined) shortages.push(result.stats.shortage);
    lastMs = performance.now() - started;
    return result;
  }

  let pending: { steps: PlacementResult['changes']; at: number; next: Set<string>; warm: boolean; byPlaced: Map<string, PlacedInstance> } | null = null;
  let loadFailures = 0;

  /** Applies the core's make-before-break steps in order, pausing at `ready` and `free` until they happen. */
  function apply(world: World, result: PlacementResult, warm: boolean, placer: number): void {
    if (pending !== null) advance(world, true);
    // Instances lost to failures are gone (as far as the placer knows): forget them so a new instance may reuse their id.
    for (const [id, inst] of byId) {
      if (known(world, inst, placer).status !== 'gone') continue;
      byId.delete(id);
      placed.delete(inst);
    }
    const byPlaced = new Map(result.instances.map((p) => [p.instanceId, p]));
    wanted = new Set(byPlaced.keys());
    // Loads are issued as the walk reaches them (after the frees the plan puts before them): the world
    // enforces device memory, so a load issued early could fail.
    pending = { steps: result.changes, at: 0, next: new Set(result.instances.map((p) => p.instanceId)), warm, byPlaced };
    advance(world, false);
  }

  /** Sends a load command to the instance's server (the initial deployment, before traffic, loads at once). */
  function load(world: World, p: PlacedInstance, warm: boolean): void {
    if (k === undefined || warm) return create(world, p, warm);
    sent.set(p.instanceId, p);
    const server = indexOf(world, p.serverId);
    world.schedule(world.clock.now() + world.network.delayMs(k.placer(world), server), EV_PLACEMENT_COMMAND, zone, { load: p } satisfies Command);
  }

  /** Sends a drain command to the instance's server. */
  function drain(world: World, inst: SimInstance): void {
    if (k === undefined) return world.drainInstance(inst);
    world.schedule(world.clock.now() + world.network.delayMs(k.placer(world), inst.server), EV_PLACEMENT_COMMAND, zone, { drain: inst } satisfies Command);
  }

  function onCommand(world: World, c: Command): void {
    if ('drain' in c) return world.drainInstance(c.drain);
    const id = c.load.instanceId;
    if (sent.get(id) !== c.load) return;
    sent.delete(id);
    // A later plan dropped it while the command travelled: its drain would follow at once, so it never loads.
    if (wanted.has(id) && !byId.has(id)) create(world, c.load, false);
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
    createdAt.set(inst, world.clock.now());
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
      if (step.action === 'load' && !byId.has(step.instanceId) && !sent.has(step.instanceId)) {
        const p = plan.byPlaced.get(step.instanceId);
        if (p !== undefined) load(world, p, plan.warm);
      }
      const inst = byId.get(step.instanceId) ?? gone.get(step.instanceId);
      if (!force && step.action === 'ready' && (sent.has(step.instanceId) || inst?.status === 'loading')) return;
      if (!force && step.action === 'free' && inst !== undefined && inst.status !== 'gone') return;
      if (step.action === 'drain' && inst !== undefined) {
        byId.delete(step.instanceId);
        gone.set(step.instanceId, inst);
        placed.delete(inst);
        createdAt.delete(inst);
        drain(world, inst);
        changes++;
      }
      plan.at++;
    }
    for (const [id, inst] of byId) {
      if (plan.next.has(id)) continue;
      byId.delete(id);
      placed.delete(inst);
      createdAt.delete(inst);
      drain(world, inst);
    }
    gone.clear();
    pending = null;
  }

  return {
    run,
    noticed(world, inst) {
      if (k === undefined) return advance(world, false);
      world.schedule(world.clock.now() + world.network.delayMs(inst.server, k.placer(world)), EV_PLACEMENT_NOTICE, zone);
    },
    onEvent(world, kind, ref) {
      if (kind === EV_PLACEMENT_COMMAND) return onCommand(world, ref as Command);
      if (kind === EV_PLACEMENT_NOTICE) advance(world, false);
    },
    instances: () => [...placed.keys()].filter((i) => i.status !== 'gone'),
    capacityOf: (inst) => {
      const p = placed.get(inst);
      return p?.capacityPerSec ?? inst.plan.capacityPerSec;
    },
    stats: () => ({ runs, lastPredictedGoodput: lastPredicted, lastGuarantee, changes, lastMs, loadFailures, ...(shortages.length > 0 ? { shortages: [...shortages] } : {}) }),
  };
}

const GONE = { status: 'gone', backlog: 0 } as const;

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
