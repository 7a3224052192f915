import { totalDemandRate } from '../../model/demand.js';
import type { ParallelPlan } from '../../allocation/plan.js';
import type { PlacementInput } from '../types.js';

/** Result of {@link tritonLikeGoodput}. */
export interface StaticBaselineResult {
  readonly goodputPerSec: number;
  readonly replicas: number;
  /** Replicas that found no device with room. */
  readonly unplaced: number;
}

interface Replica {
  readonly service: string;
  readonly plan: ParallelPlan;
  readonly mem: number;
  devices: number[];
}

/**
 * The Triton-like static placement of DESIGN.md §4, as a careful operator would set it up: each model runs
 * the allocator's best plan (its `max_batch_size` is the largest batch that fits the SLO); replicas in
 * proportion to average demand (`ceil(demand / capacity)`, scaled down when the cluster is too small, at least
 * one each); replicas bin-packed by memory, first fit decreasing, at most one instance of a model per device
 * (several models may share a device, as Triton allows). Goodput: each replica takes an equal share of its
 * model's demand up to its capacity; models sharing a device time-slice it, so when their summed utilization
 * `U > 1` each gets `1/U` of its rate. Co-location's latency effect is ignored (generous to the baseline); no
 * locality (any replica serves any demand, as EPARA's placement without locality).
 */
export function tritonLikeGoodput(input: PlacementInput, reserveFraction = 0.1): StaticBaselineResult {
  const devices = input.servers.flatMap((s) =>
    s.healthy === false ? [] : s.devices.filter((d) => d.healthy !== false).map((d) => ({ server: s.id, kind: d.kind, free: d.memoryBytes * (1 - reserveFraction), models: new Set<string>() })),
  );
  const demand = new Map(input.demand.map((d) => [d.serviceId, totalDemandRate(d)]));
  const best = input.services.flatMap((s) => {
    const plan = input.plans[s.id]?.[0];
    return plan && (demand.get(s.id) ?? 0) > 0 ? [{ id: s.id, plan, want: Math.ceil(demand.get(s.id)! / plan.capacityPerSec) }] : [];
  });
  const need = best.reduce((s, b) => s + b.want * b.plan.devices, 0);
  const shrink = Math.min(1, devices.length / Math.max(1, need));
  const replicas: Replica[] = best.flatMap((b) =>
    Array.from({ length: Math.max(1, Math.floor(b.want * shrink)) }, () => ({ service: b.id, plan: b.plan, mem: b.plan.memoryPerDeviceBytes, devices: [] })),
  );
  replicas.sort((a, b) => b.mem * b.plan.devices - a.mem * a.plan.devices);
  let unplaced = 0;
  for (const r of replicas) {
    const fit = (i: number): boolean => devices[i]!.kind === r.plan.deviceKind && devices[i]!.free >= r.mem && !devices[i]!.models.has(r.service);
    const chosen: number[] = [];
    for (let i = 0; i < devices.length && chosen.length < r.plan.devices; i++) {
      if (chosen.length > 0 && devices[i]!.server !== devices[chosen[0]!]!.server) chosen.length = 0;
      if (fit(i)) chosen.push(i);
    }
    if (chosen.length < r.plan.devices) {
      unplaced++;
      continue;
    }
    for (const i of chosen) {
      devices[i]!.free -= r.mem;
      devices[i]!.models.add(r.service);
    }
    r.devices = chosen;
  }
  return { goodputPerSec: served(replicas.filter((r) => r.devices.length > 0), demand, devices.length), replicas: replicas.length, unplaced };
}

function served(placed: readonly Replica[], demand: ReadonlyMap<string, number>, deviceCount: number): number {
  const count = new Map<string, number>();
  for (const r of placed) count.set(r.service, (count.get(r.service) ?? 0) + 1);
  const load = placed.map((r) => Math.min(r.plan.capacityPerSec, demand.get(r.service)! / count.get(r.service)!));
  const util = new Float64Array(deviceCount);
  placed.forEach((r, i) => {
    const u = (load[i]! * r.plan.runMs) / (1000 * r.plan.batchSize * (r.plan.serviceStrategy === 'data-parallel' ? r.plan.devices : 1));
    for (const d of r.devices) util[d] = util[d]! + u;
  });
  return placed.reduce((s, r, i) => s + load[i]! / Math.max(1, ...r.devices.map((d) => util[d]!)), 0);
}
