import { backlogMs, estimateCompletion as estimateQueueCompletion } from '@epara/core/scheduling';
import type { WorkItem } from '../batching/work-item.js';
import type { Lane } from '../batching/lane.js';
import type { DeviceScheduler } from './device-scheduler.js';

/** Most passes of {@link overtakingMs}'s fixed point (each pass is a few multiplications per lane). */
const OVERTAKE_PASSES = 8;
/** The fixed point stops once a pass adds less than this, ms. */
const OVERTAKE_SETTLED_MS = 0.05;

/**
 * Expected completion time of a new item of `lane` submitted at `now`, from the exact local state, with
 * core's {@link estimateQueueCompletion}: each device's held batches (its timeline), then, in the device's order
 * of service, the engine work (generation steps) queued on it, and the work
 * other services have queued on the same devices (multi-task), as far as it is due before the new item (what is
 * due after it runs after it, {@link DeviceScheduler.queuedWorkMs}; all of it when the lane's deadline budget is
 * unknown), the lane's full
 * batches ahead (spread over its devices, earliest free first), then its own batch, plus the work that will
 * arrive while it waits and be due before it ({@link overtakingMs}), plus what the lane's later arrivals add to
 * its own batch ({@link fillMs}), plus the margin the device scheduler learned. `costScale` is the new item's
 * input size relative to the profiled one.
 */
export function estimateCompletion(lane: Lane, schedulers: readonly DeviceScheduler[], now: number, costScale = 1): number {
  // In each device's order of service: what it holds, then the work committed to it and due before the new item
  // (engine work queued and other services' queued items, due first).
  const before = lane.deadlineBudgetMs === undefined ? Number.POSITIVE_INFINITY : now + lane.deadlineBudgetMs;
  const freeAt = schedulers.map((s) => {
    let t = s.freeAt(now) + s.queuedWorkMs(before);
    for (const other of s.lanes) {
      if (other === lane || other.queue.size === 0) continue;
      const k = dueBy(other.queue.items, before);
      if (k > 0) t += backlogMs(k, other.batchSize, s.expectedMs(other, other.batchSize, now), countDevices(other, schedulers));
    }
    return t;
  });
  const at = estimateQueueCompletion({
    freeAt,
    queued: lane.queue.size,
    batchSize: lane.batchSize,
    latencyMs: (n, i) => schedulers[i]!.expectedMs(lane, n, now),
    costScale,
  });
  if (schedulers.length === 0) return at;
  // The wait before its own batch starts: what arrives meanwhile and is due first goes ahead of it.
  const own = (lane.queue.size % Math.max(1, Math.floor(lane.batchSize))) + 1;
  let ownMs = Number.POSITIVE_INFINITY;
  for (const s of schedulers) ownMs = Math.min(ownMs, s.expectedMs(lane, own, now) * costScale);
  const waitMs = Math.max(0, at - ownMs - now);
  const overtaking = overtakingMs(lane, schedulers, now, waitMs);
  const fill = fillMs(lane, schedulers, now, own, waitMs + overtaking) * costScale;
  // Plus how late this lane's batches have been ending (learned per device; the first device stands for all).
  return at + overtaking + fill + schedulers[0]!.learnedGuardMs(lane);
}

/**
 * Device time that work arriving while a new item of `lane` waits `waitMs` for its batch, and due before it,
 * takes ahead of it: the queue the estimate reads is the one at `now`, while the device runs work in
 * earliest-deadline order. Counted per device of the lane (the busiest counts):
 * - each other lane whose items carry a shorter deadline budget ({@link Lane.deadlineBudgetMs}): its items
 *   arriving within the first `budget − its budget` ms of the wait are due first, and take the share of the
 *   device its recent arrivals need ({@link Lane.loadShare}) of that time — and of the time its largest batch
 *   takes to fill past that lead ({@link rideAlongMs}), whose items its last batch due first takes along;
 * - the engine work (generation steps, paced at short deadlines: due before a queued batch), at the share of
 *   the device it took lately ({@link DeviceScheduler.workShare}), over the whole wait.
 *
 * What goes ahead lengthens the wait, in which more arrives: the fixed point `w = waitMs + overtaking(w)`, from
 * `w = waitMs`, at most {@link OVERTAKE_PASSES} passes (it stays finite when the shares sum past 1: each lane's
 * part is capped by its lead; the engine's by the passes). Zero on a device the lane has to itself.
 */
function overtakingMs(lane: Lane, schedulers: readonly DeviceScheduler[], now: number, waitMs: number): number {
  if (!(waitMs > 0)) return 0;
  const budget = lane.deadlineBudgetMs;
  let w = waitMs;
  for (let pass = 0; pass < OVERTAKE_PASSES; pass++) {
    let ahead = 0;
    for (const s of schedulers) {
      let ms = Math.max(0, s.workShare(now)) * w;
      if (budget !== undefined) {
        for (const other of s.lanes) {
          if (other === lane || other.deadlineBudgetMs === undefined) continue;
          const lead = budget - other.deadlineBudgetMs;
          if (lead > 0) ms += Math.max(0, other.loadShare(s.device.id, now)) * Math.min(w, lead + rideAlongMs(other, now));
        }
      }
      ahead = Math.max(ahead, ms);
    }
    const next = waitMs + ahead;
    const settled = next - w < OVERTAKE_SETTLED_MS;
    w = next;
    if (settled) break;
  }
  return w - waitMs;
}

/**
 * How much longer the new item's own batch runs than the `own` items the queue leaves it: the launch rule takes
 * the batch when the item's turn comes, with every item queued by then (later arrivals of the lane, due after
 * it, included) up to the lane's largest batch. Under a backlog that is the largest batch, not the remainder.
 * The items arriving within the wait `waitMs` fill it, at the lane's recent arrival rate (none when unknown).
 */
function fillMs(lane: Lane, schedulers: readonly DeviceScheduler[], now: number, own: number, waitMs: number): number {
  const perMs = lane.arrivalsPerMs(now) ?? 0;
  const fill = Math.min(Math.max(own, Math.floor(lane.maxBatchSize)), own + Math.floor((perMs * waitMs) / Math.max(1, schedulers.length)));
  if (fill <= own) return 0;
  let ms = Number.POSITIVE_INFINITY;
  for (const s of schedulers) ms = Math.min(ms, s.expectedMs(lane, fill, now) - s.expectedMs(lane, own, now));
  return Math.max(0, ms);
}

/**
 * How long past its lead another lane's arrivals still go ahead: the last batch of it headed by an item due
 * first takes every item of it queued by then, up to its largest batch — the ones due after the new item too.
 * At the lane's recent arrival rate, the time its largest batch takes to fill (0 when its rate is unknown).
 */
function rideAlongMs(other: Lane, now: number): number {
  const perMs = other.arrivalsPerMs(now);
  return perMs !== undefined && perMs > 0 ? (Math.max(1, Math.floor(other.maxBatchSize)) - 1) / perMs : 0;
}

function countDevices(lane: Lane, schedulers: readonly DeviceScheduler[]): number {
  let n = 0;
  for (const s of schedulers) if (s.lanes.has(lane)) n++;
  return n || 1;
}

/** How many of the EDF-sorted `items` are due by `before` (a binary search: deadlines only grow along the queue). */
function dueBy(items: readonly WorkItem[], before: number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (items[mid]!.deadline <= before) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
