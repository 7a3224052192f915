import { latencyAt } from '@epara/core';
import { DEVICE_KINDS } from '../model/hardware.js';
import { EV } from './events.js';
import type { SimDevice, SimInstance, SimRequest } from './types.js';
import type { World } from './world.js';

/*
 * The request-level scheduling rules of the simulator in one place (the seam to a shared scheduler): which
 * items launch as the next batch of an instance and when, and the completion estimate routing uses.
 * Device accounting, interference and delivery stay in execution.ts.
 */

/**
 * Profile latency of a batch of `k` on one device of the instance (what a scheduler can know in advance),
 * scaled for model-parallel pipelines by the plan's own run time.
 */
export function profileMs(inst: SimInstance, k: number): number {
  const p = inst.svc.spec.profiles[inst.devices[0]!.kind]!;
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
  const p = inst.svc.spec.profiles[inst.devices[0]!.kind]!;
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

/** The next batch of an instance by its policy, or null (a timer is set when it should look again). */
export function takeBatch(world: World, inst: SimInstance): SimRequest[] | null {
  return inst.policy.kind === 'deadline' ? takeDeadline(world, inst) : takeTriton(world, inst);
}

function setTimer(world: World, inst: SimInstance, at: number): void {
  if (inst.timerAt > world.clock.now() && inst.timerAt <= at) return;
  inst.timerVersion++;
  inst.timerAt = at;
  world.queue.push(at, EV.TIMER, inst.timerVersion, inst);
}

/** EPARA's rule: EDF; drop hopeless items; launch when full or when waiting would miss the earliest deadline. */
function takeDeadline(world: World, inst: SimInstance): SimRequest[] | null {
  const now = world.clock.now();
  const q = inst.queue;
  const l1 = profileMs(inst, 1);
  while (q.size > 0 && q.peek()!.devDeadline < now + l1) world.dropItem(q.pop()!, 'DEADLINE_EXCEEDED');
  if (q.size === 0) return null;
  const b = inst.plan.batchSize;
  const guard = inst.policy.kind === 'deadline' ? inst.policy.guardMs : 0;
  let k = Math.min(q.size, b);
  const earliest = q.peek()!.devDeadline;
  if (k < b && inst.status === 'ready') {
    const launchBy = earliest - guard - profileMs(inst, k);
    if (now < launchBy) {
      setTimer(world, inst, launchBy);
      return null;
    }
  }
  while (k > 1 && now + profileMs(inst, k) > earliest) k--;
  const items: SimRequest[] = [];
  for (let i = 0; i < k; i++) items.push(q.pop()!);
  return items;
}

/** Triton's dynamic batcher: FIFO, reject after the queue timeout, launch when full or after max queue delay. */
function takeTriton(world: World, inst: SimInstance): SimRequest[] | null {
  if (inst.policy.kind !== 'triton') return null;
  const now = world.clock.now();
  const q = inst.queue;
  while (q.size > 0 && now - q.peek()!.enqueuedAt > inst.policy.queueTimeoutMs) world.dropItem(q.pop()!, 'DEADLINE_EXCEEDED');
  if (q.size === 0) return null;
  const b = inst.plan.batchSize;
  const oldest = q.peek()!.enqueuedAt;
  if (q.size < b && now < oldest + inst.policy.maxQueueDelayMs && inst.status === 'ready') {
    setTimer(world, inst, oldest + inst.policy.maxQueueDelayMs);
    return null;
  }
  const k = Math.min(q.size, b);
  const items: SimRequest[] = [];
  for (let i = 0; i < k; i++) items.push(q.pop()!);
  return items;
}

/**
 * The instance's exact answer to "if this request joined now, when would its result leave the server?":
 * the running batch's remaining time, the full batches ahead of it (split over data-parallel replicas),
 * then its own batch; device sharing with other instances stretches all of it (time slicing and the
 * interference `beta` the world documents, which systems may profile).
 */
export function estimateCompletion(inst: SimInstance, now: number, extraQueued = 0, beta = 0): number {
  const b = inst.plan.batchSize;
  const lb = profileMs(inst, b);
  let runningLeft = Infinity;
  let share = 1;
  for (const d of inst.devices) {
    let mine = 0;
    for (const rb of d.running) if (rb.instance === inst) mine = Math.max(mine, rb.remaining * sharingFactor(d.running.length, beta) + rb.tailMs);
    if (mine < runningLeft) runningLeft = mine;
    share = Math.max(share, d.running.length + (hasRunning(d, inst) ? 0 : 1));
    if (inst.plan.serviceStrategy === 'model-parallel') break;
  }
  if (!Number.isFinite(runningLeft)) runningLeft = 0;
  const q = inst.queue.size + extraQueued;
  const replicas = inst.plan.serviceStrategy === 'data-parallel' ? inst.devices.length : 1;
  const ahead = Math.floor(q / b / replicas) * lb;
  const own = profileMs(inst, Math.min((q % b) + 1, b));
  const idleFree = inst.running < replicas ? 0 : runningLeft;
  return now + idleFree + (ahead + own) * sharingFactor(share, beta);
}
