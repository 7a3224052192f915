import type { ParallelPlan } from '../../allocation/plan.js';
import { totalDemandRate } from '../../model/demand.js';
import type { ServiceSpec } from '../../model/service.js';
import type { PlacedInstance, PlacementInput } from '../types.js';
import { batchSizes, chunk, growShares, num, row, wrap, type HighsSolver } from './milp-helpers.js';

export type { HighsSolver } from './milp-helpers.js';

/**
 * An exact reference for mid-size placement instances: a mixed-integer linear program solved by HiGHS
 * (WebAssembly, the `highs` package). Written from the constraint rules stated in docs/placement.md, without the
 * production helpers (no templates, footprints, resources or duty-cycle code): locality off, multi-task on,
 * stateless (no current placement, no switching cost).
 *
 * Variables: `x[i,d]` ∈ {0,1} puts single-device item `i` (a service's plan, at batch `b`, `b/2` or `b/4`,
 * claiming a share in {@link MILP_SHARES} of its rate) on device `d`; `y[g,d]` ∈ {0,1} gives device `d`
 * to exclusive group plan `g`, `n[g,s]` ∈ ℕ counts `g`'s instances on server `s` (`Σ_d∈s y = devices × n`);
 * `v[k]` is service `k`'s served rate, `h[k] ≤ min(v[k], forecast)` its forecast part (valued `1 − δ` more than the
 * headroom beyond it, with `δ = headroomValue` < 1 and `forecast = demand ÷ demandHeadroom`), `f[k] ≤ min(v[k], floor × demand)` its floor part (with `floorFairShare`, the floor at most the service's equal share of the devices).
 *
 * Constraints per device: memory; a group's device holds nothing else; one item per service; the round-robin
 * duty cycle, linear because shares are discrete: an item with cycle limit `lim` (rate `≤ b/C`, latency
 * `C + L ≤ D`, frequency `(b − 1)/rate + C + L ≤ S`) needs the other items' `Σ L ≤ max(0, lim − L)` — a lone
 * item always fits; with `residualBlocking`, a shared latency item's `B + L ≤ D (1 − ρ_o)` per pair of items. Objective: `max Σ w_k (δ v_k + (1 − δ) h_k + bonus × f_k)`.
 */

/** Time shares the reference offers to single-device items. */
const GB = 1024 ** 3;

/** Time shares the reference offers to single-device items. */
export const MILP_SHARES: readonly number[] = [1, 1 / 2, 1 / 4, 1 / 8];

/** The objective and interference to model (the placement options of the same names). */
export interface MilpValue {
  /**
   * `'per-item'`: an item is worth `spec.weight`; `'offered-load'`: `spec.weight × mean demand ÷ demand`;
   * `'floors-by-load'`: per item, and an item within the floor `spec.weight × mean demand ÷ demand × (1 + bonus)`.
   */
  readonly valueWeighting: 'offered-load' | 'per-item' | 'floors-by-load';
  /** Fraction of each service's demand that earns the floor bonus. */
  readonly minServedShare: number;
  /** Extra value of an item within the floor, as a multiple of the weight. */
  readonly floorBonus: number;
  /**
   * Cap each floor at what the service's equal share of the healthy devices serves: every device on the service's
   * best plan of its kind that fits (capacity ÷ devices of the plan), summed, ÷ the services with demand.
   */
  readonly floorFairShare?: boolean;
  /** Shared-device run-time slowdown (a service's own `colocationSlowdown` overrides it). */
  readonly colocationSlowdown: number;
  /** Price latency items for residual blocking on a shared device (the placement option). @default false */
  readonly residualBlocking?: boolean;
  /**
   * Value of an item beyond the forecast (the input's `demandHeadroom`: forecast = demand ÷ headroom) as a fraction
   * of one within it (the placement option). @default 1
   */
  readonly headroomValue?: number;
}

