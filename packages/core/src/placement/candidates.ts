import type { ParallelPlan } from '../allocation/plan.js';
import { withBatchVariants } from './batch-variants.js';
import { timeShare } from './duty-cycle.js';
import type { PlacementModel, ServiceNode } from './model.js';
import type { ResolvedPlacementOptions } from './options.js';
import type { ItemFootprint, Resources } from './resources.js';

/**
 * A candidate item up to the choice of interchangeable devices: a plan of a service at a time share on a class
 * of identical devices of one server (single-device plans), or on free devices of one server (exclusive
 * multi-device groups). Symmetric devices make one template stand for many concrete items, so candidates grow
 * with servers × services × plans, not with device subsets.
 */
export interface Template {
  readonly index: number;
  readonly service: number;
  readonly plan: ParallelPlan;
  readonly server: number;
  /** Device indices to choose from (a class for single-device plans; all fitting devices for groups). */
  readonly pool: readonly number[];
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
    batchSize: plan.batchSize,
    capacityPerSec,
    cycleBudgetMs: svc.cycleBudgetMs,
    fillsPacks: !svc.latencySensitive,
  };
}

/** Switching cost of a new instance: `μ × weight × min(demand, capacity) × loadTime / period`. */
export function switchPenalty(svc: ServiceNode, capacityPerSec: number, options: ResolvedPlacementOptions): number {
  return (options.switchWeight * svc.weight * Math.min(svc.totalDemand, capacityPerSec) * svc.loadTimeMs) / options.periodMs;
}

/** Generates every template; services without demand or plans get none. */
export function buildTemplates(model: PlacementModel, options: ResolvedPlacementOptions): Template[] {
  const out: Template[] = [];
  const groupPools = buildGroupPools(model);
  for (const svc of model.services) {
    if (svc.totalDemand <= 0 || svc.weight <= 0) continue;
    const plans = options.multiTask ? withBatchVariants(svc, options.batchVariants) : svc.plans;
    for (const plan of plans) {
      const exclusiveGroup = plan.serviceStrategy !== 'single' || plan.devices > 1;
      const shares = exclusiveGroup || !options.multiTask ? [1] : options.shareLevels;
      for (const share of shares) {
        const foot = footprintOf(svc, plan, share * plan.capacityPerSec, options.multiTask);
        const penalty = switchPenalty(svc, foot.capacityPerSec, options);
        const push = (server: number, pool: readonly number[], cost: number): void => {
          out.push({ index: out.length, service: svc.index, plan, server, pool, foot, share, cost, penalty });
        };
        if (exclusiveGroup) {
          for (const [server, pool] of groupPools(plan.deviceKind, foot.memBytes)) {
            if (pool.length >= plan.devices) push(server, pool, options.costModel === 'unit' ? 1 : plan.devices);
          }
          continue;
        }
        for (const cls of model.classes) {
          if (cls.kind !== plan.deviceKind || cls.usableBytes < foot.memBytes) continue;
          const cost = options.costModel === 'unit' ? 1 : resourceCost(foot, cls.usableBytes, options.multiTask);
          push(cls.server, cls.devices, cost);
        }
      }
    }
  }
  return out;
}

function resourceCost(foot: ItemFootprint, usableBytes: number, multiTask: boolean): number {
  if (!multiTask) return 1;
  const mem = usableBytes > 0 ? foot.memBytes / usableBytes : 1;
  // Rounded to 1e-9 so that float noise (0.4999999… vs 0.5) does not break ties between equivalent items.
  return Math.round(Math.min(1, Math.max(1e-6, mem, timeShare(foot))) * 1e9) / 1e9;
}

/** Healthy devices of a kind on each server with room for `memBytes`, smallest first (best fit). */
function buildGroupPools(model: PlacementModel): (kind: string, memBytes: number) => [number, number[]][] {
  const byKind = new Map<string, Map<number, number[]>>();
  model.devices.forEach((d, i) => {
    if (!d.healthy) return;
    const servers = byKind.get(d.kind) ?? new Map<number, number[]>();
    const list = servers.get(d.server) ?? [];
    list.push(i);
    servers.set(d.server, list);
    byKind.set(d.kind, servers);
  });
  return (kind, memBytes) => {
    const out: [number, number[]][] = [];
    for (const [server, list] of byKind.get(kind) ?? []) {
      const pool = list.filter((i) => model.devices[i]!.usableBytes >= memBytes);
      pool.sort((a, b) => model.devices[a]!.usableBytes - model.devices[b]!.usableBytes || a - b);
      out.push([server, pool]);
    }
    return out;
  };
}

/**
 * Concrete devices for a template given the residual resources, or null. Single-device items go to the
 * feasible device that is fullest already (best fit keeps empty devices free for exclusive groups).
 */
export function chooseDevices(t: Template, resources: Resources): number[] | null {
  if (!t.foot.exclusive || t.plan.devices === 1) {
    let best = -1;
    let bestUsed = -1;
    for (const d of t.pool) {
      if (!resources.fits(d, t.foot)) continue;
      const used = resources.usedBytes(d);
      if (used > bestUsed) (best = d), (bestUsed = used);
    }
    return best < 0 ? null : [best];
  }
  const picked: number[] = [];
  for (const d of t.pool) {
    if (resources.fits(d, t.foot)) picked.push(d);
    if (picked.length === t.plan.devices) return picked;
  }
  return null;
}
