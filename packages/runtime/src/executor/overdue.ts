import type { WorkItem } from '../batching/work-item.js';

/**
 * How long past its deadline an item of a batch its device has not answered waits before it is given up on, ms —
 * at least this, or its whole budget (deadline − enqueued) when that is longer. A device answers every run it is
 * given, or fails it (a crashed worker, a closed device); a worker stuck inside a run (a backend that never
 * returns) answers neither, and without this its requests would settle only when the caller aborts them or the
 * executor closes. The item then fails `DEADLINE_EXCEEDED` (`STALE_FRAME` for a stream frame) while the batch
 * keeps its place on the device: an answer that comes after all is discarded (an item settles once). Generous, so
 * that a slow machine's late answers stay answers. The device scheduler that launched the batch gives up on it,
 * from its own wake-up (`DeviceScheduler`): no timer per batch. Once every item of a batch is given up on, the run
 * watchdog restarts the device's worker (`DeviceHandle.recycle`): a run that holds the device this long past its
 * requests' deadlines — a model computing an output of gigabytes, a backend that never returns — no longer holds
 * the work queued behind it, nor the memory it took.
 */
export const OVERDUE_GRACE_MS = 10_000;

/** When an item of a running batch is given up on ({@link OVERDUE_GRACE_MS}). */
export function giveUpAt(item: WorkItem): number {
  return item.deadline + Math.max(OVERDUE_GRACE_MS, item.deadline - item.enqueuedAt);
}
