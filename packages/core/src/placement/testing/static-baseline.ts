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

/** Variants of {@link tritonLikeGoodput}'s operator and of its within-SLO rule. */
export interface StaticBaselineOptions {
  /**
   * Hold the baseline's co-located latency models to the residual-blocking rule placement holds itself to
   * (`residualBlocking`): on a shared device a latency replica needs `B + L ≤ D × (1 − ρ_o)` (longest run on the
   * device, its own run, the others' duty cycle) besides the round-robin rule. @default false
   */
  readonly residualBlocking?: boolean;
  /**
   * An operator who checks the deadlines before co-locating: a replica goes only to devices where every model
   * on them (the new one included) still meets the round-robin rule (and, with `residualBlocking`, that rule
   * too, at the replicas' expected rates), least-loaded first; a model with no such device gets no more
   * replicas. @default false (least-loaded device with memory room, whatever the deadlines)
   */
  readonly sloAwareOperator?: boolean;
  /**
   * How a model's requests reach its replicas. `'capacity'`: its whole demand, wherever it enters, is split over
   * its replicas in proportion to their capacity (a cluster-wide, capacity-aware balancer: generous to a static
   * placement). `'local-first'`: the simulator's Triton per site behind a Kubernetes-style balancer — a request is
   * served where it enters if the model is hosted on that server, otherwise forwarded one hop to a server hosting
   * it drawn uniformly at random (kube-proxy's default), whatever that server's load; what a server receives beyond
   * its replicas' capacity times out. The operator then also places, among equally loaded devices, on the servers
   * where the most of the model's demand enters (as the simulator's operator does). Counted as rates (no queues).
   * @default 'capacity'
   */
  readonly balancer?: 'capacity' | 'local-first';
}

/** What the SLO-aware operator knows of a replica on a device: its shared run, budget and pack fill. */
interface Resident {
  readonly runMs: number;
  readonly budgetMs: number;
  readonly fillMs: number;
  /** Share of the device its expected rate keeps busy (shared run × rate ÷ batch). */
  readonly busy: number;
  readonly latency: boolean;
}

