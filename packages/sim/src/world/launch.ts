import { LaunchPlan, planLaunch, skipShrinkingHeadAt, type EdfQueue, type LatencyGuard, type LaunchContext } from '@epara/core/scheduling';
import { EV } from './events.js';
import { profileMs, sharingFactor } from './device-model.js';
import { launchPackSize } from './rate-pack.js';
import { arrivalsPerMs } from './arrival-rate.js';
import { RequestHeap, type SimDevice, type SimInstance, type SimRequest } from './types.js';
import type { World } from './world-api.js';

/*
 * Which queued items launch as an instance's next batch, and when. The deadline policy is core's request
 * scheduler (`planLaunch` on an `EdfQueue`, the rule the runtime's device scheduler drives), fed by the
 * world's virtual clock; Triton's dynamic batcher is the baseline's own FIFO rule.
 */

/** The next batch of an instance on `dev` by its policy, or null (a timer is set when it should look again). */
export function takeBatch(world: World, inst: SimInstance, dev: SimDevice): SimRequest[] | null {
  return inst.queue instanceof RequestHeap ? takeTriton(world, inst, inst.queue) : takeDeadline(world, inst, inst.queue, dev);
}

/**
 * Expected run time of a batch of `n` as the instance's scheduler sees it at launch on `dev` (what its learned
 * guard measures lateness against): the profile, or with a share-aware policy its wall time on the device as shared now
 * ({@link sharedRunMs}).
 */
export function predictedMs(world: World, inst: SimInstance, dev: SimDevice, n: number): number {
  const work = profileMs(inst, n);
  return shareAware(inst) ? sharedRunMs(work, remainingOn(world, dev, SCRATCH), world.interference) : work;
}

function shareAware(inst: SimInstance): boolean {
  return inst.policy.kind === 'deadline' && inst.policy.shareAware === true;
}

const SCRATCH: number[] = [];
const ascending = (a: number, b: number): number => a - b;

/** Exclusive work left of the batches running on `dev` now, ascending (into `out`). */
function remainingOn(world: World, dev: SimDevice, out: number[]): number[] {
  const n = dev.running.length;
  const done = (world.clock.now() - dev.lastUpdate) / sharingFactor(n, world.interference);
  // Overwritten in place (emptying the array first would drop its backing store and allocate a new one).
  for (let i = 0; i < n; i++) out[i] = Math.max(0, dev.running[i]!.remaining - done);
  if (out.length !== n) out.length = n;
  if (out.length > 1) out.sort(ascending);
  return out;
}

/**
 * Wall time of `work` ms of exclusive work started now on a device whose running batches have `others` ms of
 * exclusive work left (ascending), under the world's processor sharing with interference `beta`, if nothing
 * else starts: phase by phase, every active batch advances at `1 / sharingFactor(active)`, and the device's
 * share grows as the others end. Exact for the world's device model; the profile alone when it runs alone.
 */
export function sharedRunMs(work: number, others: readonly number[], beta: number): number {
  let t = 0;
  let done = 0;
  let active = others.length + 1;
  for (const r of others) {
    if (r >= work) break;
    t += (r - done) * sharingFactor(active, beta);
    done = r;
    active--;
  }
  return t + (work - done) * sharingFactor(active, beta);
}

function setTimer(world: World, inst: SimInstance, at: number): void {
  if (inst.timerAt > world.clock.now() && inst.timerAt <= at) return;
  inst.timerVersion++;
  inst.timerAt = at;
  world.queue.push(at, EV.TIMER, inst.timerVersion, inst);
}

// One reused launch context (planLaunch reads it synchronously and keeps nothing), with its latency function
// reading the instance being planned: a fresh object and closure per launch attempt were measurable GC load.
let launching: SimInstance | undefined;
let launchOthers: number[] | null = null;
let launchBeta = 0;
let launchGuard: LatencyGuard | null = null;
const LAUNCH: { -readonly [K in 'now' | 'startAt' | 'batchSize' | 'maxBatchSize' | 'latencyMs' | 'dropLatencyMs' | 'guardMs' | 'launchWhenIdle']: NonNullable<LaunchContext[K]> } & {
  arrivalsPerMs: number | undefined;
  sizeGuardMs: ((n: number) => number) | undefined;
  overloadBelowPlan: boolean;
  skipShrinkingHead: number | undefined;
} = {
  now: 0, startAt: 0, batchSize: 1, maxBatchSize: 1, dropLatencyMs: 0, guardMs: 0, launchWhenIdle: false, arrivalsPerMs: undefined, overloadBelowPlan: false, skipShrinkingHead: undefined, sizeGuardMs: undefined,
  latencyMs: (n) =>
    launchOthers === null ? profileMs(launching!, n) : sharedRunMs(profileMs(launching!, n), launchOthers, launchBeta),
};

