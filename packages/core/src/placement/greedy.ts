import type { ParallelPlan } from '../allocation/plan.js';
import { chooseDevices, type Template } from './candidates.js';
import { createMaxHeap } from './max-heap.js';
import type { PlacementModel } from './model.js';
import { createObjective, type Objective } from './objective.js';
import type { PlacementRunOptions } from './options.js';
import { createResources, type ItemFootprint, type Resources } from './resources.js';
import type { PlacedInstance } from './types.js';
import { serviceValue, valueGain } from './value.js';

/** An item in the placement being built: a kept current instance or a new one from a template. */
export interface Chosen {
  readonly template: Template | null;
  readonly current: PlacedInstance | null;
  readonly service: number;
  readonly plan: ParallelPlan;
  readonly devices: readonly number[];
  readonly foot: ItemFootprint;
  /** Penalty paid for loading it (0 for kept instances). */
  readonly penalty: number;
  readonly handle: number;
  removed: boolean;
}

/** Mutable state of one greedy run. */
export interface BuildState {
  readonly resources: Resources;
  readonly objective: Objective;
  readonly chosen: Chosen[];
  /** Per template: the first of its pools that may still fit (see {@link chooseDevices}). */
  readonly cursors: Int32Array;
  evaluations: number;
}

/** What every greedy run shares. */
export interface GreedyContext {
  readonly model: PlacementModel;
  readonly options: PlacementRunOptions;
  readonly templates: readonly Template[];
}

/** A fresh, empty build state. */
export function createBuildState(ctx: GreedyContext): BuildState {
  return {
    resources: createResources(ctx.model.devices),
    objective: createObjective(ctx.model, ctx.options.locality),
    chosen: [],
    cursors: new Int32Array(ctx.templates.length),
    evaluations: 0,
  };
}

/** Places an item on `devices` and records it. */
export function commitItem(state: BuildState, item: Omit<Chosen, 'handle' | 'removed'>, capacityPerSec: number, ctx: GreedyContext): void {
  state.chosen.push({ ...item, handle: addSupply(ctx, state, item, capacityPerSec), removed: false });
}

/** Claims an item's devices and adds its capacity to the objective; returns the objective handle. */
export function addSupply(ctx: GreedyContext, state: BuildState, item: Pick<Chosen, 'service' | 'plan' | 'devices' | 'foot'>, capacityPerSec: number): number {
  state.resources.add(item.devices, item.foot);
  return state.objective.add({
    service: item.service,
    server: ctx.model.devices[item.devices[0]!]!.server,
    latencyMs: item.plan.expectedLatencyMs,
    capacityPerSec,
  });
}

/** Weighted marginal gain of a template's item now, minus its switching cost. */
export function netGain(ctx: GreedyContext, state: BuildState, t: Template): number {
  const gain = state.objective.gain({ service: t.service, server: t.server, latencyMs: t.plan.expectedLatencyMs, capacityPerSec: t.foot.capacityPerSec });
  return valueGain(ctx.model.services[t.service]!, state.objective.served(t.service), gain) - t.penalty;
}

/** What {@link evaluate} returns: one object, overwritten by the next call (every caller reads it at once). */
interface Evaluation {
  net: number;
  devices: readonly number[];
}

const EVALUATION: Evaluation = { net: 0, devices: [] };
const NO_DEVICES: readonly number[] = Object.freeze([]);
const CURSOR = { at: 0 };

/**
 * Weighted marginal gain minus switching cost of a template now, with its devices; null when it cannot fit.
 * When the net gain is at most `epsilon` the devices are not searched (and returned empty). The result is
 * overwritten by the next call: read it at once (the devices array itself is the caller's to keep).
 */
export function evaluate(ctx: GreedyContext, state: BuildState, t: Template): Readonly<Evaluation> | null {
  state.evaluations++;
  const net = netGain(ctx, state, t);
  EVALUATION.net = net;
  // Gains only shrink: an item not worth adding now never will be, so skip the device search.
  if (net <= ctx.options.epsilon) {
    EVALUATION.devices = NO_DEVICES;
    return EVALUATION;
  }
  CURSOR.at = state.cursors[t.index]!;
  const devices = chooseDevices(t, state.resources, CURSOR);
  state.cursors[t.index] = CURSOR.at;
  if (!devices) return null;
  EVALUATION.devices = devices;
  return EVALUATION;
}