interface BaselineDevice {
  readonly server: string;
  readonly kind: string;
  free: number;
  /** Expected utilization from the replicas placed so far. */
  util: number;
  readonly models: Set<string>;
  readonly residents: Resident[];
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
export function tritonLikeGoodput(input: PlacementInput, reserveFraction = 0.1, colocationSlowdown = 0.1, options: StaticBaselineOptions = {}): StaticBaselineResult {
  const devices: BaselineDevice[] = input.servers.flatMap((s) =>
    s.healthy === false
      ? []
      : s.devices.filter((d) => d.healthy !== false).map((d) => ({ server: s.id, kind: d.kind, free: d.memoryBytes * (1 - reserveFraction), util: 0, models: new Set<string>(), residents: [] })),
  );
  const specOf = new Map(input.services.map((sp) => [sp.id, sp]));
  const sloAware = options.sloAwareOperator === true ? (id: string) => specOf.get(id)! : null;
  const demand = new Map(input.demand.map((d) => [d.serviceId, totalDemandRate(d)]));
  const localFirst = options.balancer === 'local-first';
  const entering = localFirst ? enteringRates(input) : null;
  const models = input.services
    .filter((s) => (demand.get(s.id) ?? 0) > 0 && (input.plans[s.id] ?? []).length > 0)
    .map((s) => ({ id: s.id, plans: bestPerKind(input.plans[s.id]!) }))
    .sort((a, b) => Math.max(...b.plans.map((p) => p.memoryPerDeviceBytes)) - Math.max(...a.plans.map((p) => p.memoryPerDeviceBytes)));
  const replicas: Replica[] = [];
  let shortServices = 0;
  for (const m of models) {
    let left = demand.get(m.id)!;
    while (left > 1e-9) {
      const placed = placeReplica(devices, m.id, m.plans, left, sloAware, colocationSlowdown, options.residualBlocking === true, entering?.get(m.id) ?? null);
      if (!placed) {
        shortServices++;
        break;
      }
      replicas.push(placed);
      left -= placed.plan.capacityPerSec;
    }
  }
  const arriving = entering === null ? proportionalLoad(replicas, demand) : localFirstLoad(replicas, devices, entering);
  const credited = served(replicas, arriving, devices, null);
  const specs = new Map(input.services.map((sp) => [sp.id, sp]));
  const withinSlo = served(replicas, arriving, devices, (id) => specs.get(id)!, colocationSlowdown, options.residualBlocking === true);
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
function placeReplica(
  devices: BaselineDevice[],
  service: string,
  plans: readonly ParallelPlan[],
  left: number,
  sloAware: ((id: string) => ServiceSpec) | null,
  slowdown: number,
  blocking: boolean,
  enteringAt: ReadonlyMap<string, number> | null,
): Replica | null {
  let best: { plan: ParallelPlan; devices: number[]; load: number; near: number; resident: Resident } | null = null;
  for (const plan of plans) {
    const resident = residentOf(sloAware?.(service), plan, Math.min(left, plan.capacityPerSec), slowdown);
    const fit = (d: BaselineDevice): boolean =>
      d.kind === plan.deviceKind && d.free >= plan.memoryPerDeviceBytes && !d.models.has(service) && (sloAware === null || cycleHolds([...d.residents, resident], blocking));
    for (let i = 0; i < devices.length; ) {
      const server = devices[i]!.server;
      const here: number[] = [];
      for (; i < devices.length && devices[i]!.server === server; i++) if (fit(devices[i]!)) here.push(i);
      if (here.length < plan.devices) continue;
      const set = here.sort((a, b) => devices[a]!.util - devices[b]!.util).slice(0, plan.devices);
      const load = set.reduce((s, d) => s + devices[d]!.util, 0) / plan.devices;
      // With a local-first balancer, equally loaded devices are taken where the most of the model's demand enters.
      const near = enteringAt?.get(server) ?? 0;
      if (!best || load < best.load || (load === best.load && near > best.near)) best = { plan, devices: set, load, near, resident };
    }
  }
  if (!best) return null;
  const util = Math.min(1, left / best.plan.capacityPerSec);
  for (const i of best.devices) {
    const d = devices[i]!;
    d.free -= best.plan.memoryPerDeviceBytes;
    d.util += util;
    d.models.add(service);
    d.residents.push(best.resident);
  }
  return { service, plan: best.plan, devices: best.devices };
}

/** A replica as the SLO-aware operator checks it: its run slowed by sharing, its budget, its pack's fill time. */
function residentOf(spec: ServiceSpec | undefined, plan: ParallelPlan, rate: number, slowdown: number): Resident {
  if (spec === undefined) return { runMs: plan.runMs, budgetMs: Number.POSITIVE_INFINITY, fillMs: 0, busy: 0, latency: false };
  const budgetMs = (spec.slo.kind === 'latency' ? spec.slo.deadlineMs : spec.slo.stalenessMs) - (spec.networkBudgetMs ?? 0);
  const fillMs = spec.slo.kind === 'frequency' && rate > 0 ? ((plan.batchSize - 1) * 1000) / rate : 0;
  const runMs = plan.runMs * (1 + (spec.colocationSlowdown ?? slowdown));
  const busy = (rate * runMs) / (1000 * plan.batchSize * (plan.serviceStrategy === 'data-parallel' ? plan.devices : 1));
  return { runMs, budgetMs, fillMs, busy, latency: spec.slo.kind === 'latency' };
}

/**
 * The round-robin rule for every resident of a device: alone always, shared `fill + C + L ≤ budget`; with
 * `blocking`, a latency resident also `B + L ≤ budget × (1 − ρ_o)` (longest run, the others' busy share).
 */
function cycleHolds(residents: readonly Resident[], blocking: boolean): boolean {
  if (residents.length <= 1) return true;
  const cycle = residents.reduce((c, r) => c + r.runMs, 0);
  const longest = Math.max(...residents.map((r) => r.runMs));
  const busy = residents.reduce((b, r) => b + r.busy, 0);
  return residents.every(
    (r) => r.fillMs + cycle + r.runMs <= r.budgetMs * (1 + 1e-9) && (!blocking || !r.latency || longest + r.runMs <= r.budgetMs * (1 - (busy - r.busy)) * (1 + 1e-9)),
  );
}

/** Per service, the items/s entering at each access server (requests and streams). */
function enteringRates(input: PlacementInput): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const d of input.demand) {
    const at = new Map<string, number>();
    for (const [a, r] of Object.entries(d.ratePerServer)) at.set(a, (at.get(a) ?? 0) + r);
    for (const st of d.streams ?? []) at.set(st.accessServer, (at.get(st.accessServer) ?? 0) + st.rateHz);
    out.set(d.serviceId, at);
  }
  return out;
}

