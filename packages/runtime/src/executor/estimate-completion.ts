import type { Lane } from '../batching/lane.js';
import type { DeviceScheduler } from './device-scheduler.js';

/**
 * Expected completion time of a new item of `lane` submitted at `now`, from the exact local state: each
 * device's current batch, the full batches queued ahead of it (spread over the lane's devices, earliest free
 * first), the work other services have queued on the same devices (multi-task), then its own batch.
 */
export function estimateCompletion(lane: Lane, schedulers: readonly DeviceScheduler[], now: number): number {
  const b = Math.max(1, lane.batchSize);
  const free = schedulers.map((s) => {
    let t = s.freeAt(now);
    for (const other of s.lanes) {
      if (other === lane || other.queue.size === 0) continue;
      const batches = Math.ceil(other.queue.size / Math.max(1, other.batchSize));
      t += (batches * other.latencyMs(s.device.id, other.batchSize)) / Math.max(1, countDevices(other, schedulers));
    }
    return { id: s.device.id, t };
  });
  const ahead = Math.floor(lane.queue.size / b);
  for (let i = 0; i < ahead; i++) {
    const f = earliest(free);
    f.t += lane.latencyMs(f.id, b);
  }
  const own = (lane.queue.size % b) + 1;
  const f = earliest(free);
  return f.t + lane.latencyMs(f.id, own);
}

function earliest(free: { id: string; t: number }[]): { id: string; t: number } {
  let best = free[0]!;
  for (const f of free) if (f.t < best.t) best = f;
  return best;
}

function countDevices(lane: Lane, schedulers: readonly DeviceScheduler[]): number {
  let n = 0;
  for (const s of schedulers) if (s.lanes.has(lane)) n++;
  return n || 1;
}
