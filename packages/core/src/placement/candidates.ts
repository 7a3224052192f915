import type { ParallelPlan } from '../allocation/plan.js';
import { withBatchVariants } from './batch-variants.js';
import { dutyCycleFits, PLACEMENT_TOLERANCE, timeShare } from './duty-cycle.js';
import type { PlacementModel, ServiceNode } from './model.js';
import type { PlacementRunOptions } from './options.js';
import type { ItemFootprint, Resources } from './resources.js';

/**
 * A candidate item up to the choice of interchangeable devices: a plan of a service at a time share on a class
 * of identical devices (single-device plans), or on free devices of one server (exclusive multi-device groups).
 * Symmetric devices make one template stand for many concrete items. Without locality the server does not
 * change an item's value either, so one template covers every server with the same device class (`pools` lists
 * them in server order) and candidates grow with services × plans × device classes, not with servers.
 */
export interface Template {
  readonly index: number;
  readonly service: number;
  readonly plan: ParallelPlan;
  /** The server when the template has one pool (locality on); -1 when it spans servers. */
  readonly server: number;
  /** Device pools to choose from, each on one server (a device class, or all fitting devices for groups). */
  readonly pools: readonly (readonly number[])[];
  readonly foot: ItemFootprint;
  /** Fraction of the plan's capacity claimed (1 for whole devices). */
  readonly share: number;
  /** Resource cost the gain is divided by. */
  readonly cost: number;
  /** Switching cost of loading it, weighted items/s over the period. */
  readonly penalty: number;
}

/** Memory on each device: the plan's figure, never less than weights (or a stage) + per-item memory × batch. */
export function itemMemoryBytes(svc: ServiceNode, plan: ParallelPlan): number {
  const m = svc.spec.memory;
  const weights = plan.serviceStrategy === 'model-parallel' ? m.weightsBytes / plan.devices : m.weightsBytes;
  return Math.max(plan.memoryPerDeviceBytes, weights + m.perItemBytes * plan.batchSize);
}

/** The footprint of a plan at an assigned capacity. */
export function footprintOf(svc: ServiceNode, plan: ParallelPlan, capacityPerSec: number, multiTask: boolean): ItemFootprint {
  return {
    service: svc.index,
    memBytes: itemMemoryBytes(svc, plan),
    exclusive: !multiTask || plan.serviceStrategy !== 'single' || plan.devices > 1,
    runMs: plan.runMs,
    sharedRunMs: plan.runMs * (1 + svc.slowdown),
    batchSize: plan.batchSize,
    capacityPerSec,
    cycleBudgetMs: svc.cycleBudgetMs,
    fillsPacks: !svc.latencySensitive,
    blocking: svc.blocking,
  };
}

/** Switching cost of a new instance: `μ × weight × min(demand, capacity) × loadTime / period`. */
export function switchPenalty(svc: ServiceNode, capacityPerSec: number, options: PlacementRunOptions): number {
  return (options.switchWeight * svc.weight * Math.min(svc.totalDemand, capacityPerSec) * svc.loadTimeMs) / options.periodMs;
}

/** A plan at a share, before it is tied to devices. */
interface Spec {
  readonly svc: ServiceNode;
  readonly plan: ParallelPlan;
  /** For a batch variant: the allocator's plan it derives from. */
  readonly parent: ParallelPlan | null;
  readonly share: number;
  readonly foot: ItemFootprint;
  readonly exclusiveGroup: boolean;
}

/** Generates every template; services without demand or plans get none. */
export function buildTemplates(model: PlacementModel, options: PlacementRunOptions): Template[] {
  const out: Template[] = [];
  const groupPools = buildGroupPools(model);
  const classGroups = buildClassGroups(model);
  const specs = buildSpecs(model, options);
  const unit = options.costModel === 'unit';
  for (const spec of specs) {
    const { svc, plan, share, foot } = spec;
    const penalty = switchPenalty(svc, foot.capacityPerSec, options);
    const push = (server: number, pools: readonly (readonly number[])[], cost: number): void => {
      out.push({ index: out.length, service: svc.index, plan, server, pools, foot, share, cost, penalty });
    };
    const groups = spec.exclusiveGroup
      ? [{ ...groupPools(plan.deviceKind, foot.memBytes, plan.devices), cost: unit ? 1 : plan.devices }]
      : (classGroups.get(plan.deviceKind) ?? [])
          .filter((g) => g.usableBytes >= foot.memBytes && (share >= 1 ? aloneWorth(spec, g.usableBytes) : canPair(spec, specs, g.usableBytes)))
          .map((g) => ({ ...g, cost: unit ? 1 : resourceCost(foot, g.usableBytes, options.multiTask) }));
    for (const g of groups) {
      if (g.pools.length === 0) continue;
      if (options.locality) {
        const order = g.pools.map((_, i) => i);
        const lost = options.arrivalSlack ? slackFit(svc, plan, g.servers, model, options.nearDemandTolerance) : null;
        const near = options.nearDemandFirst ? nearness(svc, g.servers, options.nearDemandTolerance) : null;
        if (lost !== null || near !== null) order.sort((a, b) => (lost === null ? 0 : lost[a]! - lost[b]!) || (near === null ? 0 : near[a]! - near[b]!) || a - b);
        for (const i of order) push(g.servers[i]!, [g.pools[i]!], g.cost);
      } else push(-1, g.pools, g.cost);
    }
  }
  return out;
}

