import { packSizeForRate } from '@epara/core/scheduling';
import type { SimInstance } from './types.js';

/**
 * The pack a multi-frame instance launches when full, for the rate of the streams pinned to it now (as the
 * runtime's model instance sizes its packs): the smallest `n` with `n / L(n) ≥ F` and `(n−1)/F + L(n) ≤ S`,
 * where `F` is the pinned rate per device (at least one stream at the SLO rate) and `S` the staleness limit less
 * the network budget, at most the plan's pack (the memory placement reserved). The plan's pack was sized for
 * the rate placement expected over the whole zone; an instance that serves less waits longer to fill it, and the
 * frames it holds go stale. Other instances (batching, model parallel): the plan's batch size.
 */
export function launchPackSize(inst: SimInstance): number {
  const slo = inst.svc.spec.slo;
  const plan = inst.plan;
  if (slo.kind !== 'frequency' || plan.requestStrategy !== 'multi-frame' || plan.serviceStrategy === 'model-parallel') return plan.batchSize;
  const hz = Math.max(inst.pinnedHz, slo.rateHz) / inst.devices.length;
  // Kept on the instance for the rate it was computed at (`packHz`, −1: none yet).
  if (inst.packHz === hz) return inst.packN;
  const profile = inst.svc.spec.profiles[inst.devices[0]!.kind]!;
  const n = packSizeForRate(profile, { rateHz: hz, stalenessMs: slo.stalenessMs - (inst.svc.spec.networkBudgetMs ?? 0), maxBatch: plan.batchSize }).n;
  inst.packHz = hz;
  inst.packN = n;
  return n;
}
