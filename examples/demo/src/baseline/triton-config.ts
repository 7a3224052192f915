import { latencyAt, type LatencyProfile } from '@epara/core';
import { budgetOf, type DemoService, type DemoServiceId } from '../catalog.js';
import { DEVICE_MEMORY_BYTES } from '../placement.js';
import type { Workload } from '../workload.js';

/**
 * `max_queue_delay` of every model, ms. Triton's sweep values are 0, 1, 5 and 10 ms; 5 ms is used: it is 5%
 * of the tightest SLO (100 ms), so it cannot by itself cost a deadline, and it is long enough to collect
 * several frames of the multi-stream services (90–190 items/s in total) into one batch, which 0–1 ms does not.
 */
export const TRITON_MAX_QUEUE_DELAY_MS = 5;

/** One model's Triton-like configuration. */
export interface TritonModelConfig {
  readonly serviceId: DemoServiceId;
  /** `max_batch_size`: the largest measured batch whose latency fits the SLO. */
  readonly maxBatch: number;
  /** Node indices holding one instance each (one instance per device; each demo node has one device). */
  readonly nodes: readonly number[];
}

/** The whole baseline configuration. */
export interface TritonConfig {
  readonly models: readonly TritonModelConfig[];
  readonly maxQueueDelayMs: number;
}

/** Largest profiled batch whose latency fits the budget (what Triton's model analyzer would pick); at least 1. */
export function maxBatchWithin(profile: LatencyProfile, budgetMs: number): number {
  let best = 1;
  for (const p of profile.points) if (latencyAt(profile, p.batch) <= budgetMs) best = Math.max(best, p.batch);
  return best;
}

/**
 * Static placement as an operator would configure it: replicas proportional to each model's average demand
 * in device time (items/s × per-item latency at its batch size; at least one, at most one per device), then
 * bin-packed by declared memory (each replica on the device with the most free memory that lacks the model).
 */
export function tritonConfig(o: {
  catalog: readonly DemoService[];
  profiles: Readonly<Record<DemoServiceId, LatencyProfile>>;
  workload: Workload;
  nodes: number;
  maxQueueDelayMs?: number;
}): TritonConfig {
  const batch = new Map(o.catalog.map((s) => [s.id, maxBatchWithin(o.profiles[s.id], budgetOf(s))]));
  const busy = o.catalog.map((s) => {
    const b = batch.get(s.id)!;
    const rate = o.workload.demand[s.id].reduce((a, x) => a + x, 0);
    return (rate * latencyAt(o.profiles[s.id], b)) / b / 1000;
  });
  const total = busy.reduce((a, x) => a + x, 0) || 1;
  const free = Array.from({ length: o.nodes }, () => DEVICE_MEMORY_BYTES);
  const order = o.catalog.map((s, i) => ({ s, replicas: Math.min(o.nodes, Math.max(1, Math.round((o.nodes * busy[i]!) / total))) }));
  order.sort((a, b) => b.replicas - a.replicas || b.s.memory.weightsBytes - a.s.memory.weightsBytes);
  const models: TritonModelConfig[] = [];
  for (const { s, replicas } of order) {
    const need = s.memory.weightsBytes + s.memory.perItemBytes * batch.get(s.id)!;
    const nodes: number[] = [];
    for (let r = 0; r < replicas; r++) {
      const candidates = free.map((m, i) => ({ m, i })).filter((d) => !nodes.includes(d.i) && d.m >= need);
      candidates.sort((a, b) => b.m - a.m || a.i - b.i);
      const d = candidates[0];
      if (!d) break;
      free[d.i]! -= need;
      nodes.push(d.i);
    }
    models.push({ serviceId: s.id, maxBatch: batch.get(s.id)!, nodes: nodes.sort((a, b) => a - b) });
  }
  return { models: o.catalog.map((s) => models.find((m) => m.serviceId === s.id)!), maxQueueDelayMs: o.maxQueueDelayMs ?? TRITON_MAX_QUEUE_DELAY_MS };
}
