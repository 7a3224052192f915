import type { SchedulableItem } from './work-item.js';

/** Inputs of `planLaunch`. */
export interface LaunchContext {
  /** Current time, clock ms. */
  readonly now: number;
  /** Earliest time the device could start this batch (≥ now): see {@link DeviceTimeline.freeAt}. */
  readonly startAt: number;
  /** Items per batch (batching) or per pack (multi-frame): a batch this full launches at once. */
  readonly batchSize: number;
  /**
   * Largest batch when a backlog allows more than `batchSize` (every item still meeting its deadline): under
   * overload bigger batches raise throughput exactly when it is needed. @default batchSize
   */
  readonly maxBatchSize?: number;
  /**
   * Expected run time of a batch of `n` profiled-size items on the device, ms, as the host best knows it now:
   * the profile × the device's current share (what it learns of how late batches really end goes in
   * `sizeGuardMs`).
   */
  readonly latencyMs: (n: number) => number;
  /**
   * Run time of one item used for dropping, ms: an item is dropped only when even this cannot meet its
   * deadline (drops stay optimistic when estimates are noisy). @default latencyMs(1)
   */
  readonly dropLatencyMs?: number;
  /** Safety margin before a deadline every launched item must keep, ms. */
  readonly guardMs: number;
  /**
   * Extra margin for a batch of `n`, ms, added to `guardMs`: what the host learned of how late batches of that
   * size really end ({@link LatencyGuard}). @default none
   */
  readonly sizeGuardMs?: (n: number) => number;
  /**
   * Reject rather than serve late: an item expected to finish past its deadline even alone
   * (`startAt + latencyMs(1) × costScale > deadline`, the estimate as the host knows it now rather than the
   * optimistic `dropLatencyMs`) is dropped when the device is free now, and joins no batch while it is busy
   * (the device may free earlier than expected; the item is dropped when even `dropLatencyMs` cannot make
   * it). The guards are left out of this test: they plan for what may go wrong, and an item that would
   * probably finish in time is served. Off: such an item is still launched alone at its latest start, and
   * finishes late. @default false
   */
  readonly rejectLikelyLate?: boolean;
  /**
   * How late the host typically sees a batch end beyond `latencyMs` (e.g. the median of the learned
   * `actual − predicted`: messaging, a host thread that runs late), ms. With `rejectLikelyLate`, an item is
   * likely late when `startAt + latencyMs(1) × costScale + likelyLateMarginMs > deadline`: more likely late
   * than not, where the guards plan for the rarer bad case. Without it, a host that sees every completion
   * 20 ms late keeps launching 10 ms requests alone and serves them all late. @default 0
   */
  readonly likelyLateMarginMs?: number;
  /**
   * How late the host acts on a wake-up (timer and event-loop lag), ms. An item is dropped once even
   * `dropLatencyMs` from the device's start plus this misses its deadline, and `expireAt` comes this much
   * earlier, so that a rejection reaches its caller by the deadline even when the host acts late. @default 0
   */
  readonly expiryLeadMs?: number;
  /**
   * When the batch's head cannot keep its guard (`guardMs` + `sizeGuardMs(1)`) even alone, form the batch from
   * the later items that can, if any: the head stays queued (it runs if the device frees early, else it expires
   * and is dropped), and the device's time goes to items expected on time. Off: the head is launched alone at
   * once, and finishes inside its guard or late. @default false
   */
  readonly preferGuarded?: boolean;
  /** Launch a partial batch as soon as the device is idle, instead of waiting to fill it. */
  readonly launchWhenIdle: boolean;
  /**
   * Recent arrivals of the queue, items per ms. When given, an idle device waits for a partial batch only if
   * it is expected to fill before the head's latest start (otherwise waiting just idles the device).
   */
  readonly arrivalsPerMs?: number;
  /**
   * Under a backlog, the overload rule also tries batch sizes between the batch the head's deadline allows and
   * `batchSize` (not only `batchSize` … `maxBatchSize`): when a late item at the head shrinks the batch, a
   * fresher batch below the plan's size that completes more on-time items per ms is launched instead of the
   * shrunk one. @default false
   */
  readonly overloadBelowPlan?: boolean;
  /**
   * When the overload rule picks a batch by on-time items per ms of device time, a larger batch wins when it
   * completes at least this share of the best rate (in (0, 1]). The run times hold the device's time only: a host
   * pays a cost per batch too (messages, settling, planning) that only larger batches amortize, and where a
   * profile is flat — a CPU model running about as many items per second at every batch size — the strictly best
   * rate is decided by measurement noise, often at a small batch. 1: the strictly best rate. @default 1
   */
  readonly amortizeShare?: number;
  /**
   * For a host that judges the device overloaded (its recent arrivals need all of its time): also pass over a head
   * item whose deadline shrinks the batch when no plan-sized backlog is queued. The overload rule's search (from
   * the shrunk batch's size + 1) then runs whenever the head allows fewer items than are queued, and the batch of
   * later items is taken when it completes at least this many times more on-time items per ms than the shrunk
   * batch (≥ 1). The head stays queued: it runs if a device frees in time, else it is dropped when hopeless (the
   * wake-up comes by then). A multi-frame pack's cost is mostly fixed, so one urgent frame served alone can take
   * the device time of ten in a full pack. Undefined or below 1: off. @default undefined
   */
  readonly skipShrinkingHead?: number;
}

/** What the host should do now. */
export interface LaunchDecision<T extends SchedulableItem = SchedulableItem> {
  /** Items that can no longer meet their deadline: reject them (and remove them from the queue). */
  readonly drop: T[];
  /** Items to run now as one batch (EDF order), if any. */
  readonly launch?: T[] | undefined;
  /** When to look again if nothing launches now (clock ms). */
  readonly wakeAt?: number | undefined;
  /** Deadline of the batch's earliest item (for choosing between services on a device). */
  readonly headDeadline?: number | undefined;
  /** The batch that would run (also when it is not due yet). */
  readonly group?: T[] | undefined;
  /** Expected run time of `group` (its cost scale included), ms. */
  readonly runMs?: number | undefined;
  /**
   * Just after the earliest moment a queued item not dropped becomes hopeless (even `dropLatencyMs`
   * from then, plus `expiryLeadMs`, misses its deadline), among the first {@link EXPIRY_SCAN} items: a host whose device is busy
   * looks again then, so that the item is rejected by its deadline rather than when the device frees.
   */
  readonly expireAt?: number | undefined;
}
