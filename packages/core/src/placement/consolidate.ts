import { switchPenalty } from './candidates.js';
import { suppliedAt } from './upgrade-shares.js';
import type { BuildState, Chosen, GreedyContext } from './greedy.js';

/**
 * Merges partial shares of one service: when a new partial-share instance `b` can be absorbed by another
 * instance `a` of the same plan (growing `a`'s share within its device's duty cycle) without losing goodput,
 * `a` grows and `b` goes, freeing `b`'s device for other services in the next greedy round. Greedy with fixed
 * share levels may split a service over two half devices when one device would do; this undoes that. Only new
 * instances are absorbed (running ones stay), and a running instance measured below its claim absorbs none (it
 * would supply only its measured fraction of the absorbed claim). Returns how many were absorbed.
 */
export function consolidateShares(ctx: GreedyContext, state: BuildState): number {
  let merged = 0;
  const partial = (c: Chosen): boolean => !c.removed && !c.foot.exclusive && c.devices.length === 1 && c.foot.capacityPerSec < c.plan.capacityPerSec;
  // Candidates to absorb, grouped by plan (only instances of the same plan merge).
  const byPlan = new Map<object, number[]>();
  state.chosen.forEach((c, i) => {
    if (!partial(c)) return;
    const list = byPlan.get(c.plan) ?? [];
    list.push(i);
    byPlan.set(c.plan, list);
  });
  for (const group of byPlan.values()) {
    for (let g = group.length - 1; g > 0; g--) {
      const bi = group[g]!;
      const b = state.chosen[bi]!;
      if (!partial(b) || b.current) continue;
      for (let h = 0; h < g; h++) {
        const ai = group[h]!;
        if (!partial(state.chosen[ai]!)) continue;
        if (absorb(ctx, state, ai, bi)) {
          merged++;
          break;
        }
      }
    }
  }
  return merged;
}

/** Grows `a` by `b`'s claim and removes `b` when `a`'s device cycle allows it and no goodput is lost. */
function absorb(ctx: GreedyContext, state: BuildState, ai: number, bi: number): boolean {
  const { model, options } = ctx;
  const a = state.chosen[ai]!;
  const b = state.chosen[bi]!;
  const device = a.devices[0]!;
  const cap = a.foot.capacityPerSec;
  const room = Math.min(a.plan.capacityPerSec, (1000 * a.foot.batchSize) / state.resources.cycleMs(device), state.resources.claimLimit(device, a.foot)) - cap;
  if (room < b.foot.capacityPerSec * (1 - 1e-9)) return false;
  const server = model.devices[device]!.server;
  const sameServer = model.devices[b.devices[0]!]!.server === server;
  // With locality a different server may reach different demand: only merge when nothing is lost.
  if (options.locality && !sameServer && state.objective.removalLoss(b.handle) > options.epsilon) return false;
  const next = cap + b.foot.capacityPerSec;
  // A kept instance measured below the claim it was measured at supplies only that fraction of what it absorbs,
  // while `b` (always new) supplies its whole claim: absorbing it would lose goodput.
  if (suppliedAt(a, next) - suppliedAt(a, cap) < b.foot.capacityPerSec * (1 - 1e-9)) return false;
  state.objective.remove(b.handle);
  state.resources.remove(b.devices, b.foot);
  b.removed = true;
  const foot = { ...a.foot, capacityPerSec: next };
  state.objective.remove(a.handle);
  state.resources.remove(a.devices, a.foot);
  state.resources.add(a.devices, foot);
  const handle = state.objective.add({ service: a.service, server, latencyMs: a.plan.expectedLatencyMs, capacityPerSec: suppliedAt(a, next) });
  const penalty = a.current ? 0 : switchPenalty(model.services[a.service]!, next, options);
  state.chosen[ai] = { ...a, foot, handle, penalty };
  return true;
}
