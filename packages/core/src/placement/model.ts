import { invalidOption } from '../errors/epara-error.js';
import type { ParallelPlan } from '../allocation/plan.js';
import type { ServerSpec } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import type { ResolvedPlacementOptions } from './options.js';
import type { PlacementInput } from './types.js';

/** A device as placement sees it (indexes, usable memory after the reserve). */
export interface DeviceNode {
  readonly server: number;
  readonly id: string;
  readonly kind: string;
  readonly usableBytes: number;
  readonly healthy: boolean;
}

/** Healthy devices of one server that are interchangeable (same kind, memory and speed). */
export interface DeviceClass {
  readonly server: number;
  readonly kind: string;
  readonly usableBytes: number;
  readonly devices: readonly number[];
}

/** A service with its demand flattened per access server. */
export interface ServiceNode {
  readonly index: number;
  readonly id: string;
  readonly spec: ServiceSpec;
  /**
   * Value of one served item: `spec.weight` × (with `valueWeighting: 'offered-load'`) the mean demand of the
   * services with demand ÷ this service's demand, so every service's full demand is worth the same.
   */
  readonly weight: number;
  /**
   * Items/s of forecast demand: the request and stream rates ÷ the input's `demandHeadroom`, plus backlog. Items
   * served beyond it are headroom, worth `headroomValue` of an item.
   */
  readonly forecastPerSec: number;
  /** Value of an item of headroom (served beyond `forecastPerSec`) as a fraction of `weight`. */
  readonly headroomValue: number;
  /** Items/s of demand that earn the floor bonus: `minServedShare × totalDemand`, with `floorFairShare` at most the service's equal share of the devices ({@link fairShareCapacity} ÷ services with demand). */
  readonly floorPerSec: number;
  /**
   * Extra value of an item within the floor, as a multiple of `weight`: the `floorBonus` option, or with
   * `valueWeighting: 'floors-by-load'` what makes a floor item worth its offered-load value with that bonus.
   */
  readonly floorBonus: number;
  /** Run-time slowdown when the device is shared: each batch takes `runMs × (1 + slowdown)`. */
  readonly slowdown: number;
  readonly latencySensitive: boolean;
  /** A latency service priced for residual blocking on a shared device (`residualBlocking` option). */
  readonly blocking: boolean;
  /** `D = deadline (or staleness) − networkBudget` for the duty-cycle check. */
  readonly cycleBudgetMs: number;
  /** Deadline (latency) or staleness limit (frequency): the locality reach budget. */
  readonly sloMs: number;
  readonly loadTimeMs: number;
  readonly access: readonly string[];
  readonly accessRate: readonly number[];
  /**
   * Per access server (aligned with `access`): the slack its items have left when they reach it, ascending, each
   * value an equal share of that server's items (the input's `arrivalSlackMs`); null where none was given.
   */
  readonly arrivalSlack: readonly (readonly number[] | null)[];
  /**
   * Per access server (aligned with `access`), by server index: what an item entering there spends outside the
   * run when served at that server — the round trip plus, when the input gives `transferMs`, its payload's and
   * result's time on the links. The locality reach test: `reachRows[i][s] + plan latency ≤ sloMs`.
   */
  readonly reachRows: readonly Float64Array[];
  /** Its demand is split by arrival slack (`slackReach`, a tight latency service with slack given). */
  readonly slackSplit: boolean;
  readonly totalDemand: number;
  readonly plans: readonly ParallelPlan[];
}

/** The validated, indexed input the placement algorithm works on. */
export interface PlacementModel {
  readonly servers: readonly ServerSpec[];
  readonly serverIndex: ReadonlyMap<string, number>;
  readonly serverHealthy: readonly boolean[];
  readonly devices: readonly DeviceNode[];
  /** Key `serverIndex:deviceId`. */
  readonly deviceIndex: ReadonlyMap<string, number>;
  readonly classes: readonly DeviceClass[];
  readonly services: readonly ServiceNode[];
  readonly serviceIndex: ReadonlyMap<string, number>;
  /** `delay(access→server) + delay(server→access)`, ms (Infinity = unreachable). */
  roundTripMs(access: string, server: number): number;
  /** Round trips from `access` to every server, by server index (computed once per access server). */
  roundTripRow(access: string): Float64Array;
}

