import type { Template } from './candidates.js';
import { suppliedAt } from './upgrade-shares.js';
import { valueGap, valueLoss } from './value.js';
import { addSupply, commitTemplate, netGain, type BuildState, type Chosen, type GreedyContext } from './greedy.js';

/** Group swaps per placement at most. */
const MAX_GROUP_SWAPS = 16;
/** Servers tried per group template and swap (cheapest first). */
const MAX_POOLS = 24;

/**
 * Group-aware eviction. The single-item swap frees one device at a time, so a multi-device group (a
 * data-parallel stream, an LLM's model-parallel pair) of a starving service never finds room once cheap shared
 * instances fill every server: it needs `p` devices of one server at once. For each group template of a service
 * with unmet demand this estimates, per server, the cheapest `p` devices to clear (`Σ value of removal loss −
 * refunded penalty` of the items on them), tentatively evicts everything on them (the exact joint loss is the
 * telescoping sum of removal losses) and commits when the group then gains more than the evictions lose, by more
 * than `epsilon`. Evicted services get their demand back and the next greedy round re-places them where room is
 * left. Each swap strictly raises the net objective, so the search terminates.
 *
 * @returns the number of swaps made.
 */
export function repairForGroups(ctx: GreedyContext, state: BuildState): number {
  let swaps = 0;
  while (swaps < MAX_GROUP_SWAPS && tryGroupSwap(ctx, state)) swaps++;
  return swaps;
}

function tryGroupSwap(ctx: GreedyContext, state: BuildState): boolean {
  const { model, options } = ctx;
  const eps = options.epsilon;
  const starving = new Set<number>();
  for (const svc of model.services) if (valueGap(svc, state.objective.served(svc.index)) > eps) starving.add(svc.index);
  if (starving.size === 0) return false;
  const groups = ctx.templates
    .filter((t) => starving.has(t.service) && t.foot.exclusive && t.plan.devices > 1)
    .map((t) => ({ t, net: netGain(ctx, state, t) }))
    .filter((g) => g.net > eps)
    .sort((a, b) => b.net - a.net || a.t.index - b.t.index);
  if (groups.length === 0) return false;
  const onDevice = new Map<number, Chosen[]>();
  const cost = new Map<Chosen, number>();
  for (const c of state.chosen) {
    if (c.removed) continue;
    for (const d of c.devices) onDevice.set(d, [...(onDevice.get(d) ?? []), c]);
  }
  const costOf = (c: Chosen): number => {
    let v = cost.get(c);
    if (v === undefined) (v = lossOf(ctx, state, c)), cost.set(c, v);
    return v;
  };
  for (const { t, net } of groups) {
    const options = t.pools
      .map((pool) => cheapestDevices(t, pool, onDevice, costOf))
      .filter((o): o is { devices: number[]; estimate: number } => o !== null && o.estimate < net - eps)
      .sort((a, b) => a.estimate - b.estimate || a.devices[0]! - b.devices[0]!)
      .slice(0, MAX_POOLS);
    for (const o of options) if (trySwapOn(ctx, state, t, o.devices, onDevice)) return true;
  }
  return false;
}

/** The `p` devices of a pool whose occupants are cheapest to evict (each device's items counted once). */
function cheapestDevices(t: Template, pool: readonly number[], onDevice: Map<number, Chosen[]>, costOf: (c: Chosen) => number): { devices: number[]; estimate: number } | null {
  if (pool.length < t.plan.devices) return null;
  const scored = pool.map((d) => ({ d, cost: (onDevice.get(d) ?? []).reduce((s, c) => s + Math.max(0, costOf(c)), 0) }));
  scored.sort((a, b) => a.cost - b.cost || a.d - b.d);
  const pick = scored.slice(0, t.plan.devices);
  if (pick.every((x) => (onDevice.get(x.d) ?? []).length === 0)) return null; // free devices: plain greedy would have used them
  return { devices: pick.map((x) => x.d).sort((a, b) => a - b), estimate: pick.reduce((s, x) => s + x.cost, 0) };
}

/** Value lost by removing `c` now, minus the penalty its removal refunds. */
function lossOf(ctx: GreedyContext, state: BuildState, c: Chosen): number {
  return valueLoss(ctx.model.services[c.service]!, state.objective.served(c.service), state.objective.removalLoss(c.handle)) - c.penalty;
}

function trySwapOn(ctx: GreedyContext, state: BuildState, t: Template, devices: readonly number[], onDevice: Map<number, Chosen[]>): boolean {
  const { options } = ctx;
  const victims = [...new Set(devices.flatMap((d) => onDevice.get(d) ?? []))];
  let loss = 0;
  for (const c of victims) {
    loss += lossOf(ctx, state, c);
    state.objective.remove(c.handle);
    state.resources.remove(c.devices, c.foot);
  }
  const fits = devices.every((d) => state.resources.fits(d, t.foot));
  const net = fits ? netGain(ctx, state, t) : Number.NEGATIVE_INFINITY;
  state.evaluations++;
  if (net > loss + options.epsilon) {
    for (const c of victims) c.removed = true;
    commitTemplate(ctx, state, t, devices);
    return true;
  }
  // Put them back in their places in `chosen` (output order stays stable).
  for (const c of victims) {
    const handle = addSupply(ctx, state, c, suppliedAt(c, c.foot.capacityPerSec));
    const back = { ...c, handle, removed: false };
    state.chosen[state.chosen.indexOf(c)] = back;
    for (const d of c.devices) {
      const list = onDevice.get(d)!;
      list[list.indexOf(c)] = back;
    }
  }
  return false;
}
