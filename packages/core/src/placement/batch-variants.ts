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
 * kind is offered again at `b/2`, `b/4`, … (`count` halvings, distinct, ≥ 1). A variant keeps the plan's
 * worst-case-latency rule (scaled with `L(b')/L(b)`), needs `perItem × (b − b')` less memory and serves
 * `b' / L(b')` items/s alone, less than the original: it pays when it shares a device, where its shorter
 * run keeps the round-robin cycle within the co-located deadlines, or alone on a device too small for `b`.
 */
export function withBatchVariants(svc: ServiceNode, count: number): readonly BatchVariant[] {
  const out: BatchVariant[] = svc.plans.map((plan) => ({ plan, parent: null }));
  if (count === 0) return out;
  for (const plan of svc.plans) {
    const profile = svc.spec.profiles[plan.deviceKind];
    if (!profile || plan.requestStrategy !== 'batching' || plan.serviceStrategy !== 'single' || plan.devices !== 1) continue;
    const base = latencyAt(profile, plan.batchSize);
    let b = plan.batchSize;
    for (let i = 0; i < count; i++) {
      const next = Math.max(1, Math.floor(b / 2));
      if (next === b) break;
      b = next;
      const runMs = latencyAt(profile, b);
      const capacityPerSec = (1000 * b) / runMs;
      out.push({
        parent: plan,
        plan: {
          ...plan,
          batchSize: b,
          runMs,
          capacityPerSec,
          memoryPerDeviceBytes: Math.max(0, plan.memoryPerDeviceBytes - svc.spec.memory.perItemBytes * (plan.batchSize - b)),
          expectedLatencyMs: (plan.expectedLatencyMs * runMs) / base,
          goodputPerDevice: Math.min(svc.totalDemand, capacityPerSec),
          utilization: svc.totalDemand > 0 ? Math.min(1, svc.totalDemand / capacityPerSec) : 0,
          notes: [`multi-task variant of batch ${plan.batchSize}: batch ${b} leaves room in a shared device's cycle`, ...plan.notes],
        },
      });
    }
  }
  return out;
}