/** Result of {@link solvePlacementMilp}. */
export interface MilpOutcome {
  /** HiGHS model status, e.g. `Optimal` or `Time limit reached`. */
  readonly status: string;
  /** True when HiGHS proved optimality (relative gap ≤ 1e-4). */
  readonly optimal: boolean;
  readonly value: number;
  /** The optimal placement as instances (for an independent feasibility check). */
  readonly instances: readonly PlacedInstance[];
  /** The optimum with every share grown to its device's cycle limit (feasible; at least `value`). */
  readonly grownValue: number;
  readonly grownInstances: readonly PlacedInstance[];
  readonly binaries: number;
}

interface Item {
  readonly name: string;
  readonly service: number;
  readonly plan: ParallelPlan;
  readonly rate: number;
  readonly mem: number;
  /** Run time on a shared device (with interference), ms. */
  readonly run: number;
  /** The cycle limit minus its own run: the others' total run time it tolerates. */
  readonly room: number;
  /** Device share it keeps busy when shared, `rate × run / b`. */
  readonly busy: number;
  /** A latency item priced for residual blocking: its budget `D` (deadline − network budget), else 0. */
  readonly waitBudget: number;
}

interface Group {
  readonly name: string;
  readonly service: number;
  readonly plan: ParallelPlan;
  readonly mem: number;
}