/**
 * Per server of `servers`: the service's demand-weighted round trip to it as a share of its SLO, in steps of
 * `tolerance` (servers in the same step keep their order). {@link PlacementOptions.nearDemandFirst}.
 */
function nearness(svc: ServiceNode, servers: readonly number[], tolerance: number): number[] {
  // Plain loops (a closure per server and per access row was most of the placement's setup garbage); the sum
  // adds the same terms in the same order.
  const rows = svc.reachRows;
  const out = new Array<number>(servers.length);
  for (let k = 0; k < servers.length; k++) {
    const s = servers[k]!;
    let sum = 0;
    for (let i = 0; i < rows.length; i++) sum += svc.accessRate[i]! * Math.min(rows[i]![s]!, svc.sloMs);
    const share = sum / (svc.totalDemand * svc.sloMs);
    out[k] = tolerance > 0 ? Math.floor(share / tolerance) : share;
  }
  return out;
}

/**
 * Per server of `servers`: the share of the service's demand whose items would still fit there — their slack on
 * arrival at their access server (`arrivalSlack` in {@link ServiceNode}) covers the round trip plus `plan`'s run
 * (the least an item needs there; the worst-case latency, twice that, was measured too: docs/placement.md) —
 * negated (most first) and in steps of `tolerance`. Null (every server ties) when the service
 * has no slack given, or when every item given arrives with its whole SLO left: the slack then tells nothing the
 * objective's reach test does not. {@link PlacementOptions.arrivalSlack}.
 */
function slackFit(svc: ServiceNode, plan: ParallelPlan, servers: readonly number[], model: PlacementModel, tolerance: number): number[] | null {
  if (svc.arrivalSlack.every((s) => s === null || s[0]! >= svc.sloMs)) return null;
  const rows = svc.access.map((a) => model.roundTripRow(a));
  const out = new Array<number>(servers.length);
  for (let k = 0; k < servers.length; k++) {
    const s = servers[k]!;
    let fit = 0;
    for (let i = 0; i < rows.length; i++) {
      // Without slack given for this access server, its items arrive with their whole SLO.
      const slack = svc.arrivalSlack[i] ?? [svc.sloMs];
      const need = rows[i]![s]! + plan.runMs;
      // `slack` is ascending: count the values that cover `need` (the reach test's tolerance).
      let short = 0;
      while (short < slack.length && slack[short]! * (1 + PLACEMENT_TOLERANCE) < need) short++;
      fit += (svc.accessRate[i]! * (slack.length - short)) / slack.length;
    }
    const share = fit / svc.totalDemand;
    out[k] = -(tolerance > 0 ? Math.floor(share / tolerance) : share);
  }
  return out;
}

/** Healthy devices up to which share levels below ¼ are offered. */
export const SMALL_SHARE_DEVICES = 256;

/** Every (service, plan, share) worth a template: batch variants only at partial shares. */
function buildSpecs(model: PlacementModel, options: PlacementRunOptions): Spec[] {
  const specs: Spec[] = [];
  const healthy = model.devices.reduce((n, d) => n + (d.healthy ? 1 : 0), 0);
  // Shares below ¼ only on mid-size clusters: on large ones they triple the gain evaluations for little goodput.
  const levels = healthy <= SMALL_SHARE_DEVICES ? options.shareLevels : options.shareLevels.filter((s) => s >= 0.25);
  for (const svc of model.services) {
    if (svc.totalDemand <= 0 || svc.weight <= 0) continue;
    for (const { plan, parent } of options.multiTask ? withBatchVariants(svc, options.batchVariants) : svc.plans.map((p) => ({ plan: p, parent: null }))) {
      const exclusiveGroup = plan.serviceStrategy !== 'single' || plan.devices > 1;
      const shares = exclusiveGroup || !options.multiTask ? [1] : levels;
      for (const share of shares) {
        const foot = footprintOf(svc, plan, share * plan.capacityPerSec, options.multiTask);
        specs.push({ svc, plan, parent, share, foot, exclusiveGroup });
      }
    }
  }
  return specs;
}

/**
 * A batch variant claiming a whole device cannot share it, and alone its allocator plan serves more — where that
 * plan fits. On devices too small for the allocator's batch the variant alone is the only way to serve there.
 */
function aloneWorth(spec: Spec, usableBytes: number): boolean {
  if (!spec.parent) return true;
  return itemMemoryBytes(spec.svc, spec.parent) > usableBytes * (1 + PLACEMENT_TOLERANCE);
}

