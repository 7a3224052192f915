import { switchPenalty, type Template } from './candidates.js';
import { objectiveValue, exceeds, type BuildState, type Chosen, type GreedyContext } from './greedy.js';
import { sharedRun } from './duty-cycle.js';
import { valueGap } from './value.js';

/** Re-batchings tried per placement at most (each is one item's plan replaced on its own device). */
const MAX_REBATCH = 16;

/**
 * Re-batching for starving services. Greedy places a service's cheapest plan first, and a shared device's
 * round-robin cycle then caps that item's rate at `b / C`: beside a long co-located run (a language model's batch)
 * a small batch claims few items/s, and no other move replaces it — the share upgrade keeps its plan, the
 * eviction search never evicts a starving service's own items. For each starving service this tries its shared
 * single-device items one at a time with each other plan of the service offered on that device (a batch variant:
 * `b/2`, …, or the larger batch the allocator passed over, `largestBatchSize`), claiming as much as the device then
 * allows (`min(plan capacity, b / C, the co-located latency items' budget)`), and keeps the first replacement that
 * raises the net objective (its reload paid as a new instance's switching cost). Every kept change strictly raises
 * `F`; an unchanged input that already converged changes nothing.
 *
 * @returns the number of items re-batched.
 */
export function rebatchStarved(ctx: GreedyContext, state: BuildState): number {
  let changed = 0;
  while (changed < MAX_REBATCH && tryRebatch(ctx, state)) changed++;
  return changed;
}

function tryRebatch(ctx: GreedyContext, state: BuildState): boolean {
  const { model, options } = ctx;
  const eps = options.epsilon;
  for (const svc of model.services) {
    if (valueGap(svc, state.objective.served(svc.index)) <= eps) continue;
    const plans = alternatives(ctx.templates, svc.index);
    if (plans.length < 2) continue;
    for (let i = 0; i < state.chosen.length; i++) {
      const c = state.chosen[i]!;
      if (c.removed || c.service !== svc.index || c.foot.exclusive || c.devices.length !== 1) continue;
      const device = c.devices[0]!;
      // Only a shared device caps a claim below its plan's capacity.
      if (state.resources.cycleMs(device) <= sharedRun(c.foot) * (1 + 1e-9)) continue;
      const before = objectiveValue(ctx, state);
      for (const t of plans) {
        if (t.plan.batchSize === c.plan.batchSize || !t.pools.some((p) => p.includes(device))) continue;
        if (replace(ctx, state, i, t, before)) return true;
      }
    }
  }
  return false;
}

/** One template per distinct single-device plan of service `k` (its batch variants), in template order. */
function alternatives(templates: readonly Template[], k: number): Template[] {
  const seen = new Set<number>();
  const out: Template[] = [];
  for (const t of templates) {
    if (t.service !== k || t.foot.exclusive || t.plan.devices !== 1 || seen.has(t.plan.batchSize)) continue;
    seen.add(t.plan.batchSize);
    out.push(t);
  }
  return out;
}

/** Replaces `state.chosen[i]` by template `t`'s plan on the same device at the largest claim that fits, when `F` rises. */
function replace(ctx: GreedyContext, state: BuildState, i: number, t: Template, before: number): boolean {
  const { model, options } = ctx;
  const c = state.chosen[i]!;
  const device = c.devices[0]!;
  const server = model.devices[device]!.server;
  state.objective.remove(c.handle);
  state.resources.remove(c.devices, c.foot);
  const restore = (): false => {
    state.resources.add(c.devices, c.foot);
    const handle = state.objective.add({ service: c.service, server, latencyMs: c.plan.expectedLatencyMs, capacityPerSec: c.foot.capacityPerSec });
    state.chosen[i] = { ...c, handle };
    return false;
  };
  // Probe at a token claim: its run enters the cycle, then the claim grows to what the cycle and the latency
  // items beside it leave.
  const probe = { ...t.foot, capacityPerSec: Math.min(t.foot.capacityPerSec, 1e-6) };
  if (!state.resources.fits(device, probe)) return restore();
  state.resources.add([device], probe);
  const limit = Math.min(t.plan.capacityPerSec, (1000 * t.foot.batchSize) / state.resources.cycleMs(device), state.resources.claimLimit(device, probe));
  state.resources.remove([device], probe);
  const foot = { ...t.foot, capacityPerSec: limit };
  if (!(limit > options.epsilon) || !state.resources.fits(device, foot)) return restore();
  state.resources.add([device], foot);
  const handle = state.objective.add({ service: c.service, server, latencyMs: t.plan.expectedLatencyMs, capacityPerSec: limit });
  const next: Chosen = { template: t, current: null, service: c.service, plan: t.plan, devices: c.devices, foot, penalty: switchPenalty(model.services[c.service]!, limit, options), handle, removed: false };
  state.chosen[i] = next;
  if (exceeds(objectiveValue(ctx, state), before, options.epsilon)) return true;
  state.objective.remove(handle);
  state.resources.remove(c.devices, foot);
  return restore();
}