/** Builds and solves the MILP; `highs` is the loaded `highs` module. */
export function solvePlacementMilp(highs: HighsSolver, input: PlacementInput, value: MilpValue, opts: { reserveFraction?: number; timeLimitSec?: number } = {}): MilpOutcome {
  const reserve = opts.reserveFraction ?? 0.1;
  const devices = input.servers.flatMap((s, si) =>
    s.healthy === false ? [] : s.devices.filter((d) => d.healthy !== false).map((d) => ({ server: si, id: d.id, kind: d.kind, usable: d.memoryBytes * (1 - reserve) })),
  );
  const demandOf = input.services.map((s) => {
    const d = input.demand.find((x) => x.serviceId === s.id);
    return d ? totalDemandRate(d) : 0;
  });
  const loaded = demandOf.filter((d) => d > 0);
  const meanDemand = loaded.reduce((a, b) => a + b, 0) / Math.max(1, loaded.length);
  const weight = input.services.map((s, k) => {
    if (!(demandOf[k]! > 0)) return 0;
    const w = s.weight ?? 1;
    return value.valueWeighting === 'offered-load' ? (w * meanDemand) / demandOf[k]! : w;
  });
  const slow = input.services.map((s) => 1 + (s.colocationSlowdown ?? value.colocationSlowdown));
  const items: Item[] = [];
  const groups: Group[] = [];
  input.services.forEach((spec, k) => {
    if (!(demandOf[k]! > 0 && weight[k]! > 0)) return;
    for (const plan of input.plans[spec.id] ?? []) {
      if (plan.serviceStrategy !== 'single' || plan.devices > 1) {
        const weights = plan.serviceStrategy === 'model-parallel' ? spec.memory.weightsBytes / plan.devices : spec.memory.weightsBytes;
        groups.push({ name: `g${groups.length}`, service: k, plan, mem: Math.max(plan.memoryPerDeviceBytes, weights + spec.memory.perItemBytes * plan.batchSize) });
        continue;
      }
      for (const p of batchSizes(spec, plan)) {
        for (const share of MILP_SHARES) {
          const rate = share * p.capacityPerSec;
          const fill = spec.slo.kind === 'frequency' ? ((p.batchSize - 1) * 1000) / rate : 0;
          const sloMs = spec.slo.kind === 'latency' ? spec.slo.deadlineMs : spec.slo.stalenessMs;
          const shared = p.runMs * slow[k]!;
          const lim = Math.min((1000 * p.batchSize) / rate, sloMs - (spec.networkBudgetMs ?? 0) - shared - fill);
          const mem = Math.max(p.memoryPerDeviceBytes, spec.memory.weightsBytes + spec.memory.perItemBytes * p.batchSize);
          // A partial share that can share with nothing only runs alone, where the full share serves more.
          if (share < 1 && lim - shared <= 0) continue;
          const waitBudget = value.residualBlocking === true && spec.slo.kind === 'latency' ? sloMs - (spec.networkBudgetMs ?? 0) : 0;
          items.push({ name: `i${items.length}`, service: k, plan: p, rate, mem, run: shared, room: (lim - shared) * (1 + 1e-9), busy: (rate * shared) / (1000 * p.batchSize), waitBudget });
        }
      }
    }
  });
  const rows: string[] = [];
  const binaries: string[] = [];
  const generals: string[] = [];
  const supply: string[][] = input.services.map(() => []);
  const onDevice = devices.map(() => ({ items: [] as Item[], groups: [] as Group[] }));
  devices.forEach((dev, d) => {
    for (const it of items) if (it.plan.deviceKind === dev.kind && it.mem <= dev.usable * (1 + 1e-9)) onDevice[d]!.items.push(it);
    for (const g of groups) if (g.plan.deviceKind === dev.kind && g.mem <= dev.usable * (1 + 1e-9)) onDevice[d]!.groups.push(g);
  });
  devices.forEach((dev, d) => {
    const { items: its, groups: gs } = onDevice[d]!;
    const x = (it: Item): string => `x_${it.name}_${d}`;
    const y = (g: Group): string => `y_${g.name}_${d}`;
    for (const it of its) binaries.push(x(it)), supply[it.service]!.push(`${num(it.rate)} ${x(it)}`);
    for (const g of gs) binaries.push(y(g));
    if (its.length > 0) rows.push(row([...its.map((it) => `${num(it.mem)} ${x(it)}`)], `<= ${num(dev.usable * (1 + 1e-9))}`));
    if (gs.length > 0) {
      rows.push(row(gs.map(y), '<= 1'));
      if (its.length > 0) rows.push(row([...its.map(x), ...gs.map((g) => `${its.length} ${y(g)}`)], `<= ${its.length}`));
    }
    const byService = new Map<number, Item[]>();
    for (const it of its) byService.set(it.service, [...(byService.get(it.service) ?? []), it]);
    for (const list of byService.values()) if (list.length > 1) rows.push(row(list.map(x), '<= 1'));
    for (const it of its) {
      const others = its.filter((o) => o.service !== it.service);
      if (others.length === 0) continue;
      const room = Math.max(0, it.room);
      const big = others.reduce((s, o) => s + o.run, 0) - room;
      if (big <= 0) continue;
      rows.push(row([...others.map((o) => `${num(o.run)} ${x(o)}`), `${num(big)} ${x(it)}`], `<= ${num(room + big)}`));
    }
    // Residual blocking: a shared latency item k needs B + L_k ≤ D_k (1 − ρ_o), B the longest run on the device and
    // ρ_o = Σ others' busy share. Linear per pair: with k shared, D_k ρ_o + 2 L_k ≤ D_k; with k and a longer j,
    // D_k ρ_o + L_j + L_k ≤ D_k (big-M terms switch each row off when its items are absent).
    for (const it of its) {
      if (!(it.waitBudget > 0)) continue;
      const D = it.waitBudget * (1 + 1e-9);
      const others = its.filter((o) => o.service !== it.service);
      if (others.length === 0) continue;
      const rho = others.map((o) => `${num(D * o.busy)} ${x(o)}`);
      const rhoMax = others.reduce((sum, o) => sum + D * o.busy, 0);
      if (2 * it.run > D) rows.push(row([...others.map(x), `${others.length} ${x(it)}`], `<= ${others.length}`));
      else if (rhoMax + 2 * it.run > D) {
        const big = rhoMax + 2 * it.run - D;
        rows.push(row([...rho, `${num(big)} ${x(it)}`], `<= ${num(D - 2 * it.run + big)}`));
      }
      for (const j of others) {
        if (j.run <= it.run || rhoMax + j.run + it.run <= D) continue;
        const big = rhoMax + j.run + it.run;
        rows.push(row([...rho, `${num(big)} ${x(it)}`, `${num(big)} ${x(j)}`], `<= ${num(D - j.run - it.run + 2 * big)}`));
      }
    }
  });
  // Symmetry breaking: identical devices of a server, and servers with identical devices, are interchangeable
  // (no locality), so order them by memory in use (largest first).
  const load = (d: number): string[] => [
    ...onDevice[d]!.items.map((it) => `${num(it.mem / GB)} x_${it.name}_${d}`),
    ...onDevice[d]!.groups.map((g) => `${num(g.mem / GB)} y_${g.name}_${d}`),
  ];
  const diff = (a: string[], b: string[]): string | null => (a.length + b.length === 0 ? null : row([...a, ...b.map((t) => `-${t}`)], '>= 0'));
  devices.forEach((dev, d) => {
    const prev = devices[d - 1];
    if (d > 0 && prev!.server === dev.server && prev!.kind === dev.kind && prev!.usable === dev.usable) {
      const r = diff(load(d - 1), load(d));
      if (r) rows.push(r);
    }
  });
  const signature = input.servers.map((s) => (s.healthy === false ? '' : s.devices.filter((d) => d.healthy !== false).map((d) => `${d.kind}/${d.memoryBytes}`).join(',')));
  const serverDevices = input.servers.map((_, si) => devices.flatMap((dev, d) => (dev.server === si ? [d] : [])));
  for (let si = 1; si < input.servers.length; si++) {
    const sj = signature.lastIndexOf(signature[si]!, si - 1);
    if (sj < 0 || signature[si] === '') continue;
    const r = diff(serverDevices[sj]!.flatMap(load), serverDevices[si]!.flatMap(load));
    if (r) rows.push(r);
  }
  input.servers.forEach((_, si) => {
    for (const g of groups) {
      const ds = devices.map((dev, d) => ({ dev, d })).filter(({ dev, d }) => dev.server === si && onDevice[d]!.groups.includes(g));
      if (ds.length < g.plan.devices) {
        for (const { d } of ds) rows.push(`y_${g.name}_${d} = 0`);
        continue;
      }
      const n = `n_${g.name}_${si}`;
      generals.push(n);
      rows.push(row([...ds.map(({ d }) => `y_${g.name}_${d}`), `-${g.plan.devices} ${n}`], '= 0'));
      supply[g.service]!.push(`${num(g.plan.capacityPerSec)} ${n}`);
    }
  });
  const floorShare = value.minServedShare;
  const bonus = value.floorBonus;
  const floorOf = input.services.map((spec, k) => {
    const floor = floorShare * demandOf[k]!;
    if (value.floorFairShare !== true) return floor;
    let share = 0;
    for (const dev of devices) {
      const fits = (input.plans[spec.id] ?? []).filter((p) => p.deviceKind === dev.kind && p.memoryPerDeviceBytes <= dev.usable);
      share += Math.max(0, ...fits.map((p) => p.capacityPerSec / p.devices));
    }
    return Math.min(floor, share / loaded.length);
  });
  // Backlog is not modelled here (stateless): every item of demand is forecast × headroom.
  const delta = value.headroomValue ?? 1;
  const forecastOf = demandOf.map((d) => d / (input.demandHeadroom ?? 1));
  const obj: string[] = [];
  const bounds: string[] = [];
  input.services.forEach((_, k) => {
    if (!(weight[k]! > 0) || supply[k]!.length === 0) return;
    if (delta > 0) obj.push(`${num(weight[k]! * delta)} v${k}`);
    bounds.push(`0 <= v${k} <= ${num(demandOf[k]!)}`);
    rows.push(row([`v${k}`, ...supply[k]!.map((t) => `-${t}`)], '<= 0'));
    if (delta < 1) {
      obj.push(`${num(weight[k]! * (1 - delta))} h${k}`);
      bounds.push(`0 <= h${k} <= ${num(forecastOf[k]!)}`);
      rows.push(`h${k} - v${k} <= 0`);
    }
    // Floors by load: the floor's extra value makes a floor item worth its offered-load value with the bonus.
    const floorBonus = value.valueWeighting === 'floors-by-load' ? Math.max(0, (meanDemand / demandOf[k]!) * (1 + bonus) - 1) : bonus;
    if (floorBonus > 0 && floorShare > 0) {
      obj.push(`${num(weight[k]! * floorBonus)} f${k}`);
      bounds.push(`0 <= f${k} <= ${num(floorOf[k]!)}`);
      rows.push(`f${k} - v${k} <= 0`);
    }
  });
  if (obj.length === 0) return { status: 'Optimal', optimal: true, value: 0, instances: [], grownValue: 0, grownInstances: [], binaries: 0 };
  const lp = [
    'Maximize',
    ` obj: ${wrap(obj.join(' + '))}`,
    'Subject To',
    ...rows.map((r, i) => ` c${i}: ${wrap(r)}`),
    'Bounds',
    ...bounds.map((b) => ` ${b}`),
    ...generals.map((g) => ` 0 <= ${g} <= 64`),
    ...(binaries.length ? ['Binary', ...chunk(binaries).map((c) => ` ${c}`)] : []),
    ...(generals.length ? ['General', ...chunk(generals).map((c) => ` ${c}`)] : []),
    'End',
  ].join('\n');
  const res = highs.solve(lp, { output_flag: false, mip_rel_gap: 1e-4, time_limit: opts.timeLimitSec ?? 30, threads: 1 });
  const optimal = res.Status === 'Optimal';
  const col = (n: string): number => res.Columns[n]?.Primal ?? 0;
  const instances: PlacedInstance[] = [];
  if (optimal) {
    devices.forEach((dev, d) => {
      for (const it of onDevice[d]!.items) {
        if (col(`x_${it.name}_${d}`) < 0.5) continue;
        const spec = input.services[it.service]!;
        instances.push({ instanceId: `${it.name}@${d}`, serviceId: spec.id, plan: it.plan, serverId: input.servers[dev.server]!.id, deviceIds: [dev.id], capacityPerSec: it.rate });
      }
    });
    input.servers.forEach((srv, si) => {
      for (const g of groups) {
        const ds = devices.map((dev, d) => ({ dev, d })).filter(({ dev, d }) => dev.server === si && col(`y_${g.name}_${d}`) > 0.5);
        for (let j = 0; j + g.plan.devices <= ds.length; j += g.plan.devices) {
          const spec = input.services[g.service]!;
          instances.push({ instanceId: `${g.name}@${si}#${j}`, serviceId: spec.id, plan: g.plan, serverId: srv.id, deviceIds: ds.slice(j, j + g.plan.devices).map((x) => x.dev.id) });
        }
      }
    });
  }
  const specOf = (id: string): ServiceSpec => input.services.find((s) => s.id === id)!;
  const blocking = (id: string): boolean => value.residualBlocking === true && specOf(id).slo.kind === 'latency';
  const grown = optimal ? growShares(instances, (id) => slow[input.services.findIndex((s) => s.id === id)]!, blocking) : [];
  const valueOf = (list: readonly PlacedInstance[]): number => {
    const cap = new Map<string, number>();
    for (const inst of list) cap.set(inst.serviceId, (cap.get(inst.serviceId) ?? 0) + (inst.capacityPerSec ?? inst.plan.capacityPerSec));
    return input.services.reduce((sum, s, k) => {
      const served = Math.min(demandOf[k]!, cap.get(s.id) ?? 0);
      return sum + weight[k]! * (delta * served + (1 - delta) * Math.min(served, forecastOf[k]!) + bonus * Math.min(served, floorOf[k]!));
    }, 0);
  };
  return {
    status: res.Status,
    optimal,
    value: optimal ? res.ObjectiveValue : Number.NaN,
    instances,
    grownValue: optimal ? Math.max(res.ObjectiveValue, valueOf(grown)) : Number.NaN,
    grownInstances: grown,
    binaries: binaries.length,
  };
}
