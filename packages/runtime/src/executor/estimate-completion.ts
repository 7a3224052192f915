import { backlogMs, estimateCompletion as estimateQueueCompletion } from '@epara/core/scheduling';
import type { Lane } from '../batching/lane.js';
import type { DeviceScheduler } from './device-scheduler.js';

/**
 * Expected completion time of a new item of `lane` submitted at `now`, from the exact local state, with
 * core's {@link estimateQueueCompletion}: each device's held batches (its timeline), the engine work
 * (generation steps) queued on it, the work other services have queued on the same devices (multi-task), the
 * lane's full batches ahead (spread over its devices, earliest free first), then its own batch, plus the
 * margin the device scheduler learned. `costScale` is the new item's input size relative to the profiled one.
 */
export function estimateCompletion(lane: Lane, schedulers: readonly DeviceScheduler[], now: number, costScale = 1): number {
  const freeAt = schedulers.map((s) => {
    // Engine work queued on the device (generation steps) runs before or between this lane's batches.
    let t = s.freeAt(now) + s.queuedWorkMs();
    for (const other of s.lanes) {
      if (other === lane || other.queue.size === 0) continue;
      t += backlogMs(other.queue.size, other.batchSize, s.expectedMs(other, other.batchSize, now), countDevices(other, schedulers));
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
  // Plus how late this lane's batches have been ending (learned per device; the first device stands for all).
  return schedulers.length > 0 ? at + schedulers[0]!.learnedGuardMs(lane) : at;
}

function countDevices(lane: Lane, schedulers: readonly DeviceScheduler[]): number {
  let n = 0;
  for (const s of schedulers) if (s.lanes.has(lane)) n++;
  return n || 1;
}
