import type { ParallelPlan } from '../allocation/plan.js';
import { latencyAt } from '../profiles/latency-profile.js';
import type { ServiceNode } from './model.js';

/** A plan offered to placement; `parent` is the allocator's plan a batch variant derives from (null for it). */
export interface BatchVariant {
  readonly plan: ParallelPlan;
  readonly parent: ParallelPlan | null;
}

/**
 * The service's plans plus multi-task variants: each single-device batching plan with a profile for its device
 * kind is offered again at `b/2`, `b/4`, … (`count` halvings, distinct, ≥ 1) and, when the allocator chose a
 * batch below the largest its rule allows because the smaller one sustains more items/s alone, at that largest
 * batch (`plan.largestBatchSize`; with `count` ≥ 1). A variant keeps the plan's
 * worst-case-latency rule (scaled with `L(b')/L(b)`), needs `perItem × (b − b')` less memory and serves
 * `b' / L(b')` items/s alone, less than the original: it pays when it shares a device, where its shorter
 * run keeps the round-robin cycle within the co-located deadlines, or alone on a device too small for `b`. The
 * larger variant needs `perItem × (b' − b)` more memory and also serves fewer items/s alone; beside a long run
 * (a language model's batch) it serves more, since the round-robin rate is `b' / C`: one turn per cycle.
 */
export function withBatchVariants(svc: ServiceNode, count: number): readonly BatchVariant[] {
  const out: BatchVariant[] = svc.plans.map((plan) => ({ plan, parent: null }));
  if (count === 0) return out;
  for (const plan of svc.plans) {
    const profile = svc.spec.profiles[plan.deviceKind];
    if (!profile || plan.requestStrategy !== 'batching' || plan.serviceStrategy !== 'single' || plan.devices !== 1) continue;
    const base = latencyAt(profile, plan.batchSize);
    const variant = (b: number, note: string): BatchVariant => {
      const runMs = latencyAt(profile, b);
      const capacityPerSec = (1000 * b) / runMs;
      const { largestBatchSize: _largest, ...rest } = plan;
      return {
        parent: plan,
        plan: {
          ...rest,
          batchSize: b,
          runMs,
          capacityPerSec,
          memoryPerDeviceBytes: Math.max(0, plan.memoryPerDeviceBytes - svc.spec.memory.perItemBytes * (plan.batchSize - b)),
          expectedLatencyMs: (plan.expectedLatencyMs * runMs) / base,
          goodputPerDevice: Math.min(svc.totalDemand, capacityPerSec),
          utilization: svc.totalDemand > 0 ? Math.min(1, svc.totalDemand / capacityPerSec) : 0,
          notes: [note, ...plan.notes],
        },
      };
    };
    let b = plan.batchSize;
    for (let i = 0; i < count; i++) {
      const next = Math.max(1, Math.floor(b / 2));
      if (next === b) break;
      b = next;
      out.push(variant(b, `multi-task variant of batch ${plan.batchSize}: batch ${b} leaves room in a shared device's cycle`));
    }
    // The largest batch the plan's rule allows, where the allocator chose a smaller one for its rate alone: in a
    // shared cycle each turn waits for the co-located runs, and a larger batch needs fewer turns per item.
    const up = plan.largestBatchSize;
    if (up !== undefined && up > plan.batchSize) out.push(variant(up, `multi-task variant of batch ${plan.batchSize}: batch ${up} takes fewer turns of a shared device's cycle`));
  }
  return out;
}
