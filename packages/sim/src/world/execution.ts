import { actualMs, hasRunning, sharingFactor } from './device-model.js';
import { predictedMs, takeBatch } from './launch.js';
import { EV } from './events.js';
import type { RunningBatch, SimDevice, SimInstance, SimRequest } from './types.js';
import type { World } from './world-api.js';
import { noteArrival } from './arrival-rate.js';

/** Brings a device's sharing accounting up to `now`. */
function advance(dev: SimDevice, now: number, beta: number): void {
  const n = dev.running.length;
  const elapsed = now - dev.lastUpdate;
  if (n > 0 && elapsed > 0) {
    const share = elapsed / sharingFactor(n, beta);
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
  world.queue.push(world.clock.now() + Math.max(0, min) * sharingFactor(n, world.interference), EV.DEVICE, dev.index, dev.version);
}

/**
 * Batches a completion event finished, used as a stack (each call works above the depth it found and clears its
 * part when done): a fresh array per completion grew a 17-slot backing store every time.
 */
const DONE: (RunningBatch | undefined)[] = [];
let doneTop = 0;

const NO_ITEMS: SimRequest[] = [];

/**
 * A batch of `instance` on `device`, reused from the world's ended batches if it has one; the caller writes its
 * items and every one of its figures. A batch literal per launch was ~8 % of the bytes allocated (its times each a
 * heap number of their own), where a reused batch's times are written in place.
 */
function newBatch(world: World, instance: SimInstance, device: SimDevice): RunningBatch {
  const b = world.freeBatches.pop();
  if (b === undefined) return { instance, device, items: NO_ITEMS, remaining: 0, tailMs: 0, stage: 0, startedAt: 0, predictedMs: 0 };
  b.instance = instance;
  b.device = device;
  return b;
}

/** Handles a device completion event (ignored if a newer schedule superseded it). */
export function onDeviceEvent(world: World, dev: SimDevice, version: number): void {
  if (version !== dev.version || !dev.healthy) return;
  const now = world.clock.now();
  advance(dev, now, world.interference);
  const running = dev.running;
  const base = doneTop;
  let keep = 0;
  for (let i = 0; i < running.length; i++) {
    const b = running[i]!;
    if (b.remaining > 1e-6) running[keep++] = b;
    else DONE[doneTop++] = b;
  }
  running.length = keep;
  const end = doneTop;
  reschedule(world, dev);
  if (end === base) return;
  for (let i = base; i < end; i++) {
    const b = DONE[i]!;
    // The first stage frees the instance's launch device; a later stage's end only moves the batch on.
    if (b.stage === 0) b.instance.running--;
    if (b.tailMs > 0) nextStage(world, b, now);
    else {
      observeBatch(b, now);
      finishBatch(world, b);
    }
  }
  for (let i = base; i < end; i++) kickInstance(world, DONE[i]!.instance);
  for (let i = base; i < end; i++) {
    // Nothing holds an ended batch any more (out of its device's list, its completion handled): reused.
    world.freeBatches.push(DONE[i]!);
    DONE[i] = undefined;
  }
  doneTop = base;
  kickDevice(world, dev);
}

/**
 * Moves a model-parallel batch to its next stage's device, where it runs as a batch of its own: it shares that
 * device's time with the batches running there and pays their interference (and they pay its), as the first stage
 * does. A batch whose next device failed is lost there.
 */
function nextStage(world: World, b: RunningBatch, now: number): void {
  const inst = b.instance;
  const stage = b.stage + 1;
  const dev = inst.devices[stage];
  if (dev === undefined || !dev.healthy) {
    for (const r of b.items) if (!r.settled) world.dropItem(r, 'WORKER_CRASHED');
    world.maybeFree(inst);
    return;
  }
  const left = Math.max(1, inst.plan.stages - stage);
  const work = b.tailMs / left;
  advance(dev, now, world.interference);
  const next = newBatch(world, inst, dev);
  next.items = b.items;
  next.remaining = work;
  next.tailMs = b.tailMs - work;
  next.stage = stage;
  next.startedAt = b.startedAt;
  next.predictedMs = b.predictedMs;
  if (dev.running.length === 0) dev.running = [next];
  else dev.running.push(next);
  reschedule(world, dev);
}

/** The observation handed to an instance's guard (read at once, not kept): refilled per batch. */
const SEEN = { n: 0, predictedMs: 0, actualMs: 0, at: 0 };

/** Teaches the batch's instance how late it ended (at `end`) beyond the run time predicted at its launch. */
function observeBatch(b: RunningBatch, end: number): void {
  const guard = b.instance.guard;
  if (guard === null) return;
  SEEN.n = b.items.length;
  SEEN.predictedMs = b.predictedMs;
  SEEN.actualMs = end - b.startedAt;
  SEEN.at = end;
  guard.observe(SEEN);
}

/** Delivers the results of a finished batch. */
function finishBatch(world: World, b: RunningBatch): void {
  for (const r of b.items) {
    if (r.settled) continue;
    world.deliver(r, b.instance.server);
  }
  world.system.onBatchDone?.(world, b.instance, b.items);
  world.maybeFree(b.instance);
}

/** Queues a request at an instance of `server` (its return path is fixed here). */
export function enqueue(world: World, inst: SimInstance, req: SimRequest): void {
  const now = world.clock.now();
  // The device deadline leaves the result's way back to the client (uncontended) before the client's own.
  const returnMs = world.network.transferMs(inst.server, req.origin, inst.svc.responseBytes) + world.network.downlinkMs(req.origin, inst.svc.responseBytes);
  req.deadline = req.dueAt - returnMs;
  req.enqueuedAt = now;
  inst.queue.push(req);
  inst.arrivals++;
  // Fill-aware waiting and passing over a costly head under overload both read the recent arrivals.
  if (inst.policy.kind === 'deadline' && (inst.policy.fillAware === true || inst.policy.skipShrinkingHead === true)) noteArrival(inst, now);
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


function tryLaunch(world: World, inst: SimInstance, dev: SimDevice): void {
  const items = takeBatch(world, inst, dev);
  if (items === null) return;
  const now = world.clock.now();
  advance(dev, now, world.interference);
  const predicted = inst.guard === null ? 0 : predictedMs(world, inst, dev, items.length);
  const total = actualMs(inst, items);
  const stages = inst.plan.serviceStrategy === 'model-parallel' ? inst.plan.stages : 1;
  const work = total / stages;
  const batch = newBatch(world, inst, dev);
  batch.items = items;
  batch.remaining = work;
  batch.tailMs = total - work;
  batch.stage = 0;
  batch.startedAt = now;
  batch.predictedMs = predicted;
  // An idle device's list was emptied (which drops its backing store): a one-slot literal instead of a push,
  // which would grow a 17-slot store for what is most often the device's only batch.
  if (dev.running.length === 0) dev.running = [batch];
  else dev.running.push(batch);
  inst.running++;
  reschedule(world, dev);
}

