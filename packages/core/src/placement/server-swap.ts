import type { ParallelPlan } from '../allocation/plan.js';
import type { Template } from './candidates.js';
import { PLACEMENT_TOLERANCE } from './duty-cycle.js';
import { addSupply, exceeds, objectiveValue, type BuildState, type Chosen, type GreedyContext } from './greedy.js';
import type { ServiceNode } from './model.js';
import type { ItemFootprint, Resources } from './resources.js';
import { suppliedAt } from './upgrade-shares.js';

/** Swaps and moves a placement accepts at most (each strictly raises the score, so the search ends anyway). */
const MAX_ACCEPTED = 64;
/** Trials (tentative swaps or moves, each four objective updates at most) per placement at most. */
const MAX_TRIALS = 512;
/** New instances above which the pass is skipped (its pair scan is quadratic in them). */
const MAX_INSTANCES = 512;
/** Pairs and moves scored per placement at most (each scan is O(N² + N × S); this bounds their sum). */
const MAX_SCORED = 2_000_000;

/** What {@link swapServers} did: for the result's stats and the tests. */
export interface SwapStats {
  /** Swaps and moves kept. */
  readonly accepted: number;
  /** Swaps and moves tried against the objective and the constraints. */
  readonly trials: number;
  /** Pairs and moves scored (each O(1) after the score table). */
  readonly scored: number;
}

/**
 * The swap rule ({@link PlacementOptions.serverSwap}): after the greedy, a local search over the new instances'
 * servers. With locality the objective values every server that reaches a service's demand alike, so which
 * service gets a contested server (the one near a hot spot) is the greedy's order. This pass swaps the servers of
 * two new instances of different servers (or moves one to free room on another server) when that raises the
 * *assignment score* — the items the moved instances would serve in time, then (on a tie) the demand-weighted
 * round trip — and keeps the swap only when every device still fits (memory, exclusivity, duty cycle, residual
 * blocking: the same `Resources.fits` the greedy uses) and the objective does not fall. Kept instances never move
 * (a move would reload them), and a swapped instance keeps its plan, share and switching cost.
 *
 * The score of an instance `c` of service `k` and plan `p` on server `s` is `w_c × Σ_a rate_a × fit_a(s)`: per
 * access server `a`, the share of its items whose slack on arrival (the input's `arrivalSlackMs`; without it the
 * whole SLO) covers `rtt(a, s) + p.runMs`, weighted by `w_c`, the share of the service's demand the instance can
 * serve (`capacity ÷ max(Σ capacity of k, demand of k)`). The tie-break is `w_c × Σ_a rate_a × rtt(a, s)` (lower
 * is better).
 *
 * Cost: a score table of O(N × S × A × log Q) (N new instances, S servers, A access servers, Q slack samples per
 * access server), then per accepted step a scan of O(N² + N × S) scored pairs and moves; every trial is at most
 * four max-flow updates and one objective sum. Bounded by `MAX_ACCEPTED` steps, `MAX_TRIALS` trials and
 * `MAX_SCORED` scored steps (a scan that starts below it finishes), and skipped above `MAX_INSTANCES` new
 * instances. Without locality (no delays) it does nothing.
 */
export function swapServers(ctx: GreedyContext, state: BuildState): SwapStats {
  const stats = { accepted: 0, trials: 0, scored: 0 };
  if (!ctx.options.locality) return stats;
  const bySpec = templatesBySpec(ctx.templates);
  const table = createScoreTable(ctx);
  while (stats.accepted < MAX_ACCEPTED && stats.trials < MAX_TRIALS && stats.scored < MAX_SCORED) {
    const movable: number[] = [];
    state.chosen.forEach((c, at) => {
      if (!c.removed && c.template !== null && c.current === null) movable.push(at);
    });
    if (movable.length < 1 || movable.length > MAX_INSTANCES) break;
    // Steps name items by their position in `chosen`, which a trial keeps (it replaces the entry in place, kept or
    // not): one scan serves every trial until a step is kept, and a failed trial leaves the placement as it was.
    let kept = false;
    for (const step of improvingSteps(ctx, state, movable, bySpec, table, stats)) {
      if (stats.trials >= MAX_TRIALS) break;
      stats.trials++;
      if (tryStep(ctx, state, step)) {
        kept = true;
        stats.accepted++;
        break;
      }
    }
    if (!kept) break;
  }
  return stats;
}

