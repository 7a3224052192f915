import { switchPenalty } from './candidates.js';
import type { BuildState, GreedyContext } from './greedy.js';

/**
 * Trims the claimed share of new single-device instances to what the assignment actually uses, newest first.
 * Greedy may claim a whole device's rate where half is needed; the unused claim costs nothing in goodput but
 * would make a running instance look redundant (and be replaced for no gain) and blocks co-location. Kept
 * instances keep their share. Returns how many were trimmed.
 */
export function trimShares(ctx: GreedyContext, state: BuildState): number {
  const { model, options } = ctx;
  let trimmed = 0;
  for (let i = state.chosen.length - 1; i >= 0; i--) {
    const c = state.chosen[i]!;
    if (c.removed || c.current || c.foot.exclusive || c.devices.length !== 1) continue;
    const slack = state.objective.slack(c.handle);
    const next = c.foot.capacityPerSec - slack;
    // Nothing to trim, or nothing left (prune removes an item that serves nothing).
    if (slack <= options.epsilon || next <= options.epsilon) continue;
    const server = model.devices[c.devices[0]!]!.server;
    const foot = { ...c.foot, capacityPerSec: next };
    state.resources.remove(c.devices, c.foot);
    // A frequency item's pack fills more slowly at a lower rate: the trimmed claim must still fit the cycle.
    if (!state.resources.fits(c.devices[0]!, foot)) {
      state.resources.add(c.devices, c.foot);
      continue;
    }
    state.objective.remove(c.handle);
    state.resources.add(c.devices, foot);
    const handle = state.objective.add({ service: c.service, server, latencyMs: c.plan.expectedLatencyMs, capacityPerSec: next });
    state.chosen[i] = { ...c, foot, handle, penalty: switchPenalty(model.services[c.service]!, next, options) };
    trimmed++;
  }
  return trimmed;
}