/** Builds the {@link PlacementModel} from validated input. */
export function buildPlacementModel(input: PlacementInput, options: ResolvedPlacementOptions): PlacementModel {
  const serverIndex = new Map<string, number>();
  const serverHealthy: boolean[] = [];
  const devices: DeviceNode[] = [];
  const deviceIndex = new Map<string, number>();
  const classes: DeviceClass[] = [];
  input.servers.forEach((s, si) => {
    serverIndex.set(s.id, si);
    const up = s.healthy !== false;
    serverHealthy.push(up);
    const byKey = new Map<string, number[]>();
    for (const d of s.devices) {
      const healthy = up && d.healthy !== false;
      const node: DeviceNode = { server: si, id: d.id, kind: d.kind, usableBytes: d.memoryBytes * (1 - options.reserveFraction), healthy };
      deviceIndex.set(`${si}:${d.id}`, devices.length);
      if (healthy) {
        const key = `${d.kind}\u0000${d.memoryBytes}\u0000${d.speedClass ?? 1}`;
        const list = byKey.get(key) ?? [];
        list.push(devices.length);
        byKey.set(key, list);
      }
      devices.push(node);
    }
    // Smallest devices first: on equal gain per cost the greedy then fills the device that fits most tightly and
    // keeps large devices for the models only they can hold.
    const mine = [...byKey.values()].map((list) => {
      const first = devices[list[0]!]!;
      return { server: si, kind: first.kind, usableBytes: first.usableBytes, devices: list };
    });
    classes.push(...mine.sort((a, b) => a.usableBytes - b.usableBytes));
  });
  const roundTripRow = createRoundTrip(input);
  const services = buildServices(input, options, devices, roundTripRow);
  const serviceIndex = new Map(services.map((s) => [s.id, s.index]));
  return {
    servers: input.servers,
    serverIndex,
    serverHealthy,
    devices,
    deviceIndex,
    classes,
    services,
    serviceIndex,
    roundTripRow,
    roundTripMs: (access, server) => roundTripRow(access)[server]!,
  };
}

function buildServices(input: PlacementInput, options: ResolvedPlacementOptions, devices: readonly DeviceNode[], roundTripRow: (access: string) => Float64Array): ServiceNode[] {
  const periodMs = options.periodMs;
  const periodBacklog = new Map<string, Map<string, number>>();
  for (const c of input.current ?? []) {
    if (!c.backlogItems) continue;
    const m = periodBacklog.get(c.serviceId) ?? new Map<string, number>();
    m.set(c.serverId, (m.get(c.serverId) ?? 0) + c.backlogItems);
    periodBacklog.set(c.serviceId, m);
  }
  const demandById = new Map(input.demand.map((d) => [d.serviceId, d]));
  const slackSplit = options.slackReach && options.locality && input.delaysMs !== undefined;
  const headroom = input.demandHeadroom ?? 1;
  const nodes = input.services.map((spec, index) => {
    const rates = new Map<string, number>();
    const add = (a: string, r: number): void => {
      if (r > 0) rates.set(a, (rates.get(a) ?? 0) + r);
    };
    const d = demandById.get(spec.id);
    if (d) {
      for (const [a, r] of Object.entries(d.ratePerServer)) add(a, r);
      for (const s of d.streams ?? []) add(s.accessServer, s.rateHz);
    }
    let planned = 0;
    for (const r of rates.values()) planned += r;
    // A queue backlog must drain within the next period on top of new arrivals: items / period.
    let backlog = 0;
    for (const [a, items] of periodBacklog.get(spec.id) ?? []) {
      add(a, (items * 1000) / periodMs);
      backlog += (items * 1000) / periodMs;
    }
    const latency = spec.slo.kind === 'latency';
    const sloMs = spec.slo.kind === 'latency' ? spec.slo.deadlineMs : spec.slo.stalenessMs;
    const slackOf = input.arrivalSlackMs?.[spec.id];
    const sorted = [...rates.keys()].sort();
    const lists = sorted.map((a) => {
      const list = slackOf?.[a];
      return list !== undefined && list.length > 0 ? [...list].sort((x, y) => x - y) : null;
    });
    // With `slackReach` a demand node per access server and slack step for a tight service (one whose deadline
    // the round trips can take half of); otherwise one per access server.
    const split = slackSplit && latency && sloMs <= 2 * farthestRoundTrip(sorted, roundTripRow);
    const access: string[] = [];
    const accessRate: number[] = [];
    const arrivalSlack: (number[] | null)[] = [];
    const lateness: number[] = [];
    sorted.forEach((a, i) => {
      const list = lists[i]!;
      if (!split || list === null) {
        access.push(a);
        accessRate.push(rates.get(a)!);
        arrivalSlack.push(list);
        lateness.push(0);
        return;
      }
      const step = Math.max(options.nearDemandTolerance, 1e-6) * sloMs;
      let at = 0;
      while (at < list.length) {
        const late = Math.max(0, Math.floor((sloMs - list[at]!) / step) * step);
        let end = at + 1;
        while (end < list.length && Math.max(0, Math.floor((sloMs - list[end]!) / step) * step) === late) end++;
        access.push(a);
        accessRate.push((rates.get(a)! * (end - at)) / list.length);
        arrivalSlack.push(list.slice(at, end));
        lateness.push(late);
        at = end;
      }
    });
    return {
      index,
      id: spec.id,
      spec,
      weight: spec.weight ?? 1,
      forecastPerSec: planned / headroom + backlog,
      headroomValue: options.headroomValue,
      floorPerSec: 0,
      floorBonus: options.floorBonus,
      slowdown: spec.colocationSlowdown ?? options.colocationSlowdown,
      latencySensitive: latency,
      blocking: latency && options.residualBlocking,
      cycleBudgetMs: sloMs - (spec.networkBudgetMs ?? 0),
      sloMs,
      loadTimeMs: spec.loadTimeMs ?? 0,
      access,
      accessRate,
      arrivalSlack,
      slackSplit: split && lateness.some((l) => l > 0),
      reachRows: options.locality && input.delaysMs !== undefined ? access.map((a, i) => withLateness(reachRow(input, spec.id, a, roundTripRow(a)), lateness[i]!)) : [],
      totalDemand: accessRate.reduce((x, y) => x + y, 0),
      plans: input.plans[spec.id] ?? [],
    };
  });
  const loaded = nodes.filter((n) => n.totalDemand > 0);
  const mean = loaded.reduce((s, n) => s + n.totalDemand, 0) / Math.max(1, loaded.length);
  return nodes.map((n) => {
    const floor = options.minServedShare * n.totalDemand;
    return {
      ...n,
      weight: options.valueWeighting === 'offered-load' && n.totalDemand > 0 ? (n.weight * mean) / n.totalDemand : n.weight,
      // Floors valued per offered load, items beyond them per item: a floor item is worth `weight × (1 + floorBonus)`,
      // the offered-load value of an item with the bonus, `weight × mean ÷ demand × (1 + bonus)`.
      floorBonus: options.valueWeighting === 'floors-by-load' && n.totalDemand > 0 ? Math.max(0, (mean / n.totalDemand) * (1 + n.floorBonus) - 1) : n.floorBonus,
      floorPerSec: options.floorFairShare && floor > 0 ? Math.min(floor, fairShareCapacity(n.plans, devices) / loaded.length) : floor,
    };
  });
}

