import { latencyAt } from '@epara/core';
import { estimateCompletion as coreEstimateCompletion, type CompletionInput } from '@epara/core/scheduling';
import { DEVICE_KINDS } from '../model/hardware.js';
import type { SimDevice, SimInstance, SimRequest } from './types.js';

/*
 * What the world knows about running a batch: the profile a scheduler can know in advance, the true run time,
 * and how sharing a device stretches both. The scheduling rules themselves are core's (see launch.ts).
 */

/**
 * Profile latency of a batch of `k` on one device of the instance (what a scheduler can know in advance),
 * scaled for model-parallel pipelines by the plan's own run time.
 */
export function profileMs(inst: SimInstance, k: number): number {
  const p = inst.profile;
  if (inst.plan.serviceStrategy !== 'model-parallel') return latencyAt(p, k);
  return (inst.plan.runMs * latencyAt(p, k)) / latencyAt(p, inst.plan.batchSize);
}

/** True run time of a batch (LLM batches last as long as their longest answer). */
export function actualMs(inst: SimInstance, items: readonly SimRequest[]): number {
  const llm = inst.svc.llm;
  if (llm === undefined) return profileMs(inst, items.length);
  let prompt = 0;
  let maxOut = 0;
  for (const r of items) {
    prompt += r.promptTokens;
    if (r.outputTokens > maxOut) maxOut = r.outputTokens;
  }
  const p = inst.profile;
  const slowdown = DEVICE_KINDS[inst.devices[0]!.kind]?.slowdown ?? 1;
  const ms = slowdown * (prompt * llm.prefillMsPerToken + maxOut * (llm.decodeFixedMs + llm.decodePerItemMs * items.length));
  return inst.plan.serviceStrategy === 'model-parallel' ? (ms * inst.plan.runMs) / latencyAt(p, inst.plan.batchSize) : ms;
}

/**
 * Wall time per unit of exclusive work when `n` batches share a device: time-slicing (`n`) times the
 * co-location interference `1 + β(n − 1)` (caches, memory bandwidth, context switches), so sharing is never
 * free. β is the world's `interference` (documented in docs/simulator.md).
 */
export function sharingFactor(n: number, beta: number): number {
  return n <= 1 ? 1 : n * (1 + beta * (n - 1));
}

/** True if the instance has a batch running on the device. */
export function hasRunning(dev: SimDevice, inst: SimInstance): boolean {
  for (const b of dev.running) if (b.instance === inst) return true;
  return false;
}

/**
 * "If this request joined now, when would its result leave the server?", by core's `estimateCompletion`
 * (the arithmetic the runtime's routing uses too): each device of the instance is free when the instance's
 * batch running on it ends (its remaining work stretched by the device's current sharing), the queued
 * batches run ahead, then its own; device sharing with other instances stretches all of it (time slicing and
 * the interference `beta` the world documents, which systems may profile).
 */
export function estimateCompletion(inst: SimInstance, now: number, extraQueued = 0, beta = 0): number {
  const free = inst.freeAt;
  // Overwritten in place (emptying the array first would drop its backing store and allocate a new one).
  let used = 0;
  let share = 1;
  for (const d of inst.devices) {
    let at = now;
    for (const rb of d.running) if (rb.instance === inst) at = Math.max(at, now + rb.remaining * sharingFactor(d.running.length, beta) + rb.tailMs);
    free[used++] = at;
    share = Math.max(share, d.running.length + (hasRunning(d, inst) ? 0 : 1));
    if (inst.plan.serviceStrategy !== 'data-parallel') break;
  }
  if (free.length !== used) free.length = used;
  const input = ESTIMATE;
  estimating = inst;
  input.freeAt = free;
  input.queued = inst.queue.size + extraQueued;
  input.batchSize = inst.plan.batchSize;
  input.slowdown = sharingFactor(share, beta);
  return coreEstimateCompletion(input);
}

// One reused input of core estimateCompletion (it reads it synchronously and keeps nothing): routing estimates
// every local instance per request, and a fresh object and closure each time were measurable GC load.
let estimating: SimInstance | undefined;
const ESTIMATE: { -readonly [K in keyof CompletionInput]-?: CompletionInput[K] } = {
  freeAt: [], queued: 0, batchSize: 1, slowdown: 1, costScale: 1,
  latencyMs: (n) => profileMs(estimating!, n),
};
