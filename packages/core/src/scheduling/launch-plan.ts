import type { LaunchContext, LaunchDecision } from './launch-types.js';
import type { SchedulableItem } from './work-item.js';

/** Queued items {@link LaunchDecision.expireAt} looks at (deadlines grow along the queue). */
export const EXPIRY_SCAN = 64;

/** How long after an item's last feasible moment `expireAt` points: strictly after, so that the item is hopeless. */
const EXPIRY_EPSILON_MS = 1e-3;

/**
 * When `item` becomes hopeless, just after the last moment a run of `aloneMs` (scaled by its cost) started
 * `leadMs` later could still meet its deadline: the moment {@link LaunchDecision.expireAt} reports for the
 * earliest item, and the one a host that skips planning (a saturated device) must wake up at for a new item.
 */
export function itemExpiry(item: SchedulableItem, aloneMs: number, leadMs: number): number {
  return item.deadline - aloneMs * (item.costScale ?? 1) - leadMs + EXPIRY_EPSILON_MS;
}

/** Which of a {@link LaunchPlan}'s times are set. */
const WAKE_AT = 1;
const HEAD_DEADLINE = 2;
const RUN_MS = 4;
const EXPIRE_AT = 8;

/** What a scan passes over: the first scan (which also drops), the guarded re-scan, or a throughput candidate's. */
const MAIN = 0;
const GUARDED = 1;
const FITS = 2;
type ScanMode = typeof MAIN | typeof GUARDED | typeof FITS;

/**
 * A launch decision that {@link planLaunch} writes into, owned by the caller and reused from call to call: its
 * arrays are cleared and refilled, so that a host planning on every arrival allocates nothing per call. The
 * decision is valid until the next call with the same plan (copy `launch` or `group` to keep it).
 *
 * @example
 * ```ts
 * const plan = new LaunchPlan<SchedulableItem>();
 * const d = planLaunch(queue.items, ctx, plan); // d === plan
 * if (d.launch) run(d.launch.slice());
 * ```
 */
export class LaunchPlan<T extends SchedulableItem = SchedulableItem> implements LaunchDecision<T> {
  readonly drop: T[] = [];
  launch: T[] | undefined = undefined;
  group: T[] | undefined = undefined;
  // The times are kept in fields that only ever hold numbers, with a bit per field for "set": V8 keeps such a
  // field's double in place, where a `number | undefined` field boxes every fractional value stored into it (a
  // fresh heap number per launch attempt for each of them).
  #set = 0;
  #wakeAt = 0;
  #headDeadline = 0;
  #runMs = 0;
  #expireAt = 0;
  // Scratch of one call: the batches scanned, and the figures the scans test items against.
  /** @internal */ readonly first: T[] = [];
  /** @internal */ readonly guarded: T[] = [];
  /** @internal */ cand: T[] = [];
  /** @internal */ best: T[] = [];
  /** @internal */ readonly streams = new Set<string>();
  /** @internal */ alone = 0;
  /** @internal */ lead = 0;
  /** @internal */ idle = false;
  /** @internal */ soloMs = 0;
  /** @internal */ typicalMs = 0;
  /** @internal */ guardedSoloMs = 0;
  /** @internal */ guard1 = 0;
  /** @internal */ fitGuard = 0;
  /** @internal */ fitMs = 0;
  /** @internal */ dropAt = 0;

