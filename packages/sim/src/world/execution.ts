import { latencyAt } from '@epara/core';
import { DEVICE_KINDS } from '../model/hardware.js';
import { EV } from './events.js';
import type { RunningBatch, SimDevice, SimInstance, SimRequest } from './types.js';
import type { World } from './world.js';

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
function actualMs(inst: SimInstance, items: readonly SimRequest[]): number {
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

/** Brings a device's processor-sharing accounting up to `now`. */
function advance(dev: SimDevice, now: number): void {
  const n = dev.running.length;
  const elapsed = now - dev.lastUpdate;
  if (n > 0 && elapsed > 0) {
    const share = elapsed / n;
    for (const b of dev.running) b.remaining -= share;
    dev.busyMs += elapsed;
  }
  dev.lastUpdate = now;
}

function reschedule(world: World, dev: SimDevice): void {
  dev.version++;
  const n = dev.running.length;
  if (n === 0) return;
  let min = Infinity;
  for (const b of dev.running) if (b.remaining < min) min = b.remaining;
  world.queue.push(world.clock.now() + Math.max(0, min) * n, EV.DEVICE, dev.index, dev.version);
}

/** Handles a device completion event (ignored if a newer schedule superseded it). */
export function onDeviceEvent(world: World, dev: SimDevice, version: number): void {
  if (version !== dev.version || !dev.healthy) return;
  const now = world.clock.now();
  advance(dev, now);
  let done: RunningBatch[] | null = null;
  const running = dev.running;
  let keep = 0;
  for (let i = 0; i < running.length; i++) {
    const b = running[i]!;
    if (b.remaining > 1e-6) running[keep++] = b;
    else (done ??= []).push(b);
  }
  running.length = keep;
  if (done === null) return reschedule(world, dev);
  reschedule(world, dev);
  for (const b of done) {
    b.instance.running--;
    if (b.tailMs > 0) world.queue.push(now + b.tailMs, EV.PIPELINE_DONE, 0, b);
    else finishBatch(world, b);
  }
  for (const b of done) kickInstance(world, b.instance);
  kickDevice(world, dev);
}

/** Delivers the results of a finished batch. */
export function finishBatch(world: World, b: RunningBatch): void {
  const now = world.clock.now();
  for (const r of b.items) {
    if (r.settled) continue;
    world.metrics.complete(r, now + r.returnMs);
  }
  world.maybeFree(b.instance);
}

/** Queues a request at an instance of `server` (its return path is fixed here). */
export function enqueue(world: World, inst: SimInstance, req: SimRequest): void {
  const now = world.clock.now();
  req.returnMs = world.network.transferMs(inst.server, req.origin, inst.svc.responseBytes) + world.network.downlinkMs(req.origin, inst.svc.responseBytes);
  req.devDeadline = req.deadline - req.returnMs;
  req.enqueuedAt = now;
  req.qkey = inst.policy.kind === 'deadline' ? req.devDeadline : now;
  inst.queue.push(req);
  inst.arrivals++;
  kickInstance(world, inst);
}

/** Lets every device of an instance try to start a batch of it. */
export function kickInstance(world: World, inst: SimInstance): void {
  if (inst.status !== 'ready' && inst.status !== 'draining') return;
  for (const d of inst.devices) {
    if (inst.queue.size === 0) return;
    if (d.healthy && !hasRunning(d, inst)) tryLaunch(world, inst, d);
    if (inst.plan.serviceStrategy === 'model-parallel') return;
  }
}

/** Lets every instance on a device try to start a batch. */
export function kickDevice(world: World, dev: SimDevice): void {
  if (!dev.healthy) return;
  for (const inst of dev.instances) {
    if ((inst.status === 'ready' || inst.status === 'draining') && inst.queue.size > 0 && !hasRunning(dev, inst)) {
      if (inst.plan.serviceStrategy === 'model-parallel' && inst.devices[0] !== dev) continue;
      tryLaunch(world, inst, dev);
    }
  }
}

function hasRunning(dev: SimDevice, inst: SimInstance): boolean {
  for (const b of dev.running) if (b.instance === inst) return true;
  return false;
}

function tryLaunch(world: World, inst: SimInstance, dev: SimDevice): void {
  const items = inst.policy.kind === 'deadline' ? takeDeadline(world, inst) : takeTriton(world, inst);
  if (items === null) return;
  const now = world.clock.now();
  advance(dev, now);
  const total = actualMs(inst, items);
  const stages = inst.plan.serviceStrategy === 'model-parallel' ? inst.plan.stages : 1;
  const work = total / stages;
  dev.running.push({ instance: inst, device: dev, items, remaining: work, tailMs: total - work });
  if (stages > 1) for (const d of inst.devices) if (d !== dev) d.busyMs += work;
  inst.running++;
  reschedule(world, dev);
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
 * then its own batch; device sharing with other instances stretches all of it.
 */
export function estimateCompletion(inst: SimInstance, now: number, extraQueued = 0): number {
  const b = inst.plan.batchSize;
  const lb = profileMs(inst, b);
  let runningLeft = Infinity;
  let share = 1;
  for (const d of inst.devices) {
    let mine = 0;
    for (const rb of d.running) if (rb.instance === inst) mine = Math.max(mine, rb.remaining * d.running.length + rb.tailMs);
    if (mine < runningLeft) runningLeft = mine;
    share = Math.max(share, d.running.length + (hasRunningInst(d, inst) ? 0 : 1));
    if (inst.plan.serviceStrategy === 'model-parallel') break;
  }
  if (!Number.isFinite(runningLeft)) runningLeft = 0;
  const q = inst.queue.size + extraQueued;
  const replicas = inst.plan.serviceStrategy === 'data-parallel' ? inst.devices.length : 1;
  const ahead = Math.floor(q / b / replicas) * lb;
  const own = profileMs(inst, Math.min((q % b) + 1, b));
  const idleFree = inst.running < replicas ? 0 : runningLeft;
  return now + idleFree + (ahead + own) * share;
}

function hasRunningInst(d: SimDevice, inst: SimInstance): boolean {
  return hasRunning(d, inst);
}
