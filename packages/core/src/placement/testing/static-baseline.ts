import { totalDemandRate } from '../../model/demand.js';
import type { ParallelPlan } from '../../allocation/plan.js';
import type { ServiceSpec } from '../../model/service.js';
import type { PlacementInput } from '../types.js';

/** Result of {@link tritonLikeGoodput}. */
export interface StaticBaselineResult {
  /**
   * Items/s served as the baseline is usually credited: co-located models time-slice a device, and their items
   * count whatever the wait for the other models' batches does to their latency.
   */
  readonly goodputPerSec: number;
  /**
   * Items/s served within SLO under the rules `placeServices` honours: on a device shared by several models each
   * batch runs `1 + colocationSlowdown` times longer, and a model's items count only if the round-robin cycle
   * leaves it its deadline (`C + L ≤ D`; a frequency model's pack also fills: `(b − 1)/rate + C + L ≤ S`).
   */
  readonly goodputWithinSloPerSec: number;
  /** Per service (services with demand, input order): demand and items/s served, as credited and within SLO. */
  readonly services: readonly { readonly serviceId: string; readonly demandPerSec: number; readonly servedPerSec: number; readonly servedWithinSloPerSec: number }[];
  readonly replicas: number;
  /** Services whose demand found too little room (not enough replicas placed). */
  readonly shortServices: number;
}

interface BaselineDevice {
  readonly server: string;
  readonly kind: string;
  free: number;
  /** Expected utilization from the replicas placed so far. */
  util: number;
  readonly models: Set<string>;
}

interface Replica {
  readonly service: string;
  readonly plan: ParallelPlan;
  readonly devices: readonly number[];
}

/**
 * The Triton-like static placement of docs/simulator.md, as a careful operator would set it up. Each model runs, on
 * each device kind, the allocator's plan with the most items/s per device (`max_batch_size` = the largest batch
 * that fits the SLO, as Triton's model analyzer would pick). Models are taken in decreasing memory order and
 * get replicas until their capacity covers their average demand (replicas proportional to demand); each replica
 * goes to the least-loaded device with room for it (memory bin-packing that spreads load), at most one instance
 * of a model per device; several models may share a device, as Triton allows. Goodput: a model's demand is split
 * over its replicas in proportion to capacity; models sharing a device time-slice it, so when their summed
 * utilization `U > 1` each gets `1/U` of its rate. `goodputPerSec` ignores co-location's latency effect
 * (generous to the baseline); `goodputWithinSloPerSec` applies the duty-cycle rule and the interference slowdown
 * placement applies to itself (written here from the rule, not from placement's helpers). No locality (as
 * EPARA's placement without locality).
 */
export function tritonLikeGoodput(input: PlacementInput, reserveFraction = 0.1, colocationSlowdown = 0.1): StaticBaselineResult {
  const devices: BaselineDevice[] = input.servers.flatMap((s) =>
    s.healthy === false
      ? []
      : s.devices.filter((d) => d.healthy !== false).map((d) => ({ server: s.id, kind: d.kind, free: d.memoryBytes * (1 - reserveFraction), util: 0, models: new Set<string>() })),
  );
  const demand = new Map(input.demand.map((d) => [d.serviceId, totalDemandRate(d)]));
  const models = input.services
    .filter((s) => (demand.get(s.id) ?? 0) > 0 && (input.plans[s.id] ?? []).length > 0)
    .map((s) => ({ id: s.id, plans: bestPerKind(input.plans[s.id]!) }))
    .sort((a, b) => Math.max(...b.plans.map((p) => p.memoryPerDeviceBytes)) - Math.max(...a.plans.map((p) => p.memoryPerDeviceBytes)));
  const replicas: Replica[] = [];
  let shortServices = 0;
  for (const m of models) {
    let left = demand.get(m.id)!;
    while (left > 1e-9) {
      const placed = placeReplica(devices, m.id, m.plans, left);
      if (!placed) {
        shortServices++;
        break;
      }
      replicas.push(placed);
      left -= placed.plan.capacityPerSec;
    }
  }
  const credited = served(replicas, demand, devices, null);
  const specs = new Map(input.services.map((sp) => [sp.id, sp]));
  const withinSlo = served(replicas, demand, devices, (id) => specs.get(id)!, colocationSlowdown);
  const services = models.map((m) => ({
    serviceId: m.id,
    demandPerSec: demand.get(m.id)!,
    servedPerSec: credited.perService.get(m.id) ?? 0,
    servedWithinSloPerSec: withinSlo.perService.get(m.id) ?? 0,
  }));
  return { goodputPerSec: credited.total, goodputWithinSloPerSec: withinSlo.total, services, replicas: replicas.length, shortServices };
}

