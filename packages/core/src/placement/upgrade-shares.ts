import { switchPenalty } from './candidates.js';
import { valueGain } from './value.js';
import type { BuildState, Chosen, GreedyContext } from './greedy.js';

/**
 * Grows the time share of co-located single-device items whose service still has unserved demand. A share is
 * only the rate an item claims within the device's round-robin cycle: growing it needs no reload (same plan,
 * batch and memory), and the duty cycle allows up to `b / C` items/s where `C` is the device's cycle, so the
 * largest useful share is `min(plan capacity, b / C, capacity + unserved demand it can reach)`, and no more than the
 * latency items beside it leave (their residual-blocking budget, `Resources.claimLimit`). Goodput only
 * grows. Returns how many items grew.
 */
export function upgradeShares(ctx: GreedyContext, state: BuildState): number {
  const { model, options } = ctx;
  let grown = 0;
  state.chosen.forEach((c, i) => {
    if (c.removed || c.foot.exclusive || c.devices.length !== 1) return;
    const cap = c.foot.capacityPerSec;
    const device = c.devices[0]!;
    const limit = Math.min(c.plan.capacityPerSec, (1000 * c.foot.batchSize) / state.resources.cycleMs(device), state.resources.claimLimit(device, c.foot));
    if (limit <= cap * (1 + 1e-9)) return;
    const server = model.devices[c.devices[0]!]!.server;
    const extra = state.objective.gain({ service: c.service, server, latencyMs: c.plan.expectedLatencyMs, capacityPerSec: limit - cap });
    const svc = model.services[c.service]!;
    const next = cap + extra;
    const penalty = c.current ? 0 : switchPenalty(svc, next, options);
    if (valueGain(svc, state.objective.served(c.service), extra) - (penalty - c.penalty) <= options.epsilon) return;
    const value = suppliedAt(c, next);
    const foot = { ...c.foot, capacityPerSec: next };
    state.objective.remove(c.handle);
    state.resources.remove(c.devices, c.foot);
    state.resources.add(c.devices, foot);
    const handle = state.objective.add({ service: c.service, server, latencyMs: c.plan.expectedLatencyMs, capacityPerSec: value });
    state.chosen[i] = { ...c, foot, penalty, handle };
    grown++;
  });
  return grown;
}

/**
 * What an item supplies when it claims `claimPerSec`: the claim, or for a kept instance with a measured capacity,
 * the measurement scaled from the claim it was measured at (its own `capacityPerSec`, else its plan's) — not from
 * the item's present claim, which a grow or merge earlier in the same placement may have changed.
 */
export function suppliedAt(c: Pick<Chosen, 'current'>, claimPerSec: number): number {
  const measured = c.current?.measuredCapacityPerSec;
  if (measured === undefined) return claimPerSec;
  return (measured * claimPerSec) / (c.current!.capacityPerSec ?? c.current!.plan.capacityPerSec);
}
