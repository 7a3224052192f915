import { devicesIn, type Template } from './candidates.js';
import { suppliedAt } from './upgrade-shares.js';
import { valueGap, valueLoss } from './value.js';
import { addSupply, commitTemplate, netGain, type BuildState, type Chosen, type GreedyContext } from './greedy.js';

/** Swaps tried per placement at most: each is one eviction plus one new item. */
const MAX_SWAPS = 32;
/** Victims tried per swap at most (cheapest first). */
const MAX_VICTIMS = 64;

/**
 * Single-item eviction local search. Greedy only adds, and a warm start keeps every current instance that still
 * fits, so a service whose demand went up (or whose devices failed) can starve behind instances that serve
 * little — a busy cluster would never give their devices back. For each starving service this tries evicting
 * one placed item, cheapest first (value of the removal loss − the penalty its removal refunds), and commits the
 * swap when the best item that then fits gains more than the eviction loses, by more than `epsilon`. Every swap
 * strictly raises the net objective, so the search terminates; an unchanged input that already converged makes
 * no swap (kept items refund no penalty), so there is no churn.
 *
 * @returns the number of swaps made.
 */
export function evictForStarved(ctx: GreedyContext, state: BuildState): number {
  let swaps = 0;
  while (swaps < MAX_SWAPS && trySwap(ctx, state)) swaps++;
  return swaps;
}

function trySwap(ctx: GreedyContext, state: BuildState): boolean {
  const { model, options } = ctx;
  const eps = options.epsilon;
  const starving = new Set<number>();
  let widestGap = 0;
  for (const svc of model.services) {
    const gap = valueGap(svc, state.objective.served(svc.index));
    if (gap > eps) starving.add(svc.index), (widestGap = Math.max(widestGap, gap));
  }
  if (starving.size === 0) return false;
  const templates = ctx.templates.filter((t) => starving.has(t.service));
  const victims = state.chosen
    .filter((c) => !c.removed && !starving.has(c.service))
    .map((c) => ({ c, cost: valueLoss(model.services[c.service]!, state.objective.served(c.service), state.objective.removalLoss(c.handle)) - c.penalty }))
    .filter((v) => v.cost < widestGap - eps)
    .sort((a, b) => a.cost - b.cost || a.c.handle - b.c.handle)
    .slice(0, MAX_VICTIMS);
  for (const { c, cost } of victims) {
    state.objective.remove(c.handle);
    state.resources.remove(c.devices, c.foot);
    let best: { t: (typeof templates)[number]; devices: number[]; net: number } | undefined;
    for (const t of templates) {
      const net = netGain(ctx, state, t);
      if (net <= cost + eps || (best && net <= best.net)) continue;
      // Only the victim's devices changed: a fit must use them, so only the pools that hold them are searched.
      const devices = devicesNear(model, t, c.devices, state);
      state.evaluations++;
      if (devices && devices.some((d) => c.devices.includes(d))) best = { t, devices, net };
    }
    if (best) {
      c.removed = true;
      commitTemplate(ctx, state, best.t, best.devices);
      return true;
    }
    restore(ctx, state, c);
  }
  return false;
}

/** Pools of a template by server (built once per template). */
const poolsByServer = new WeakMap<Template, Map<number, (readonly number[])[]>>();

/** Devices for `t` in the pools that contain one of `freed` (on the freed devices' servers), or null. */
function devicesNear(model: GreedyContext['model'], t: Template, freed: readonly number[], state: BuildState): number[] | null {
  let byServer = poolsByServer.get(t);
  if (!byServer) {
    byServer = new Map();
    for (const pool of t.pools) {
      const s = model.devices[pool[0]!]!.server;
      byServer.set(s, [...(byServer.get(s) ?? []), pool]);
    }
    poolsByServer.set(t, byServer);
  }
  for (const pool of byServer.get(model.devices[freed[0]!]!.server) ?? []) {
    if (!freed.some((d) => pool.includes(d))) continue;
    const devices = devicesIn(t, pool, state.resources);
    if (devices) return devices;
  }
  return null;
}

/** Puts a tentatively evicted item back, in its place in `chosen` (output order stays stable: no churn). */
function restore(ctx: GreedyContext, state: BuildState, c: Chosen): void {
  // The same supply the item had: a kept instance's measured capacity, scaled to its present claim.
  const handle = addSupply(ctx, state, c, suppliedAt(c, c.foot.capacityPerSec));
  state.chosen[state.chosen.indexOf(c)] = { ...c, handle, removed: false };
}
