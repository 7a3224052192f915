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
  /**
   * Run time of one item used for dropping, ms: an item is dropped only when even this cannot meet its
   * deadline (drops stay optimistic when measured latencies are noisy). @default latencyMs(1)
   */
  readonly dropLatencyMs?: number;
  /** Safety margin before a deadline, ms. */
  readonly guardMs: number;
  /** Launch a partial batch as soon as a device is idle, instead of waiting to fill it. */
  readonly launchWhenIdle: boolean;
  /**
   * Recent arrivals of the lane, items per ms. When given, an idle device waits for a partial batch only if
   * it is expected to fill before the head's latest start (otherwise waiting just idles the device).
   */
  readonly arrivalsPerMs?: number;
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
 * allows), shrunk until the head still meets its deadline; it launches when full, or when waiting longer
 * would miss the head's deadline (`now + L(n) ≥ headDeadline − guard`), else the batcher wakes up then. With
 * an arrival rate it also launches at once when the batch is not expected to fill before that moment
 * (waiting would only idle the device).
 *
 * Overload guard: with a backlog (a plan-sized batch could be filled), the batch is the one that completes
 * the most on-time items per ms of device time: the `m` earliest items that all meet their deadlines in a
 * batch of `m`, for the best `m` between the plan's size and `maxBatchSize` — skipping the items that only a
 * smaller batch could save. EDF alone degrades under overload (it keeps serving the items closest to expiry
 * in ever smaller batches); this maximizes goodput while every item the device runs is on time.
 */
export function planLaunch(items: readonly WorkItem[], ctx: LaunchContext): LaunchDecision {
  const drop: WorkItem[] = [];
  const alone = ctx.dropLatencyMs ?? ctx.latencyMs(1);
  const limit = Math.max(ctx.batchSize, ctx.maxBatchSize ?? ctx.batchSize);
  let group = collect(items, limit, Number.NEGATIVE_INFINITY, (item) => {
    if (item.deadline >= ctx.startAt + alone) return false;
    drop.push(item);
    return true;
  });
  if (group.length === 0) return { drop };
  let n = shrink(group, ctx);
  if (group.length >= ctx.batchSize && n < limit) {
    // A backlog: pick the batch that completes the most on-time items per ms of device time.
    const best = bestThroughputBatch(items, ctx, limit, n / ctx.latencyMs(n));
    if (best) {
      group = best;
      n = best.length;
    }
  }
  group.length = n;
  const head = group[0]!;
  const runMs = ctx.latencyMs(n);
  const latestStart = head.deadline - ctx.guardMs - runMs;
  const idle = ctx.startAt <= ctx.now;
  const fillAt = ctx.arrivalsPerMs === undefined ? undefined : ctx.now + (ctx.batchSize - n) / Math.max(ctx.arrivalsPerMs, 1e-12);
  const hopeless = fillAt !== undefined && fillAt > latestStart;
  if (idle && (n >= ctx.batchSize || ctx.launchWhenIdle || ctx.now >= latestStart || hopeless)) return { drop, group, runMs, headDeadline: head.deadline, launch: group };
  return { drop, group, runMs, headDeadline: head.deadline, wakeAt: Math.max(Math.min(latestStart, fillAt ?? latestStart), ctx.startAt) };
}

/** EDF scan: up to `limit` items with the first eligible item's key and a deadline ≥ `minDeadline`. */
function collect(
  items: readonly WorkItem[],
  limit: number,
  minDeadline: number,
  dropped: (item: WorkItem) => boolean,
): WorkItem[] {
  const group: WorkItem[] = [];
  let streams: Set<string> | undefined; // only stream frames need it
  for (const item of items) {
    if (dropped(item) || item.deadline < minDeadline) continue;
    // Deadlines only grow along the queue: past the droppable prefix, a full group ends the scan.
    if (group.length >= limit) break;
    if (item.slot && (item.slot.inFlight || streams?.has(item.slot.streamId))) continue;
    if (group.length > 0 && item.key !== group[0]!.key) continue;
    group.push(item);
    if (item.slot) (streams ??= new Set()).add(item.slot.streamId);
  }
  return group;
}

/**
 * Under a backlog, the batch size `m` (plan size … limit) whose on-time items per ms, `m / L(m)`, is best:
 * the `m` earliest items that all finish by their deadlines in a batch of `m`. Returns it when it beats
 * `baseline` (the EDF batch's rate).
 */
function bestThroughputBatch(items: readonly WorkItem[], ctx: LaunchContext, limit: number, baseline: number): WorkItem[] | undefined {
  let best: WorkItem[] | undefined;
  let bestRate = baseline;
  for (let m = ctx.batchSize; m <= limit; m++) {
    const l = ctx.latencyMs(m);
    if (m / l <= bestRate) continue;
    const cand = collect(items, m, ctx.startAt + l, () => false);
    if (cand.length < m) break; // fewer items can make a bigger batch: larger m only gets worse
    best = cand;
    bestRate = m / l;
  }
  return best;
}

/** Largest prefix size whose run still meets the head's deadline (at least 1). */
function shrink(group: readonly WorkItem[], ctx: LaunchContext): number {
  let n = group.length;
  while (n > 1 && ctx.startAt + ctx.latencyMs(n) > group[0]!.deadline) n--;
  return n;
}
