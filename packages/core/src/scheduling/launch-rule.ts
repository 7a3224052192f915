import type { SchedulableItem } from './work-item.js';

/** Inputs of {@link planLaunch}. */
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
   * the profile × the device's current share × the learned error factor ({@link LatencyErrorTracker}).
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
}

/** What the host should do now. */
export interface LaunchDecision<T extends SchedulableItem = SchedulableItem> {
  /** Items that can no longer meet their deadline: reject them (and remove them from the queue). */
  readonly drop: T[];
  /** Items to run now as one batch (EDF order), if any. */
  readonly launch?: T[];
  /** When to look again if nothing launches now (clock ms). */
  readonly wakeAt?: number;
  /** Deadline of the batch's earliest item (for choosing between services on a device). */
  readonly headDeadline?: number;
  /** The batch that would run (also when it is not due yet). */
  readonly group?: T[];
  /** Expected run time of `group` (its cost scale included), ms. */
  readonly runMs?: number;
  /**
   * Just after the earliest moment a queued item not dropped becomes hopeless (even `dropLatencyMs`
   * from then, plus `expiryLeadMs`, misses its deadline), among the first {@link EXPIRY_SCAN} items: a host whose device is busy
   * looks again then, so that the item is rejected by its deadline rather than when the device frees.
   */
  readonly expireAt?: number;
}

/** Queued items {@link LaunchDecision.expireAt} looks at (deadlines grow along the queue). */
export const EXPIRY_SCAN = 64;

/** How long after an item's last feasible moment `expireAt` points: strictly after, so that the item is hopeless. */
const EXPIRY_EPSILON_MS = 1e-3;

/**
 * The deadline-aware dynamic batching rule: EDF order; an item that cannot finish by its deadline even alone
 * is dropped; a batch takes the head item and the next items with the same key (at most one frame per
 * stateful stream, none whose stream has a frame in flight; up to `maxBatchSize` when a backlog allows),
 * shrunk until the head finishes by `deadline − guard`; it launches when full, or when waiting longer would
 * miss the head's deadline (`now + L(n) ≥ headDeadline − guard`), else the host wakes it up then. With an
 * arrival rate it also launches at once when the batch is not expected to fill before that moment.
 *
 * Overload rule: with a backlog (a plan-sized batch could be filled), the batch is the one that completes the
 * most on-time items per ms of device time: the `m` earliest items that all finish by `deadline − guard` in a
 * batch of `m`, for the best `m` between the plan's size (with `overloadBelowPlan`, the shrunk batch's size + 1)
 * and `maxBatchSize` — skipping the items only a
 * smaller batch could save (they are dropped when their deadline comes, never left queued). EDF alone
 * degrades under overload (it serves the items closest to expiry in ever smaller batches).
 *
 * Lateness: every launched item keeps `guardMs` (+ `sizeGuardMs(n)`, the learned error of batches that size)
 * before its deadline; with `rejectLikelyLate` an item that could keep it only by running late — by the
 * estimate plus the host's typical lateness, `likelyLateMarginMs` — is rejected instead of served
 * ({@link LaunchContext.rejectLikelyLate}), and `expireAt` (earlier by `expiryLeadMs`, the host's wake-up lag)
 * tells a busy host when to look again so that rejections come by the deadline, not when the device frees.
 *
 * A batch's run time is `latencyMs(n) × costScale` of its largest item. Pure: no clock, no I/O.
 *
 * @example
 * ```ts
 * const d = planLaunch(queue.items, { now, startAt: now, batchSize: 8, latencyMs: (n) => 2 + 0.5 * n, guardMs: 1, launchWhenIdle: false });
 * if (d.launch) run(d.launch); else if (d.wakeAt !== undefined) wakeAt(d.wakeAt);
 * ```
 */
export function planLaunch<T extends SchedulableItem>(items: readonly T[], ctx: LaunchContext): LaunchDecision<T> {
  const drop: T[] = [];
  const alone = ctx.dropLatencyMs ?? ctx.latencyMs(1);
  const lead = Math.max(0, ctx.expiryLeadMs ?? 0);
  const limit = Math.max(ctx.batchSize, ctx.maxBatchSize ?? ctx.batchSize);
  const idle = ctx.startAt <= ctx.now;
  // Expected single run, for rejectLikelyLate: an item failing it would be launched only to finish late.
  const soloMs = ctx.rejectLikelyLate === true ? ctx.latencyMs(1) : Number.NEGATIVE_INFINITY;
  const typicalMs = ctx.rejectLikelyLate === true ? Math.max(0, ctx.likelyLateMarginMs ?? 0) : 0;
  const likelyLate = (item: T): boolean => item.deadline < ctx.startAt + soloMs * (item.costScale ?? 1) + typicalMs;
  let group = collect(items, limit, (item) => {
    const late = likelyLate(item);
    if (item.deadline >= ctx.startAt + alone * (item.costScale ?? 1) + lead && !(late && idle)) return late;
    drop.push(item);
    return true;
  });
  if (group.length === 0) return withExpiry(items, { drop }, alone, lead);
  let n = shrink(group, ctx);
  if (ctx.preferGuarded === true && n === 1 && unguarded(group[0]!, ctx)) {
    // The head would end inside its guard even alone: the items that keep theirs get the device instead.
    const dropped = new Set(drop);
    const guarded = collect(items, limit, (item) => dropped.has(item) || likelyLate(item) || unguarded(item, ctx));
    if (guarded.length > 0) {
      group = guarded;
      n = shrink(group, ctx);
    }
  }
  if (group.length >= ctx.batchSize && n < limit) {
    // A backlog: pick the batch that completes the most on-time items per ms of device time.
    const from = ctx.overloadBelowPlan === true ? Math.min(ctx.batchSize, n + 1) : ctx.batchSize;
    const best = bestThroughputBatch(items, ctx, from, limit, n / runMsOf(group, n, ctx));
    if (best) {
      group = best;
      n = best.length;
    }
  }
  group.length = n;
  const head = group[0]!;
  const runMs = runMsOf(group, n, ctx);
  const latestStart = head.deadline - guardOf(ctx, n) - runMs;
  const fillAt = ctx.arrivalsPerMs === undefined ? undefined : ctx.now + (ctx.batchSize - n) / Math.max(ctx.arrivalsPerMs, 1e-12);
  const hopeless = fillAt !== undefined && fillAt > latestStart;
  if (idle && (n >= ctx.batchSize || ctx.launchWhenIdle || ctx.now >= latestStart || hopeless)) return withExpiry(items, { drop, group, runMs, headDeadline: head.deadline, launch: group }, alone, lead);
  return withExpiry(items, { drop, group, runMs, headDeadline: head.deadline, wakeAt: Math.max(Math.min(latestStart, fillAt ?? latestStart), ctx.startAt) }, alone, lead);
}