function bestPerKind(plans: readonly ParallelPlan[]): ParallelPlan[] {
  const best = new Map<string, ParallelPlan>();
  for (const p of plans) {
    const cur = best.get(p.deviceKind);
    if (!cur || p.capacityPerSec / p.devices > cur.capacityPerSec / cur.devices) best.set(p.deviceKind, p);
  }
  return [...best.values()];
}

/** The least-loaded devices (one server for multi-device plans) with room for one more replica. */
function placeReplica(devices: BaselineDevice[], service: string, plans: readonly ParallelPlan[], left: number): Replica | null {
  let best: { plan: ParallelPlan; devices: number[]; load: number } | null = null;
  for (const plan of plans) {
    const fit = (d: BaselineDevice): boolean => d.kind === plan.deviceKind && d.free >= plan.memoryPerDeviceBytes && !d.models.has(service);
    for (let i = 0; i < devices.length; ) {
      const server = devices[i]!.server;
      const here: number[] = [];
      for (; i < devices.length && devices[i]!.server === server; i++) if (fit(devices[i]!)) here.push(i);
      if (here.length < plan.devices) continue;
      const set = here.sort((a, b) => devices[a]!.util - devices[b]!.util).slice(0, plan.devices);
      const load = set.reduce((s, d) => s + devices[d]!.util, 0) / plan.devices;
      if (!best || load < best.load) best = { plan, devices: set, load };
    }
  }
  if (!best) return null;
  const util = Math.min(1, left / best.plan.capacityPerSec);
  for (const i of best.devices) {
    const d = devices[i]!;
    d.free -= best.plan.memoryPerDeviceBytes;
    d.util += util;
    d.models.add(service);
  }
  return { service, plan: best.plan, devices: best.devices };
}

/**
 * Items/s each replica serves: its share of the service's demand, scaled by `1/U` on a device whose summed
 * utilization `U` exceeds 1. With `spec`, shared devices run each batch `1 + slowdown` times longer and a
 * replica whose deadline the round-robin cycle breaks serves nothing within SLO.
 */
function served(
  placed: readonly Replica[],
  demand: ReadonlyMap<string, number>,
  devices: readonly BaselineDevice[],
  spec: ((id: string) => ServiceSpec) | null,
  slowdown = 0,
): { total: number; perService: Map<string, number> } {
  const capacity = new Map<string, number>();
  for (const r of placed) capacity.set(r.service, (capacity.get(r.service) ?? 0) + r.plan.capacityPerSec);
  const load = placed.map((r) => r.plan.capacityPerSec * Math.min(1, demand.get(r.service)! / capacity.get(r.service)!));
  const sharers = new Uint32Array(devices.length);
  for (const r of placed) for (const d of r.devices) sharers[d]!++;
  const runMs = (r: Replica): number => {
    if (!spec || r.devices.every((d) => sharers[d]! <= 1)) return r.plan.runMs;
    return r.plan.runMs * (1 + (spec(r.service).colocationSlowdown ?? slowdown));
  };
  const util = new Float64Array(devices.length);
  const cycle = new Float64Array(devices.length);
  placed.forEach((r, i) => {
    const u = (load[i]! * runMs(r)) / (1000 * r.plan.batchSize * (r.plan.serviceStrategy === 'data-parallel' ? r.plan.devices : 1));
    for (const d of r.devices) (util[d] = util[d]! + u), (cycle[d] = cycle[d]! + runMs(r));
  });
  const perService = new Map<string, number>();
  let total = 0;
  placed.forEach((r, i) => {
    let got = load[i]! / Math.max(1, ...r.devices.map((d) => util[d]!));
    if (spec && r.devices.some((d) => sharers[d]! > 1) && !meetsSlo(spec(r.service), r, runMs(r), Math.max(...r.devices.map((d) => cycle[d]!)), load[i]!)) got = 0;
    perService.set(r.service, (perService.get(r.service) ?? 0) + got);
    total += got;
  });
  return { total, perService };
}

/** The round-robin rule on a shared device: wait one full cycle, then run (a frequency pack fills first). */
function meetsSlo(s: ServiceSpec, r: Replica, runMs: number, cycleMs: number, rate: number): boolean {
  const budget = (s.slo.kind === 'latency' ? s.slo.deadlineMs : s.slo.stalenessMs) - (s.networkBudgetMs ?? 0);
  const fill = s.slo.kind === 'frequency' && rate > 0 ? ((r.plan.batchSize - 1) * 1000) / rate : 0;
  return fill + cycleMs + runMs <= budget * (1 + 1e-9);
}
