/** Input of {@link estimateCompletion}. */
export interface CompletionInput {
  /**
   * Per device of the instance: when it can start the instance's next batch, clock ms (its held batches and
   * the work other services queued on it included; see {@link DeviceTimeline.freeAt} and {@link backlogMs}).
   * Used as scratch: the function overwrites the entries, so a caller can reuse one array per instance.
   */
  readonly freeAt: number[];
  /** Items of the instance already queued (they run before the new one: equal deadlines keep FIFO order). */
  readonly queued: number;
  /** Items per batch the instance forms under load (at least 1). */
  readonly batchSize: number;
  /** Expected run time of a batch of `n` on device `device` (an index into `freeAt`), ms. */
  readonly latencyMs: (n: number, device: number) => number;
  /** Multiplier for a device shared at once by several batches (processor sharing), ≥ 1. @default 1 */
  readonly slowdown?: number;
  /** The new item's cost scale (see {@link SchedulableItem.costScale}). @default 1 */
  readonly costScale?: number;
}

/**
 * Expected completion time of a new item joining an instance's queue now: the full batches queued ahead of
 * it, each on the device free first, then its own batch (the queue's remainder plus itself). The runtime's
 * `estimate`/routing and the simulator's routing both use it, so a request is routed on the same arithmetic
 * the device then follows. O(1) for one device; O(batches ahead × devices) otherwise.
 */
export function estimateCompletion(input: CompletionInput): number {
  const free = input.freeAt;
  const d = free.length;
  if (d === 0) return Number.POSITIVE_INFINITY;
  const b = Math.max(1, Math.floor(input.batchSize));
  const slow = Math.max(1, input.slowdown ?? 1);
  const queued = Math.max(0, input.queued);
  const ahead = Math.floor(queued / b);
  const own = (queued % b) + 1;
  if (d === 1) return free[0]! + slow * (ahead * input.latencyMs(b, 0) + input.latencyMs(own, 0) * (input.costScale ?? 1));
  for (let k = 0; k < ahead; k++) {
    const i = earliest(free);
    free[i] = free[i]! + slow * input.latencyMs(b, i);
  }
  const i = earliest(free);
  return free[i]! + slow * input.latencyMs(own, i) * (input.costScale ?? 1);
}

/**
 * Device time another queue will take before a newcomer of a different service runs (EDF across services
 * treats them as ahead): `ceil(queued / batchSize)` batches of `batchMs`, split over the `devices` it may use.
 */
export function backlogMs(queued: number, batchSize: number, batchMs: number, devices = 1): number {
  if (queued <= 0) return 0;
  return (Math.ceil(queued / Math.max(1, batchSize)) * batchMs) / Math.max(1, devices);
}

function earliest(free: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < free.length; i++) if (free[i]! < free[best]!) best = i;
  return best;
}