/** The capacity-aware balancer: each replica's share of its model's demand, in proportion to capacity, at most its capacity. */
function proportionalLoad(placed: readonly Replica[], demand: ReadonlyMap<string, number>): number[] {
  const capacity = new Map<string, number>();
  for (const r of placed) capacity.set(r.service, (capacity.get(r.service) ?? 0) + r.plan.capacityPerSec);
  return placed.map((r) => r.plan.capacityPerSec * Math.min(1, demand.get(r.service)! / capacity.get(r.service)!));
}

/**
 * The local-first balancer: a server hosting the model receives the demand entering there plus an equal share of
 * the demand entering where the model is not hosted (forwarded uniformly at random over the hosting servers); its
 * replicas take it in proportion to their capacity, at most their capacity.
 */
function localFirstLoad(placed: readonly Replica[], devices: readonly BaselineDevice[], entering: ReadonlyMap<string, ReadonlyMap<string, number>>): number[] {
  const capAt = new Map<string, Map<string, number>>();
  for (const r of placed) {
    const server = devices[r.devices[0]!]!.server;
    const m = capAt.get(r.service) ?? new Map<string, number>();
    m.set(server, (m.get(server) ?? 0) + r.plan.capacityPerSec);
    capAt.set(r.service, m);
  }
  const forwardedShare = new Map<string, number>();
  for (const [service, hosts] of capAt) {
    let away = 0;
    for (const [a, rate] of entering.get(service) ?? []) if (!hosts.has(a)) away += rate;
    forwardedShare.set(service, away / hosts.size);
  }
  return placed.map((r) => {
    const server = devices[r.devices[0]!]!.server;
    const arrives = (entering.get(r.service)?.get(server) ?? 0) + forwardedShare.get(r.service)!;
    return r.plan.capacityPerSec * Math.min(1, arrives / capAt.get(r.service)!.get(server)!);
  });
}

/**
 * Items/s each replica serves: the rate its balancer brings it (`load`, at most its capacity), scaled by `1/U` on
 * a device whose summed utilization `U` exceeds 1. With `spec`, shared devices run each batch `1 + slowdown` times
 * longer and a replica whose deadline the round-robin cycle breaks serves nothing within SLO.
 */
function served(
  placed: readonly Replica[],
  load: readonly number[],
  devices: readonly BaselineDevice[],
  spec: ((id: string) => ServiceSpec) | null,
  slowdown = 0,
  residualBlocking = false,
): { total: number; perService: Map<string, number> } {
  const sharers = new Uint32Array(devices.length);
  for (const r of placed) for (const d of r.devices) sharers[d]!++;
  const runMs = (r: Replica): number => {
    if (!spec || r.devices.every((d) => sharers[d]! <= 1)) return r.plan.runMs;
    return r.plan.runMs * (1 + (spec(r.service).colocationSlowdown ?? slowdown));
  };
  const util = new Float64Array(devices.length);
  const cycle = new Float64Array(devices.length);
  const longest = new Float64Array(devices.length);
  const own = placed.map((r, i) => (load[i]! * runMs(r)) / (1000 * r.plan.batchSize * (r.plan.serviceStrategy === 'data-parallel' ? r.plan.devices : 1)));
  placed.forEach((r, i) => {
    for (const d of r.devices) (util[d] = util[d]! + own[i]!), (cycle[d] = cycle[d]! + runMs(r)), (longest[d] = Math.max(longest[d]!, runMs(r)));
  });
  // Residual blocking (placement's `residualBlocking`): a latency replica on a shared device waits for the longest
  // run there, and the others keep `ρ_o` of the device busy: `B + L ≤ D (1 − ρ_o)` on each of its shared devices.
  const blocked = (r: Replica, i: number): boolean => {
    const s = spec!(r.service);
    if (!residualBlocking || s.slo.kind !== 'latency') return false;
    const budget = s.slo.deadlineMs - (s.networkBudgetMs ?? 0);
    return r.devices.some((d) => sharers[d]! > 1 && longest[d]! + runMs(r) > budget * (1 - (util[d]! - own[i]!)) * (1 + 1e-9));
  };
  const perService = new Map<string, number>();
  let total = 0;
  placed.forEach((r, i) => {
    let got = load[i]! / Math.max(1, ...r.devices.map((d) => util[d]!));
    if (spec && r.devices.some((d) => sharers[d]! > 1) && (!meetsSlo(spec(r.service), r, runMs(r), Math.max(...r.devices.map((d) => cycle[d]!)), load[i]!) || blocked(r, i))) got = 0;
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
