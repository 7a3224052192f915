import type { WorkItem } from './work-item.js';

/** Inputs of {@link planLaunch}. */
export interface LaunchContext {
  /** Current time, clock ms. */
  readonly now: number;
  /** Earliest time a device could start this batch (≥ now). */
  readonly startAt: number;
  /** Items per batch (batching) or per pack (multi-frame): a batch this full launches at once. */
  readonly batchSize: number;
  /**
   * Largest batch when a backlog allows more than `batchSize` (every item still meeting its deadline): under
   * overload bigger batches raise throughput exactly when it is needed. @default batchSize
   */
  readonly maxBatchSize?: number;
  /** Expected run time of a batch of `n` on the device, ms. */
  readonly latencyMs: (n: number) => number;
  /** Safety margin before a deadline, ms. */
  readonly guardMs: number;
  /** Launch a partial batch as soon as a device is idle, instead of waiting to fill it. */
  readonly launchWhenIdle: boolean;
}

/** What the batcher should do now. */
export interface LaunchDecision {
  /** Items that can no longer meet their deadline: reject them before they waste the device. */
  readonly drop: WorkItem[];
  /** Items to run now as one batch (EDF order), if any. */
  readonly launch?: WorkItem[];
  /** When to look again if nothing launches now (clock ms). */
  readonly wakeAt?: number;
  /** Deadline of the batch's earliest item (for choosing between services on a device). */
  readonly headDeadline?: number;
  /** The batch that would run (also when it is not due yet). */
  readonly group?: WorkItem[];
  /** Expected run time of `group`, ms. */
  readonly runMs?: number;
}

/**
 * The deadline-aware dynamic batching rule (DESIGN.md §1): EDF order; an item that cannot finish by its
 * deadline even alone is dropped; a batch takes the head item and the next items with the same key (at most
 * one frame per stateful stream, none whose stream has a frame in flight; up to `maxBatchSize` when a backlog
 * allows), shrunk until the head still meets its deadline; it launches when full, or when waiting longer would miss the head's deadline
 * (`now + L(n) ≥ headDeadline − guard`), else the batcher wakes up at that moment.
 */
export function planLaunch(items: readonly WorkItem[], ctx: LaunchContext): LaunchDecision {
  const drop: WorkItem[] = [];
  const alone = ctx.latencyMs(1);
  const limit = Math.max(ctx.batchSize, ctx.maxBatchSize ?? ctx.batchSize);
  let head: WorkItem | undefined;
  const group: WorkItem[] = [];
  const streams = new Set<string>();
  for (const item of items) {
    if (item.deadline < ctx.startAt + alone) {
      drop.push(item);
      continue;
    }
    // Deadlines only grow along the queue: past the droppable prefix, a full group ends the scan.
    if (group.length >= limit) break;
    if (item.slot && (item.slot.inFlight || streams.has(item.slot.streamId))) continue;
    if (head && item.key !== head.key) continue;
    head ??= item;
    group.push(item);
    if (item.slot) streams.add(item.slot.streamId);
  }
  if (!head) return { drop };
  let n = group.length;
  while (n > 1 && ctx.startAt + ctx.latencyMs(n) > head.deadline) n--;
  group.length = n;
  const runMs = ctx.latencyMs(n);
  const latestStart = head.deadline - ctx.guardMs - runMs;
  const idle = ctx.startAt <= ctx.now;
  const base = { drop, group, runMs, headDeadline: head.deadline };
  if (idle && (n >= ctx.batchSize || ctx.launchWhenIdle || ctx.now >= latestStart)) return { ...base, launch: group };
  return { ...base, wakeAt: Math.max(latestStart, ctx.startAt) };
}