/** One candidate step: move each instance to the template's server (a swap moves two, a move one). */
interface Step {
  /** Each moved item, by its position in `chosen`, and its template on the target server. */
  readonly moves: readonly { readonly at: number; readonly to: Template }[];
  readonly gain: number;
  readonly tie: number;
}

/** Templates of the same (plan, share): the same item on every server (locality: one template per server and class). */
function templatesBySpec(templates: readonly Template[]): Map<ParallelPlan, Template[]> {
  const out = new Map<ParallelPlan, Template[]>();
  for (const t of templates) {
    if (t.server < 0) continue;
    const list = out.get(t.plan);
    if (list) list.push(t);
    else out.set(t.plan, [t]);
  }
  return out;
}

/** The template of `c`'s item on `server` (the first device class there that holds it), or undefined. */
function targetOn(bySpec: Map<ParallelPlan, Template[]>, c: Chosen, server: number): Template | undefined {
  return bySpec.get(c.plan)?.find((t) => t.server === server && t.share === c.template!.share);
}

interface ScoreTable {
  /** Items/s of service `k` whose slack covers the way to `server` and `plan`'s run (cached per plan and server). */
  fit(svc: ServiceNode, plan: ParallelPlan, server: number): number;
  /** `Σ_a rate_a × rtt(a, server)` for service `k` (cached per service and server). */
  rtt(svc: ServiceNode, server: number): number;
}

function createScoreTable(ctx: GreedyContext): ScoreTable {
  const { model } = ctx;
  const fits = new Map<ParallelPlan, Map<number, number>>();
  const rtts = new Map<number, Map<number, number>>();
  return {
    fit(svc, plan, server) {
      let row = fits.get(plan);
      if (!row) fits.set(plan, (row = new Map()));
      let v = row.get(server);
      if (v === undefined) {
        v = 0;
        for (let i = 0; i < svc.access.length; i++) {
          const need = model.roundTripRow(svc.access[i]!)[server]! + plan.runMs;
          const slack = svc.arrivalSlack[i] ?? [svc.sloMs];
          v += (svc.accessRate[i]! * covering(slack, need)) / slack.length;
        }
        row.set(server, v);
      }
      return v;
    },
    rtt(svc, server) {
      let row = rtts.get(svc.index);
      if (!row) rtts.set(svc.index, (row = new Map()));
      let v = row.get(server);
      if (v === undefined) {
        v = 0;
        // An unreachable server counts as the SLO away (it never wins a tie on nearness).
        for (let i = 0; i < svc.access.length; i++) v += svc.accessRate[i]! * Math.min(model.roundTripRow(svc.access[i]!)[server]!, svc.sloMs);
        row.set(server, v);
      }
      return v;
    },
  };
}

/** How many values of ascending `slack` cover `need` (the reach test's tolerance). */
function covering(slack: readonly number[], need: number): number {
  let lo = 0;
  let hi = slack.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (slack[mid]! * (1 + PLACEMENT_TOLERANCE) < need) lo = mid + 1;
    else hi = mid;
  }
  return slack.length - lo;
}