/**
 * Items/s a service's plans would serve on every healthy device, each device on the service's best plan for its
 * kind that fits its memory (capacity per device of the plan); 0 on a device no plan fits. Divided by the number
 * of services with demand, it is what the service's equal share of the devices would serve.
 */
export function fairShareCapacity(plans: readonly ParallelPlan[], devices: readonly DeviceNode[]): number {
  let total = 0;
  for (const d of devices) {
    if (!d.healthy) continue;
    let best = 0;
    for (const p of plans) {
      if (p.deviceKind !== d.kind || p.memoryPerDeviceBytes > d.usableBytes) continue;
      best = Math.max(best, p.capacityPerSec / Math.max(1, p.devices));
    }
    total += best;
  }
  return total;
}

/** The longest finite round trip from any of `access` to any server, ms (0 when none is finite). */
function farthestRoundTrip(access: readonly string[], roundTripRow: (access: string) => Float64Array): number {
  let far = 0;
  for (const a of access) for (const v of roundTripRow(a)) if (Number.isFinite(v) && v > far) far = v;
  return far;
}

/** `row` plus `lateMs` (a copy; `row` itself when 0): an item arriving that late has that much less for the way and the run. */
function withLateness(row: Float64Array, lateMs: number): Float64Array {
  if (lateMs === 0) return row;
  const out = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = row[i]! + lateMs;
  return out;
}

/** `roundTrip` (shared, not copied) or, with the input's `transferMs`, a copy plus each server's transfer time. */
function reachRow(input: PlacementInput, serviceId: string, access: string, roundTrip: Float64Array): Float64Array {
  const transfer = input.transferMs;
  if (transfer === undefined) return roundTrip;
  const row = new Float64Array(roundTrip.length);
  for (let i = 0; i < row.length; i++) {
    const to = input.servers[i]!.id;
    const v = transfer(serviceId, access, to);
    if (!(typeof v === 'number' && v >= 0)) invalidOption(`transferMs(${serviceId}, ${access}, ${to})`, v, 'a number ≥ 0');
    row[i] = roundTrip[i]! + v;
  }
  return row;
}

function createRoundTrip(input: PlacementInput): (access: string) => Float64Array {
  const delays = input.delaysMs;
  const ids = input.servers.map((s) => s.id);
  const one = (from: string, to: string): number => {
    if (delays === undefined) return 0;
    if (typeof delays === 'function') {
      const v = delays(from, to);
      if (!(typeof v === 'number' && v >= 0)) invalidOption(`delaysMs(${from}, ${to})`, v, 'a number ≥ 0');
      return v;
    }
    if (from === to) return delays[from]?.[to] ?? 0;
    return delays[from]?.[to] ?? Number.POSITIVE_INFINITY;
  };
  const cache = new Map<string, Float64Array>();
  return (access) => {
    let row = cache.get(access);
    if (!row) {
      // A plain loop: `Float64Array.from` with a map function stepped the ids' iterator, a result object per server.
      row = new Float64Array(ids.length);
      for (let i = 0; i < ids.length; i++) row[i] = one(access, ids[i]!) + one(ids[i]!, access);
      cache.set(access, row);
    }
    return row;
  };
}