/**
 * A partial share is only worth offering on devices of `usableBytes` where some item of another service could
 * join it (memory and duty cycle of the pair); otherwise it can only run alone, where the full share of the same
 * plan dominates it — and greedy, seeing only its smaller cost, could waste a device on it.
 */
function canPair(spec: Spec, specs: readonly Spec[], usableBytes: number): boolean {
  for (const other of specs) {
    if (other.svc === spec.svc || other.exclusiveGroup || other.plan.deviceKind !== spec.plan.deviceKind) continue;
    if (spec.foot.memBytes + other.foot.memBytes > usableBytes * (1 + PLACEMENT_TOLERANCE)) continue;
    if (dutyCycleFits([spec.foot, other.foot])) return true;
  }
  return false;
}

interface PoolGroup {
  readonly usableBytes: number;
  readonly pools: readonly (readonly number[])[];
  readonly servers: readonly number[];
}

/** Device classes of each kind grouped by usable memory, each group's pools in server order. */
function buildClassGroups(model: PlacementModel): Map<string, PoolGroup[]> {
  const byKind = new Map<string, Map<number, { pools: number[][]; servers: number[] }>>();
  for (const cls of model.classes) {
    const byMem = byKind.get(cls.kind) ?? new Map<number, { pools: number[][]; servers: number[] }>();
    const g = byMem.get(cls.usableBytes) ?? { pools: [], servers: [] };
    g.pools.push([...cls.devices]);
    g.servers.push(cls.server);
    byMem.set(cls.usableBytes, g);
    byKind.set(cls.kind, byMem);
  }
  const out = new Map<string, PoolGroup[]>();
  for (const [kind, byMem] of byKind) {
    out.set(kind, [...byMem].sort((a, b) => a[0] - b[0]).map(([usableBytes, g]) => ({ usableBytes, ...g })));
  }
  return out;
}

function resourceCost(foot: ItemFootprint, usableBytes: number, multiTask: boolean): number {
  if (!multiTask) return 1;
  const mem = usableBytes > 0 ? foot.memBytes / usableBytes : 1;
  // Rounded to 1e-9 so that float noise (0.4999999… vs 0.5) does not break ties between equivalent items.
  return Math.round(Math.min(1, Math.max(1e-6, mem, timeShare(foot))) * 1e9) / 1e9;
}

/**
 * Per server, the healthy devices of a kind with room for `memBytes`, smallest first (best fit), keeping servers
 * with at least `count` of them. Cached per (kind, memory, count).
 */
function buildGroupPools(model: PlacementModel): (kind: string, memBytes: number, count: number) => PoolGroup {
  const byKind = new Map<string, Map<number, number[]>>();
  model.devices.forEach((d, i) => {
    if (!d.healthy) return;
    const servers = byKind.get(d.kind) ?? new Map<number, number[]>();
    const list = servers.get(d.server) ?? [];
    list.push(i);
    servers.set(d.server, list);
    byKind.set(d.kind, servers);
  });
  const cache = new Map<string, PoolGroup>();
  return (kind, memBytes, count) => {
    const key = `${kind}\u0000${memBytes}\u0000${count}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const pools: number[][] = [];
    const servers: number[] = [];
    for (const [server, list] of byKind.get(kind) ?? []) {
      const pool = list.filter((i) => model.devices[i]!.usableBytes >= memBytes);
      if (pool.length < count) continue;
      pool.sort((a, b) => model.devices[a]!.usableBytes - model.devices[b]!.usableBytes || a - b);
      pools.push(pool);
      servers.push(server);
    }
    const group = { usableBytes: Number.NaN, pools, servers };
    cache.set(key, group);
    return group;
  };
}

/**
 * Concrete devices for a template given the residual resources, or null, scanning its pools from `cursor.at`
 * and advancing the cursor past pools where it no longer fits (resources only shrink while greedy adds, so they
 * never fit again in that run). Single-device items go to the feasible device of the pool that is fullest
 * already (best fit keeps empty devices free for exclusive groups).
 */
export function chooseDevices(t: Template, resources: Resources, cursor: { at: number }): number[] | null {
  for (; cursor.at < t.pools.length; cursor.at++) {
    const found = devicesIn(t, t.pools[cursor.at]!, resources);
    if (found) return found;
  }
  return null;
}

/** Concrete devices for a template in one pool, or null (the same choice rule as {@link chooseDevices}). */
export function devicesIn(t: Template, pool: readonly number[], resources: Resources): number[] | null {
  if (!t.foot.exclusive || t.plan.devices === 1) {
    let best = -1;
    let bestUsed = -1;
    for (const d of pool) {
      if (!resources.fits(d, t.foot)) continue;
      const used = resources.usedBytes(d);
      if (used > bestUsed) (best = d), (bestUsed = used);
    }
    return best < 0 ? null : [best];
  }
  const picked: number[] = [];
  for (const d of pool) {
    if (resources.fits(d, t.foot)) picked.push(d);
    if (picked.length === t.plan.devices) return picked;
  }
  return null;
}