/** Whether `item` run alone from `startAt` would end inside its guard (or past its deadline). */
function unguarded(item: SchedulableItem, ctx: LaunchContext): boolean {
  return ctx.startAt + ctx.latencyMs(1) * (item.costScale ?? 1) + guardOf(ctx, 1) > item.deadline;
}

/** The guard for a batch of `n`: the fixed margin plus the learned one for that size. */
function guardOf(ctx: LaunchContext, n: number): number {
  return ctx.guardMs + (ctx.sizeGuardMs?.(n) ?? 0);
}

/**
 * Adds {@link LaunchDecision.expireAt}: the earliest expiry among the first items not dropped. Launched items
 * count too: a host whose device is still busy past its expected end does not launch them.
 */
function withExpiry<T extends SchedulableItem>(items: readonly T[], d: { -readonly [K in keyof LaunchDecision<T>]: LaunchDecision<T>[K] }, alone: number, lead: number): LaunchDecision<T> {
  let at = Number.POSITIVE_INFINITY;
  let seen = 0;
  for (let i = 0; i < items.length && seen < EXPIRY_SCAN; i++) {
    const item = items[i]!;
    if (d.drop.includes(item)) continue;
    seen++;
    at = Math.min(at, item.deadline - alone * (item.costScale ?? 1) - lead + EXPIRY_EPSILON_MS);
  }
  if (Number.isFinite(at)) d.expireAt = at;
  return d;
}

/** Run time of the first `n` items of `group`: the batch runs at the cost of its largest input. */
function runMsOf(group: readonly SchedulableItem[], n: number, ctx: LaunchContext): number {
  let scale = 1;
  for (let i = 0; i < n; i++) scale = Math.max(scale, group[i]!.costScale ?? 1);
  return ctx.latencyMs(n) * scale;
}

/** EDF scan: up to `limit` items with the first eligible item's key, passing over those `skip` rejects. */
function collect<T extends SchedulableItem>(items: readonly T[], limit: number, skip: (item: T) => boolean): T[] {
  const group: T[] = [];
  let streams: Set<string> | undefined; // only stream frames need it
  for (const item of items) {
    if (skip(item)) continue;
    // Deadlines only grow along the queue: past the skipped prefix, a full group ends the scan.
    if (group.length >= limit) break;
    if (item.slot && (item.slot.inFlight || streams?.has(item.slot.streamId))) continue;
    if (group.length > 0 && item.key !== group[0]!.key) continue;
    group.push(item);
    if (item.slot) (streams ??= new Set()).add(item.slot.streamId);
  }
  return group;
}

/**
 * Under a backlog, the batch size `m` (`from`, the plan's size or just above the shrunk batch, … limit) whose on-time items per ms, `m / L(m)`, is best:
 * the `m` earliest items that all finish by `deadline − guard` in a batch of `m`. Returns it when it beats
 * `baseline` (the EDF batch's rate).
 */
function bestThroughputBatch<T extends SchedulableItem>(items: readonly T[], ctx: LaunchContext, from: number, limit: number, baseline: number): T[] | undefined {
  let best: T[] | undefined;
  let bestRate = baseline;
  for (let m = from; m <= limit; m++) {
    const l = ctx.latencyMs(m);
    if (m / l <= bestRate) continue;
    // Items of profiled size: the scan keeps only those whose scaled run still ends in time.
    const g = guardOf(ctx, m);
    const cand = collect(items, m, (item) => item.deadline < ctx.startAt + g + l * (item.costScale ?? 1));
    if (cand.length < m) break; // fewer items can make a bigger batch: larger m only gets worse
    const runMs = runMsOf(cand, m, ctx);
    // A larger input in the batch slows every item: its earliest deadline must still hold.
    if (cand[0]!.deadline < ctx.startAt + g + runMs) continue;
    const rate = m / runMs;
    if (rate <= bestRate) continue;
    best = cand;
    bestRate = rate;
  }
  return best;
}

/** Largest prefix size whose run still lets the head finish by `deadline − guard` (at least 1). */
function shrink(group: readonly SchedulableItem[], ctx: LaunchContext): number {
  let n = group.length;
  while (n > 1 && ctx.startAt + runMsOf(group, n, ctx) + guardOf(ctx, n) > group[0]!.deadline) n--;
  return n;
}