/** Every swap and move that raises the score, best first (score gain, then round trip saved, then order). */
function improvingSteps(
  ctx: GreedyContext,
  state: BuildState,
  movable: readonly number[],
  bySpec: Map<ParallelPlan, Template[]>,
  table: ScoreTable,
  stats: { scored: number },
): Step[] {
  const { model } = ctx;
  const n = movable.length;
  const items = movable.map((at) => state.chosen[at]!);
  const server = items.map((c) => model.devices[c.devices[0]!]!.server);
  const svcs = items.map((c) => model.services[c.service]!);
  // Per item: the share of its service's demand it serves, and its score and round trip where it is.
  const share = items.map((c, i) => {
    const denom = Math.max(state.objective.capacity(c.service), svcs[i]!.totalDemand);
    return denom > 0 ? c.foot.capacityPerSec / denom : 0;
  });
  const fitAt = (i: number, s: number): number => share[i]! * table.fit(svcs[i]!, items[i]!.plan, s);
  const rttAt = (i: number, s: number): number => share[i]! * table.rtt(svcs[i]!, s);
  const fitHere = items.map((_, i) => fitAt(i, server[i]!));
  const rttHere = items.map((_, i) => rttAt(i, server[i]!));
  const totalDemand = model.services.reduce((sum, svc) => sum + svc.totalDemand, 0);
  const tol = 1e-9 * Math.max(1, totalDemand);
  const steps: Step[] = [];
  const push = (gain: number, tie: number, moves: Step['moves']): void => {
    if (gain > tol || (gain > -tol && tie > tol)) steps.push({ moves, gain: gain > tol ? gain : 0, tie });
  };
  for (let i = 0; i < n; i++) {
    const a = items[i]!;
    for (let j = i + 1; j < n; j++) {
      const b = items[j]!;
      if (server[i] === server[j] || a.service === b.service) continue;
      const ta = targetOn(bySpec, a, server[j]!);
      const tb = ta && targetOn(bySpec, b, server[i]!);
      if (!ta || !tb) continue;
      stats.scored++;
      const gain = fitAt(i, ta.server) - fitHere[i]! + fitAt(j, tb.server) - fitHere[j]!;
      const tie = rttHere[i]! - rttAt(i, ta.server) + rttHere[j]! - rttAt(j, tb.server);
      push(gain, tie, [
        { at: movable[i]!, to: ta },
        { at: movable[j]!, to: tb },
      ]);
    }
    for (const to of bySpec.get(a.plan) ?? []) {
      if (to.server === server[i] || to.share !== a.template!.share || to !== targetOn(bySpec, a, to.server)) continue;
      stats.scored++;
      push(fitAt(i, to.server) - fitHere[i]!, rttHere[i]! - rttAt(i, to.server), [{ at: movable[i]!, to }]);
    }
  }
  // Stable sort: equal steps keep scan order (deterministic).
  return steps.sort((x, y) => y.gain - x.gain || y.tie - x.tie);
}

/**
 * Tries a step: frees the moved instances, looks for devices for each on its target server, and keeps the step
 * when all fit and the objective does not fall; otherwise puts everything back as it was.
 */
function tryStep(ctx: GreedyContext, state: BuildState, step: Step): boolean {
  const before = objectiveValue(ctx, state);
  const moved = step.moves.map(({ at, to }) => ({ at, to, c: state.chosen[at]! }));
  for (const { c } of moved) {
    state.objective.remove(c.handle);
    state.resources.remove(c.devices, c.foot);
  }
  const placed: { c: Chosen; devices: number[]; handle: number }[] = [];
  for (const { c, to } of moved) {
    const devices = fitIn(to, c.foot, c.plan.devices, state.resources);
    if (!devices) break;
    // `addSupply` claims the devices and adds the capacity to the objective.
    placed.push({ c, devices, handle: addSupply(ctx, state, { ...c, devices }, suppliedAt(c, c.foot.capacityPerSec)) });
  }
  const ok = placed.length === moved.length && !exceeds(before, objectiveValue(ctx, state), ctx.options.epsilon);
  if (!ok) {
    for (const p of placed) {
      state.objective.remove(p.handle);
      state.resources.remove(p.devices, p.c.foot);
    }
  }
  for (const [i, { at, to, c }] of moved.entries()) {
    if (ok) {
      const p = placed[i]!;
      state.chosen[at] = { ...c, template: to, devices: p.devices, handle: p.handle };
    } else {
      state.chosen[at] = { ...c, handle: addSupply(ctx, state, c, suppliedAt(c, c.foot.capacityPerSec)) };
    }
  }
  return ok;
}

/** Devices of `to`'s pool (one server) for an item of footprint `foot` on `count` devices, or null. */
function fitIn(to: Template, foot: ItemFootprint, count: number, resources: Resources): number[] | null {
  for (const pool of to.pools) {
    if (!foot.exclusive || count === 1) {
      // The fullest device that still fits, as the greedy's choice does.
      let best = -1;
      let bestUsed = -1;
      for (const d of pool) {
        if (!resources.fits(d, foot)) continue;
        const used = resources.usedBytes(d);
        if (used > bestUsed) (best = d), (bestUsed = used);
      }
      if (best >= 0) return [best];
      continue;
    }
    const picked: number[] = [];
    for (const d of pool) {
      if (resources.fits(d, foot)) picked.push(d);
      if (picked.length === count) return picked;
    }
  }
  return null;
}
