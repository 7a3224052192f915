import type { SchedulableItem } from './work-item.js';
import type { LaunchContext, LaunchDecision } from './launch-types.js';
import { EXPIRY_SCAN, fillExpiry, fillPlan, itemExpiry, LaunchPlan } from './launch-plan.js';

export type { LaunchContext, LaunchDecision };
export { EXPIRY_SCAN, itemExpiry, LaunchPlan };

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
 * degrades under overload (it serves the items closest to expiry in ever smaller batches). With
 * `skipShrinkingHead` (a factor, for a host that judges the device overloaded) the search also runs without a
 * backlog whenever the head shrank the batch, and a batch of later items replaces the shrunk one when it completes
 * that many times more on-time items per ms; the passed-over head is dropped when hopeless.
 *
 * Lateness: every launched item keeps `guardMs` (+ `sizeGuardMs(n)`, the learned error of batches that size)
 * before its deadline; with `rejectLikelyLate` an item that could keep it only by running late — by the
 * estimate plus the host's typical lateness, `likelyLateMarginMs` — is rejected instead of served
 * ({@link LaunchContext.rejectLikelyLate}), and `expireAt` (earlier by `expiryLeadMs`, the host's wake-up lag)
 * tells a busy host when to look again so that rejections come by the deadline, not when the device frees.
 *
 * A batch's run time is `latencyMs(n) × costScale` of its largest item. Pure: no clock, no I/O.
 *
 * Hosts that plan on every arrival pass a {@link LaunchPlan} of their own (`into`): the decision is written
 * into it and its arrays are reused, so that a call allocates nothing (no closures, no arrays). Without it the
 * decision is a fresh object, as before.
 *
 * @example
 * ```ts
 * const d = planLaunch(queue.items, { now, startAt: now, batchSize: 8, latencyMs: (n) => 2 + 0.5 * n, guardMs: 1, launchWhenIdle: false });
 * if (d.launch) run(d.launch); else if (d.wakeAt !== undefined) wakeAt(d.wakeAt);
 * ```
 * @param into A caller-owned result to fill (valid until the next call with it); omitted, a fresh decision.
 */
export function planLaunch<T extends SchedulableItem>(items: readonly T[], ctx: LaunchContext, into?: LaunchPlan<T>): LaunchDecision<T> {
  const p = into ?? new LaunchPlan<T>();
  fillPlan(items, ctx, p);
  return into === undefined ? p.toDecision() : p;
}

/**
 * What {@link planLaunch} decides of the queue alone — the same `drop` and `expireAt`, by the same scan — without
 * sizing or choosing a batch (`group`, `launch` and `wakeAt` stay unset): for a host whose device can take no
 * launch before one ends (it holds all the batches it may), which plans only to reject the hopeless and to wake
 * when the next item expires. It calls `latencyMs` at most for one item and never `sizeGuardMs`.
 *
 * @example
 * ```ts
 * const plan = new LaunchPlan<SchedulableItem>();
 * const d = planExpiry(queue.items, ctx, plan);
 * for (const item of d.drop) reject(item);
 * if (d.expireAt !== undefined) wakeAt(d.expireAt);
 * ```
 */
export function planExpiry<T extends SchedulableItem>(items: readonly T[], ctx: LaunchContext, into: LaunchPlan<T>): LaunchDecision<T> {
  fillExpiry(items, ctx, into);
  return into;
}

/** The load (device time the recent arrivals need, as a share of the device's) from which a lane is overloaded. */
const SKIP_HEAD_LOAD = 0.9;
/** How many times more on-time items per ms the later batch must complete than the head's shrunk batch. */
const SKIP_HEAD_GAIN = 4;

/**
 * The overload test behind {@link LaunchContext.skipShrinkingHead}, as the runtime's device scheduler and the
 * simulator's instances apply it: a lane whose recent arrivals need at least 0.9 of the device's time passes over a
 * head item that only a small batch could still serve, when a batch of later items completes at least 4 times as
 * many on-time items per ms. The head stays queued: it runs if the device frees in time, else its deadline rejects it.
 *
 * @param loadShare - device time the lane's recent arrivals need at its batch size, per device (1 = all of it)
 * @returns the factor to pass as `skipShrinkingHead`, or `undefined` below the overload
 */
export function skipShrinkingHeadAt(loadShare: number): number | undefined {
  return loadShare >= SKIP_HEAD_LOAD ? SKIP_HEAD_GAIN : undefined;
}