/** Adds a template's item on the chosen devices. */
export function commitTemplate(ctx: GreedyContext, state: BuildState, t: Template, devices: readonly number[]): void {
  commitItem(state, { template: t, current: null, service: t.service, plan: t.plan, devices, foot: t.foot, penalty: t.penalty }, t.foot.capacityPerSec, ctx);
}

/** How many of the best single items a greedy run reports (safeguard and restart seeds). */
const TOP_SINGLES = 8;

/**
 * Cost-benefit greedy from the current state until no item adds more than `epsilon`. Lazy mode keeps stale
 * ratios in a max-heap: by submodularity a recomputed gain never exceeds its stale bound, so an item whose fresh
 * ratio still tops the heap is the true argmax. Returns the templates with the largest net gain at the start,
 * best first (the knapsack safeguard's best single item and the restart seeds). `only` restricts the run to some
 * templates (the groups-first restart).
 */
export function runGreedy(ctx: GreedyContext, state: BuildState, only?: (t: Template) => boolean): number[] {
  // A prune between rounds may have freed pools that were full.
  state.cursors.fill(0);
  return ctx.options.lazy ? lazyGreedy(ctx, state, only) : eagerGreedy(ctx, state, only);
}

/** Singles arrive in template order, and the sort is stable: equal gains stay in template order. */
function topSingles(singles: [number, number][]): number[] {
  return singles
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP_SINGLES)
    .map(([i]) => i);
}

function lazyGreedy(ctx: GreedyContext, state: BuildState, only?: (t: Template) => boolean): number[] {
  const eps = ctx.options.epsilon;
  const heap = createMaxHeap(ctx.templates.length);
  const singles: [number, number][] = [];
  for (const t of ctx.templates) {
    if (only && !only(t)) continue;
    const r = evaluate(ctx, state, t);
    if (!r || r.net <= eps) continue;
    singles.push([t.index, r.net]);
    heap.push(t.index, r.net / t.cost);
  }
  while (heap.size > 0) {
    const ti = heap.top();
    const t = ctx.templates[ti]!;
    const r = evaluate(ctx, state, t);
    if (!r || r.net <= eps) {
      heap.pop();
      continue;
    }
    heap.updateTop(r.net / t.cost);
    if (heap.top() === ti) commitTemplate(ctx, state, t, r.devices);
  }
  return topSingles(singles);
}

function eagerGreedy(ctx: GreedyContext, state: BuildState, only?: (t: Template) => boolean): number[] {
  const eps = ctx.options.epsilon;
  const alive = new Set(ctx.templates.filter((t) => !only || only(t)).map((t) => t.index));
  const singles: [number, number][] = [];
  for (let first = true; ; first = false) {
    let pick = -1;
    let pickRatio = Number.NEGATIVE_INFINITY;
    let pickDevices: readonly number[] = [];
    // `alive` iterates in template order: of equal ratios the first stays, as the lazy heap's lower index does.
    for (const ti of alive) {
      const t = ctx.templates[ti]!;
      const r = evaluate(ctx, state, t);
      if (!r || r.net <= eps) {
        alive.delete(ti);
        continue;
      }
      if (first) singles.push([ti, r.net]);
      const ratio = r.net / t.cost;
      if (ratio > pickRatio) (pick = ti), (pickRatio = ratio), (pickDevices = r.devices);
    }
    if (pick < 0) return topSingles(singles);
    commitTemplate(ctx, state, ctx.templates[pick]!, pickDevices);
  }
}

/** Value of the served goodput (weights and floors) minus the switching cost of the new items: what greedy maximizes. */
export function objectiveValue(ctx: GreedyContext, state: BuildState): number {
  let v = 0;
  for (const svc of ctx.model.services) v += serviceValue(svc, state.objective.served(svc.index));
  for (const c of state.chosen) if (!c.removed) v -= c.penalty;
  return v;
}

/**
 * Relative noise of an objective total: a sum over services of values that reach about 10¹² (the floor bonus
 * times weighted items/s) carries rounding errors far above an absolute `epsilon`.
 */
export const OBJECTIVE_NOISE = 1e-12;

/**
 * True when objective total `a` beats `b` by more than `epsilon` and more than rounding noise relative to their
 * magnitude, so an equal alternative that differs only in float noise never replaces the result.
 */
export function exceeds(a: number, b: number, epsilon: number): boolean {
  return a > b + Math.max(epsilon, OBJECTIVE_NOISE * Math.max(Math.abs(a), Math.abs(b)));
}