  /** {@inheritDoc LaunchDecision.wakeAt} */
  get wakeAt(): number | undefined {
    return (this.#set & WAKE_AT) === 0 ? undefined : this.#wakeAt;
  }
  set wakeAt(v: number | undefined) {
    if (v === undefined) this.#set &= ~WAKE_AT;
    else {
      this.#wakeAt = v;
      this.#set |= WAKE_AT;
    }
  }
  /** {@inheritDoc LaunchDecision.headDeadline} */
  get headDeadline(): number | undefined {
    return (this.#set & HEAD_DEADLINE) === 0 ? undefined : this.#headDeadline;
  }
  set headDeadline(v: number | undefined) {
    if (v === undefined) this.#set &= ~HEAD_DEADLINE;
    else {
      this.#headDeadline = v;
      this.#set |= HEAD_DEADLINE;
    }
  }
  /** {@inheritDoc LaunchDecision.runMs} */
  get runMs(): number | undefined {
    return (this.#set & RUN_MS) === 0 ? undefined : this.#runMs;
  }
  set runMs(v: number | undefined) {
    if (v === undefined) this.#set &= ~RUN_MS;
    else {
      this.#runMs = v;
      this.#set |= RUN_MS;
    }
  }
  /** {@inheritDoc LaunchDecision.expireAt} */
  get expireAt(): number | undefined {
    return (this.#set & EXPIRE_AT) === 0 ? undefined : this.#expireAt;
  }
  set expireAt(v: number | undefined) {
    if (v === undefined) this.#set &= ~EXPIRE_AT;
    else {
      this.#expireAt = v;
      this.#set |= EXPIRE_AT;
    }
  }

  /** Clears the decision's fields (its arrays are kept: see {@link fillPlan}). @internal */
  reset(): void {
    this.launch = this.group = undefined;
    this.#set = 0;
  }

  /** The decision as a fresh plain object (what {@link planLaunch} returns without a plan of the caller's). */
  toDecision(): LaunchDecision<T> {
    const d: { -readonly [K in keyof LaunchDecision<T>]: LaunchDecision<T>[K] } = { drop: this.drop };
    if (this.group !== undefined) {
      d.group = this.group;
      d.runMs = this.runMs!;
      d.headDeadline = this.headDeadline!;
      if (this.launch !== undefined) d.launch = this.launch;
      else d.wakeAt = this.wakeAt!;
    }
    if (this.expireAt !== undefined) d.expireAt = this.expireAt;
    return d;
  }
}

/** The launch rule ({@link planLaunch}) writing into `p`. */
export function fillPlan<T extends SchedulableItem>(items: readonly T[], ctx: LaunchContext, p: LaunchPlan<T>): void {
  const limit = Math.max(ctx.batchSize, ctx.maxBatchSize ?? ctx.batchSize);
  let group = scanMain(items, limit, ctx, p);
  let skipped = false;
  if (group.length > 0) {
    let n = shrink(group, ctx);
    if (ctx.preferGuarded === true && n === 1) {
      p.guardedSoloMs = ctx.latencyMs(1);
      p.guard1 = guardOf(ctx, 1);
      if (unguarded(group[0]!, ctx, p)) {
        // The head would end inside its guard even alone: the items that keep theirs get the device instead.
        p.dropAt = 0;
        const guarded = collect(items, limit, GUARDED, ctx, p, p.guarded);
        if (guarded.length > 0) {
          group = guarded;
          n = shrink(group, ctx);
        }
      }
    }
    // A backlog (a plan-sized batch queued), or with `skipShrinkingHead` a head whose deadline shrank the batch
    // (a batch of later items must then beat the shrunk one by that factor).
    const backlog = group.length >= ctx.batchSize;
    const skipGain = backlog ? 1 : (ctx.skipShrinkingHead ?? 0);
    if ((backlog || (skipGain >= 1 && n < group.length)) && n < limit) {
      // Pick the batch that completes the most on-time items per ms of device time.
      const from = ctx.overloadBelowPlan === true || !backlog ? Math.min(ctx.batchSize, n + 1) : ctx.batchSize;
      const best = bestThroughputBatch(items, ctx, p, from, limit, (skipGain * n) / runMsOf(group, n, ctx));
      if (best) {
        // Only the new path wakes for the passed-over head (the backlog path keeps its timing).
        skipped = !backlog && best[0] !== group[0];
        group = best;
        n = best.length;
      }
    }
    if (group.length !== n) group.length = n;
    decide(group, ctx, p);
  }
  p.expireAt = expiry(items, p);
  // A passed-over head is dropped when it becomes hopeless, not later: wake up by then if nothing launches.
  if (skipped && p.wakeAt !== undefined && p.expireAt !== undefined) p.wakeAt = Math.max(ctx.startAt, Math.min(p.wakeAt, p.expireAt));
}

/**
 * The first scan of a plan: clears `p`, sets the figures items are tested against, and collects the head's group
 * into `p.first`, dropping the hopeless into `p.drop` (the only drops a plan makes).
 */
function scanMain<T extends SchedulableItem>(items: readonly T[], limit: number, ctx: LaunchContext, p: LaunchPlan<T>): T[] {
  // Setting an array's length calls into the runtime even when nothing changes: most plans drop nothing.
  if (p.drop.length !== 0) p.drop.length = 0;
  p.reset();
  p.alone = ctx.dropLatencyMs ?? ctx.latencyMs(1);
  p.lead = Math.max(0, ctx.expiryLeadMs ?? 0);
  p.idle = ctx.startAt <= ctx.now;
  // Expected single run, for rejectLikelyLate: an item failing it would be launched only to finish late.
  p.soloMs = ctx.rejectLikelyLate === true ? ctx.latencyMs(1) : Number.NEGATIVE_INFINITY;
  p.typicalMs = ctx.rejectLikelyLate === true ? Math.max(0, ctx.likelyLateMarginMs ?? 0) : 0;
  return collect(items, limit, MAIN, ctx, p, p.first);
}

/**
 * The drops and `expireAt` of {@link fillPlan} alone, the same by construction (its first scan, then the expiry),
 * without sizing or choosing a batch: no group, launch or wake-up is set. For a host whose device can take no
 * launch now (see `planExpiry`).
 */
export function fillExpiry<T extends SchedulableItem>(items: readonly T[], ctx: LaunchContext, p: LaunchPlan<T>): void {
  scanMain(items, Math.max(ctx.batchSize, ctx.maxBatchSize ?? ctx.batchSize), ctx, p);
  p.expireAt = expiry(items, p);
}

/** When the batch `group` (already sized) launches: now, or at a wake-up. */
function decide<T extends SchedulableItem>(group: T[], ctx: LaunchContext, p: LaunchPlan<T>): void {
  const n = group.length;
  const head = group[0]!;
  const runMs = runMsOf(group, n, ctx);
  const latestStart = head.deadline - guardOf(ctx, n) - runMs;
  const fillAt = ctx.arrivalsPerMs === undefined ? undefined : ctx.now + (ctx.batchSize - n) / Math.max(ctx.arrivalsPerMs, 1e-12);
  const hopeless = fillAt !== undefined && fillAt > latestStart;
  p.group = group;
  p.runMs = runMs;
  p.headDeadline = head.deadline;
  if (p.idle && (n >= ctx.batchSize || ctx.launchWhenIdle || ctx.now >= latestStart || hopeless)) p.launch = group;
  else p.wakeAt = Math.max(Math.min(latestStart, fillAt ?? latestStart), ctx.startAt);
}

/** Whether `item` would finish past its deadline by the host's current estimate plus its typical lateness. */
function likelyLate(item: SchedulableItem, ctx: LaunchContext, p: LaunchPlan<SchedulableItem>): boolean {
  return item.deadline < ctx.startAt + p.soloMs * (item.costScale ?? 1) + p.typicalMs;
}

/** Whether `item` run alone from `startAt` would end inside its guard (or past its deadline). */
function unguarded(item: SchedulableItem, ctx: LaunchContext, p: LaunchPlan<SchedulableItem>): boolean {
  return ctx.startAt + p.guardedSoloMs * (item.costScale ?? 1) + p.guard1 > item.deadline;
}

/** The guard for a batch of `n`: the fixed margin plus the learned one for that size. */
function guardOf(ctx: LaunchContext, n: number): number {
  return ctx.guardMs + (ctx.sizeGuardMs?.(n) ?? 0);
}

/** Whether a scan passes over `item`; the first scan also drops the hopeless (into `p.drop`, in queue order). */
function skips<T extends SchedulableItem>(item: T, mode: ScanMode, ctx: LaunchContext, p: LaunchPlan<T>): boolean {
  if (mode !== MAIN) {
    // A dropped item is not launched: the drops are a subsequence of the queue in its order, so one cursor tells
    // them apart, no set.
    if (p.dropAt < p.drop.length && p.drop[p.dropAt] === item) {
      p.dropAt++;
      return true;
    }
    if (mode === FITS) return item.deadline < ctx.startAt + p.fitGuard + p.fitMs * (item.costScale ?? 1);
    return likelyLate(item, ctx, p) || unguarded(item, ctx, p);
  }
  const late = likelyLate(item, ctx, p);
  if (item.deadline >= ctx.startAt + p.alone * (item.costScale ?? 1) + p.lead && !(late && p.idle)) return late;
  p.drop.push(item);
  return true;
}

/** EDF scan into `out`: up to `limit` items with the first eligible item's key, passing over those `mode` skips. */
function collect<T extends SchedulableItem>(items: readonly T[], limit: number, mode: ScanMode, ctx: LaunchContext, p: LaunchPlan<T>, out: T[]): T[] {
  // Written by index and cut to length once at the end: emptying the array first (`length = 0`) would drop its
  // backing store, and every call would grow a new one push by push.
  let k = 0;
  const streams = p.streams; // only stream frames use it
  if (streams.size > 0) streams.clear(); // clearing allocates a new table, even for an empty set
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (skips(item, mode, ctx, p)) continue;
    // Deadlines only grow along the queue: past the skipped prefix, a full group ends the scan.
    if (k >= limit) break;
    if (item.slot && (item.slot.inFlight || streams.has(item.slot.streamId))) continue;
    if (k > 0 && item.key !== out[0]!.key) continue;
    out[k++] = item;
    if (item.slot) streams.add(item.slot.streamId);
  }
  if (out.length !== k) out.length = k;
  return out;
}

/**
 * The earliest expiry among the first items not dropped. Launched items count too: a host whose device is still
 * busy past its expected end does not launch them.
 */
function expiry<T extends SchedulableItem>(items: readonly T[], p: LaunchPlan<T>): number | undefined {
  let at = Number.POSITIVE_INFINITY;
  let seen = 0;
  let d = 0;
  for (let i = 0; i < items.length && seen < EXPIRY_SCAN; i++) {
    const item = items[i]!;
    if (d < p.drop.length && p.drop[d] === item) {
      d++;
      continue;
    }
    seen++;
    at = Math.min(at, itemExpiry(item, p.alone, p.lead));
  }
  return Number.isFinite(at) ? at : undefined;
}

/** Run time of the first `n` items of `group`: the batch runs at the cost of its largest input. */
function runMsOf(group: readonly SchedulableItem[], n: number, ctx: LaunchContext): number {
  let scale = 1;
  for (let i = 0; i < n; i++) scale = Math.max(scale, group[i]!.costScale ?? 1);
  return ctx.latencyMs(n) * scale;
}

/**
 * Under a backlog, the batch size `m` (`from`, the plan's size or just above the shrunk batch, … limit) whose
 * on-time items per ms, `m / L(m)`, is best: the `m` earliest items that all finish by `deadline − guard` in a
 * batch of `m`. Returns it (one of the plan's scratch arrays) when it beats `baseline` (the EDF batch's rate).
 * With `amortizeShare` below 1, the largest `m` whose rate is at least that share of the best (the baseline's
 * included) wins instead.
 */
function bestThroughputBatch<T extends SchedulableItem>(items: readonly T[], ctx: LaunchContext, p: LaunchPlan<T>, from: number, limit: number, baseline: number): T[] | undefined {
  const share = ctx.amortizeShare !== undefined && ctx.amortizeShare > 0 && ctx.amortizeShare < 1 ? ctx.amortizeShare : 1;
  let best: T[] | undefined;
  // The best rate seen (the baseline's included), and the bar a larger batch must reach: that rate (strictly
  // above it with a share of 1), or `share` of it.
  let topRate = baseline;
  for (let m = from; m <= limit; m++) {
    const l = ctx.latencyMs(m);
    if (!clears(m / l, topRate, share)) continue;
    // Items of profiled size: the scan keeps only those whose scaled run still ends in time.
    const g = guardOf(ctx, m);
    p.fitGuard = g;
    p.fitMs = l;
    p.dropAt = 0;
    const cand = collect(items, m, FITS, ctx, p, p.cand);
    if (cand.length < m) break; // fewer items can make a bigger batch: larger m only gets worse
    const runMs = runMsOf(cand, m, ctx);
    // A larger input in the batch slows every item: its earliest deadline must still hold.
    if (cand[0]!.deadline < ctx.startAt + g + runMs) continue;
    const rate = m / runMs;
    if (!clears(rate, topRate, share)) continue;
    // Keep this candidate: the next scan fills the other scratch array.
    p.cand = p.best;
    p.best = cand;
    best = cand;
    topRate = Math.max(topRate, rate);
  }
  return best;
}

/** Whether a larger batch's `rate` wins against the best rate so far: above it, or with a share, within it. */
function clears(rate: number, topRate: number, share: number): boolean {
  return share === 1 ? rate > topRate : rate >= share * topRate;
}

/** Largest prefix size whose run still lets the head finish by `deadline − guard` (at least 1). */
function shrink(group: readonly SchedulableItem[], ctx: LaunchContext): number {
  let n = group.length;
  while (n > 1 && ctx.startAt + runMsOf(group, n, ctx) + guardOf(ctx, n) > group[0]!.deadline) n--;
  return n;
}
