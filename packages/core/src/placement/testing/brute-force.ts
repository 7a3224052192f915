import { buildTemplates } from '../candidates.js';
import { buildPlacementModel, type PlacementModel } from '../model.js';
import { effectivePlacementOptions, resolvePlacementOptions, type PlacementOptions, type PlacementRunOptions } from '../options.js';
import { createResources } from '../resources.js';
import type { PlacementInput } from '../types.js';
import { createSeededRandom } from '../../ports/random.js';
import { randomPlacementInstance, type RandomInstanceShape } from './random-instance.js';
import type { Template } from '../candidates.js';
import { commitTemplate, createBuildState, type GreedyContext } from '../greedy.js';
import { upgradeShares } from '../upgrade-shares.js';

/** The options of the search: with `multiTask: 'auto'`, the co-located space (the larger of the two it chooses from). */
function runOptions(options: PlacementOptions, input: PlacementInput): PlacementRunOptions {
  const resolved = effectivePlacementOptions(resolvePlacementOptions(options), input);
  return { ...resolved, multiTask: resolved.multiTask !== false };
}

/** Largest ground set {@link bruteForceOptimum} accepts (2^n subsets before pruning). */
export const MAX_BRUTE_FORCE_ITEMS = 20;

/**
 * A random small instance with at most `maxItems` concrete candidate items: tries seeds `seed, seed + 1, …` and
 * returns the first that is small enough (the "instances of at most ~10 candidate items").
 */
export function smallRandomInstance(seed: number, shape: RandomInstanceShape, options: PlacementOptions, maxItems: number): PlacementInput {
  for (let s = seed; ; s++) {
    const input = randomPlacementInstance(createSeededRandom(s), shape);
    if (concreteItems(input, options).items.length <= maxItems) return input;
  }
}

/** A concrete candidate item: a template on specific devices. */
export interface ConcreteItem {
  readonly template: Template;
  readonly devices: readonly number[];
}

/** Every concrete item of an instance (each device of a class; each device subset of a group). */
export function concreteItems(input: PlacementInput, options: PlacementOptions = {}): { model: PlacementModel; items: ConcreteItem[] } {
  const resolved = runOptions(options, input);
  const model = buildPlacementModel(input, resolved);
  const items: ConcreteItem[] = [];
  for (const t of buildTemplates(model, resolved)) {
    for (const pool of t.pools) {
      if (t.plan.devices === 1) for (const d of pool) items.push({ template: t, devices: [d] });
      else for (const subset of combinations(pool, t.plan.devices)) items.push({ template: t, devices: subset });
    }
  }
  return { model, items };
}

/** A placed capacity as the reference objective sees it. */
export interface ReferenceSupply {
  readonly service: number;
  readonly server: number;
  readonly latencyMs: number;
  readonly capacityPerSec: number;
}

/**
 * Reference goodput of a set of supplies, computed independently of the greedy's incremental objective:
 * `Σ weight × (δ × served + (1 − δ) × min(served, forecast) + bonus × min(served, floor))` with `served = min(demand, Σ capacity)`, or with locality a max-flow by plain augmenting paths.
 */
export function referenceGoodput(model: PlacementModel, supplies: readonly ReferenceSupply[], locality: boolean): number {
  let total = 0;
  for (const svc of model.services) {
    const mine = supplies.filter((it) => it.service === svc.index);
    if (!locality) {
      total += floorValue(svc, Math.min(svc.totalDemand, mine.reduce((s, it) => s + it.capacityPerSec, 0)));
      continue;
    }
    const reach = (a: number, it: ReferenceSupply): boolean =>
      svc.reachRows[a]![it.server]! + it.latencyMs <= svc.sloMs * (1 + 1e-9);
    total += floorValue(svc, maxFlow(svc.accessRate, mine.map((it) => it.capacityPerSec), (a, j) => reach(a, mine[j]!)));
  }
  return total;
}

/** `w × (δ × served + (1 − δ) × min(served, forecast) + bonus × min(served, floor))`, restated here rather than imported. */
function floorValue(svc: PlacementModel['services'][number], served: number): number {
  const d = svc.headroomValue;
  return svc.weight * (d * served + (1 - d) * Math.min(served, svc.forecastPerSec)) + svc.weight * svc.floorBonus * Math.min(served, svc.floorPerSec);
}

