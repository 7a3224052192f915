import { footprintOf } from './candidates.js';
import {
  commitItem,
  commitTemplate,
  createBuildState,
  evaluate,
  runGreedy,
  type BuildState,
  type GreedyContext,
} from './greedy.js';
import type { PlacedInstance } from './types.js';
import { upgradeShares } from './upgrade-shares.js';
import { consolidateShares } from './consolidate.js';
import { trimShares } from './trim-shares.js';
import { evictForStarved } from './evict-swap.js';
import { repairForGroups } from './group-repair.js';
import { rebatchStarved } from './rebatch.js';
import { valueLoss } from './value.js';

/**
 * Greedy → grow shares → merge partial shares → trim unused claims → prune → evict for starving services (single
 * items, then whole devices for multi-device groups) → re-batch a starving service's shared items,
 * repeated (at most `MAX_ROUNDS`) while a merge, trim, prune or swap freed resources that new items may use.
 */
const MAX_ROUNDS = 6;

/** How one pipeline runs: `greedy: false` only places the seed; `groupsFirst` places multi-device groups first. */
export interface BuildHow {
  readonly greedy: boolean;
  readonly groupsFirst?: boolean;
}

/** A current instance that cannot stay, and why. */
export interface Dropped {
  readonly instance: PlacedInstance;
  readonly reason: 'failed' | 'no longer fits';
}

/** The outcome of one greedy pipeline. */
export interface BuildOutcome {
  readonly state: BuildState;
  readonly dropped: readonly Dropped[];
  /** Templates with the best net gain after the warm start, best first (safeguard item, restart seeds). */
  readonly singles: readonly number[];
  readonly pruned: number;
}

/**
 * Warm start from the current placement, optionally force one seed template first (the safeguard branch),
 * then greedy and prune until stable.
 */
export function buildPlacement(ctx: GreedyContext, current: readonly PlacedInstance[], seed = -1, how: BuildHow = { greedy: true }): BuildOutcome {
  const state = createBuildState(ctx);
  const dropped = warmStart(ctx, state, current);
  // Growing a running instance's share needs no load: do it before paying for new instances.
  upgradeShares(ctx, state);
  if (seed >= 0) {
    const t = ctx.templates[seed]!;
    const r = evaluate(ctx, state, t);
    if (r && r.devices.length > 0) commitTemplate(ctx, state, t, r.devices);
  }
  // Groups-first restart: multi-device groups claim whole devices before cheap shared items fill every server.
  if (how.groupsFirst) runGreedy(ctx, state, (t) => t.foot.exclusive && t.plan.devices > 1);
  let singles: number[] = [];
  let pruned = 0;
  for (let round = 0; how.greedy && round < MAX_ROUNDS; round++) {
    const best = runGreedy(ctx, state);
    if (round === 0) singles = best;
    upgradeShares(ctx, state);
    const merged = consolidateShares(ctx, state);
    const trimmed = trimShares(ctx, state);
    const p = prune(ctx, state);
    pruned += p;
    const swapped = evictForStarved(ctx, state) + repairForGroups(ctx, state) + rebatchStarved(ctx, state);
    if (p + merged + trimmed + swapped === 0) break;
  }
  return { state, dropped, singles, pruned };
}

function warmStart(ctx: GreedyContext, state: BuildState, current: readonly PlacedInstance[]): Dropped[] {
  const { model, options } = ctx;
  const dropped: Dropped[] = [];
  for (const inst of current) {
    const server = model.serverIndex.get(inst.serverId);
    // An unknown server's devices are not in the index either (its keys are `server index:device id`).
    const devices = inst.deviceIds.map((id) => model.deviceIndex.get(`${server}:${id}`) ?? -1);
    if (devices.some((d) => d < 0 || !model.devices[d]!.healthy)) {
      dropped.push({ instance: inst, reason: 'failed' });
      continue;
    }
    const svc = model.services[model.serviceIndex.get(inst.serviceId)!]!;
    const assigned = inst.capacityPerSec ?? inst.plan.capacityPerSec;
    const foot = footprintOf(svc, inst.plan, assigned, options.multiTask);
    const kind = inst.plan.deviceKind;
    if (!devices.every((d) => model.devices[d]!.kind === kind && state.resources.fits(d, foot))) {
      dropped.push({ instance: inst, reason: 'no longer fits' });
      continue;
    }
    const value = inst.measuredCapacityPerSec ?? assigned;
    commitItem(state, { template: null, current: inst, service: svc.index, plan: inst.plan, devices, foot, penalty: 0 }, value, ctx);
  }
  return dropped;
}

/**
 * Removes items that no longer pay for themselves: a kept instance whose removal loses no goodput, a new one
 * whose goodput no longer covers its switching cost. New items go first (latest first), so kept ones stay.
 */
function prune(ctx: GreedyContext, state: BuildState): number {
  const eps = ctx.options.epsilon;
  let removed = 0;
  for (;;) {
    const live = state.chosen.filter((c) => !c.removed);
    const order = [...live.filter((c) => c.template !== null).reverse(), ...live.filter((c) => c.template === null).reverse()];
    let any = false;
    for (const c of order) {
      const svc = ctx.model.services[c.service]!;
      if (valueLoss(svc, state.objective.served(c.service), state.objective.removalLoss(c.handle)) - c.penalty > eps) continue;
      state.objective.remove(c.handle);
      state.resources.remove(c.devices, c.foot);
      c.removed = true;
      removed++;
      any = true;
    }
    if (!any) return removed;
  }
}