let launchNow = 0;
/**
 * One reused decision (core fills it in place; nothing here keeps it past the call): a fresh plan per launch
 * attempt was five arrays, a set and the decision object, ~12 % of all bytes allocated. The launched batch is
 * copied out (its items outlive the next attempt).
 */
const PLAN = new LaunchPlan<SimRequest>();
const learnedSizeGuard = (n: number): number => launchGuard!.excessMs(n, launchNow);

/** Core's rule: EDF; drop hopeless items; launch when full or when waiting would miss the head's deadline. */
function takeDeadline(world: World, inst: SimInstance, q: EdfQueue<SimRequest>, dev: SimDevice): SimRequest[] | null {
  if (q.size === 0 || inst.policy.kind !== 'deadline') return null;
  const now = world.clock.now();
  const size = inst.policy.ratePacks === true ? launchPackSize(inst) : inst.plan.batchSize;
  const ctx = LAUNCH;
  launching = inst;
  launchOthers = shareAware(inst) && dev.running.length > 0 ? remainingOn(world, dev, SCRATCH) : null;
  launchBeta = world.interference;
  launchGuard = inst.guard;
  ctx.now = now;
  ctx.startAt = now;
  ctx.batchSize = size;
  // Under a backlog a batch may grow to the plan's size (what placement reserved memory for), as the runtime's
  // instances grow to their `maxBatchSize`: a pack sized for the pinned rate alone keeps up with it only by using
  // all of the device, and a backlog left by a burst never drained.
  ctx.maxBatchSize = inst.plan.batchSize;
  // Drops stay optimistic: an item is rejected only when even an unshared run alone would miss.
  ctx.dropLatencyMs = profileMs(inst, 1);
  // The learned guard (core's `LatencyGuard`, as the runtime keeps it) answers per candidate batch size.
  ctx.guardMs = inst.policy.guardMs;
  ctx.sizeGuardMs = inst.guard === null ? undefined : learnedSizeGuard;
  launchNow = now;
  // A draining instance (or one whose successor is loading) does not wait to fill a batch.
  ctx.launchWhenIdle = inst.status !== 'ready';
  // Fill-aware waiting (as the runtime's instances): an idle device waits for a partial batch only when the
  // recent arrivals are expected to fill it before the head's latest start.
  // Both rules read the same recent arrivals: computed once.
  const fillAware = inst.policy.fillAware === true;
  const skipShrinking = inst.policy.skipShrinkingHead === true;
  const arrivals = fillAware || skipShrinking ? arrivalsPerMs(inst, now) : 0;
  ctx.arrivalsPerMs = fillAware ? arrivals : undefined;
  ctx.overloadBelowPlan = inst.policy.overloadBelowPlan === true;
  // Under overload, a head that only a small batch could serve is passed over for a batch that does much more.
  ctx.skipShrinkingHead = skipShrinking ? skipShrinkingHeadAt(loadOf(inst, arrivals, size)) : undefined;
  const d = planLaunch(q.items, ctx, PLAN);
  const launch = d.launch === undefined ? undefined : d.launch.slice();
  const wakeAt = d.wakeAt;
  if (d.drop.length > 0) {
    q.removeAll(d.drop);
    for (const r of d.drop) world.dropItem(r, 'DEADLINE_EXCEEDED');
  }
  if (launch !== undefined) {
    q.removeAll(launch);
    return launch;
  }
  if (wakeAt !== undefined) setTimer(world, inst, wakeAt);
  return null;
}

/** Triton's dynamic batcher: FIFO, reject after the queue timeout, launch when full or after max queue delay. */
function takeTriton(world: World, inst: SimInstance, q: RequestHeap): SimRequest[] | null {
  if (inst.policy.kind !== 'triton') return null;
  const now = world.clock.now();
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

/** Device time `arrivals` (items/ms) need per ms of each of the instance's devices, at packs or batches of `size`. */
function loadOf(inst: SimInstance, arrivals: number, size: number): number {
  return (arrivals * profileMs(inst, size)) / size / inst.devices.length;
}