/** Max-flow from supplies to capacities over allowed edges (dense Ford–Fulkerson with BFS; tiny inputs only). */
export function maxFlow(supply: readonly number[], caps: readonly number[], edge: (a: number, j: number) => boolean): number {
  const nA = supply.length;
  const nJ = caps.length;
  const flow = Array.from({ length: nA }, () => new Array<number>(nJ).fill(0));
  const residual = [...supply];
  const load = new Array<number>(nJ).fill(0);
  let total = 0;
  for (;;) {
    // BFS over demand nodes; parent of a demand node is [prevDemand, sink] (sink moved flow from prev).
    const parent: ([number, number] | null)[] = new Array(nA).fill(undefined);
    const queue: number[] = [];
    for (let a = 0; a < nA; a++) if (residual[a]! > 1e-12) (parent[a] = null), queue.push(a);
    let end: [number, number] | null = null;
    for (let h = 0; h < queue.length && !end; h++) {
      const a = queue[h]!;
      for (let j = 0; j < nJ && !end; j++) {
        if (!edge(a, j)) continue;
        if (caps[j]! - load[j]! > 1e-12) end = [a, j];
        else for (let b = 0; b < nA; b++) if (parent[b] === undefined && flow[b]![j]! > 1e-12) (parent[b] = [a, j]), queue.push(b);
      }
    }
    if (!end) return total;
    let [a, j] = end;
    let delta = caps[j]! - load[j]!;
    for (let x = a; ; ) {
      const p = parent[x]!;
      if (p === null) {
        delta = Math.min(delta, residual[x]!);
        break;
      }
      delta = Math.min(delta, flow[x]![p[1]]!);
      x = p[0];
    }
    load[j] = load[j]! + delta;
    for (;;) {
      flow[a]![j] = flow[a]![j]! + delta;
      const p = parent[a]!;
      if (p === null) {
        residual[a] = residual[a]! - delta;
        break;
      }
      flow[a]![p[1]] = flow[a]![p[1]]! - delta;
      [a, j] = p;
    }
    total += delta;
  }
}

/**
 * The best feasible subset by exhaustive search with feasibility pruning; each subset gets the same share growth
 * as the greedy's post-processing (so both search the same space), then is valued by {@link referenceGoodput}.
 */
export function bruteForceOptimum(input: PlacementInput, options: PlacementOptions = {}): { value: number; items: number } {
  const resolved = runOptions(options, input);
  const { model, items } = concreteItems(input, options);
  if (items.length > MAX_BRUTE_FORCE_ITEMS) throw new Error(`brute force over ${items.length} items is intractable`);
  const ctx: GreedyContext = { model, options: resolved, templates: [] };
  const resources = createResources(model.devices);
  const chosen: ConcreteItem[] = [];
  let best = 0;
  const leaf = (): number => {
    const state = createBuildState(ctx);
    for (const it of chosen) commitTemplate(ctx, state, it.template, it.devices);
    upgradeShares(ctx, state);
    const supplies = state.chosen.map((c) => ({
      service: c.service,
      server: model.devices[c.devices[0]!]!.server,
      latencyMs: c.plan.expectedLatencyMs,
      capacityPerSec: c.foot.capacityPerSec,
    }));
    return referenceGoodput(model, supplies, resolved.locality);
  };
  const visit = (i: number): void => {
    if (i === items.length) {
      best = Math.max(best, leaf());
      return;
    }
    visit(i + 1);
    const it = items[i]!;
    if (!it.devices.every((d) => resources.fits(d, it.template.foot))) return;
    resources.add(it.devices, it.template.foot);
    chosen.push(it);
    visit(i + 1);
    chosen.pop();
    resources.remove(it.devices, it.template.foot);
  };
  visit(0);
  return { value: best, items: items.length };
}

function combinations(pool: readonly number[], k: number): number[][] {
  if (k === 0) return [[]];
  const out: number[][] = [];
  pool.forEach((x, i) => {
    for (const rest of combinations(pool.slice(i + 1), k - 1)) out.push([x, ...rest]);
  });
  return out;
}
