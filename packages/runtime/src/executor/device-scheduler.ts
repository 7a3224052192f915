import { type Clock } from '@epara/core';
import { DeviceTimeline, itemExpiry, LaunchPlan, planExpiry, planLaunch, skipShrinkingHeadAt, type LaunchContext } from '@epara/core/scheduling';
import type { DeviceHandle } from '../devices/device-port.js';
import type { BatchDone, Lane } from '../batching/lane.js';
import type { WorkItem } from '../batching/work-item.js';
import { EparaError, type TimerHandle, type Timers } from '@epara/core';
import type { DeviceWork, DeviceWorkQueue } from './device-work.js';
import { DEFAULT_HOST_DELAY_QUANTILE, LaneLateness, type BatchEnd } from './lane-lateness.js';
import { AMORTIZE_SHARE } from './instance-sizes.js';
import { giveUpAt, OVERDUE_GRACE_MS } from './overdue.js';

/** Half-life of the timer lag used to reject early, ms (see `#recentTimerLagMs`). */
const TIMER_LAG_HALF_LIFE_MS = 250;

/**
 * Batches a device holds at once: one running and one waiting in the worker. Engine work (short steps) does
 * not count: a step held in the worker must not keep the next batch from being sent ahead.
 */
const MAX_AHEAD = 2;
/** The one settled promise every batch end's follow-up is a reaction to (see {@link DeviceScheduler.#ended}). */
const RESOLVED = Promise.resolve();

/** A launch the scheduler may choose now: a lane's batch, or one engine work item (one object each, reused). */
interface Candidate {
  readonly lane: Lane | undefined;
  /** The lane's plan (its `group`, `launch`): valid until the lane is planned again. */
  readonly decision: LaunchPlan<WorkItem> | undefined;
  work: DeviceWork | undefined;
  headDeadline: number;
  runMs: number;
}

/**
 * The order the scheduler serves the lanes and engine work of its device in: `'slack'`, earliest deadline first,
 * a launch due later going first only within the slack of the ones due before it (see {@link DeviceScheduler});
 * `'edf'`, earliest deadline first, a launch due later going first whenever it is due — the order before.
 */
export type ServiceOrder = 'slack' | 'edf';

/**
 * Whether engine work due at `deadline` runs ahead of a batch whose head is due at `before`: it is due first (a tie
 * goes to the batch, as the EDF choice puts lanes before engine work). Before an unknown deadline (`Infinity`), all
 * work does.
 */
function workGoesFirst(deadline: number, before: number): boolean {
  return deadline < before || !Number.isFinite(before);
}

/**
 * EDF order of the first `n` candidates, in place: an insertion sort (a handful of lanes share a device), stable
 * as `Array.prototype.sort` is, without sorting the stale entries past `n`.
 */
function sortCandidates(c: Candidate[], n: number): void {
  for (let i = 1; i < n; i++) {
    const x = c[i]!;
    let j = i - 1;
    while (j >= 0 && c[j]!.headDeadline > x.headDeadline) {
      c[j + 1] = c[j]!;
      j--;
    }
    c[j + 1] = x;
  }
}

/** Time constant of {@link DeviceScheduler.workShare}'s decay, ms. */
const WORK_SHARE_TAU_MS = 1000;

/** `ms` decayed over `ageMs` with {@link WORK_SHARE_TAU_MS}. */
function decayed(ms: number, ageMs: number): number {
  return ageMs > 0 ? ms * Math.exp(-ageMs / WORK_SHARE_TAU_MS) : ms;
}

/**
 * What the scheduler keeps per lane, made once at attach: the learned lateness, and the launch rule's context and
 * plan, refilled on every pump (the rule runs on every arrival: no closure, context or array per call).
 */
class LaneState {
  readonly lateness: LaneLateness;
  /** The last batch end handed to `lateness` (refilled per batch). */
  readonly ended: { -readonly [K in keyof BatchEnd]: BatchEnd[K] } = { n: 0, expectedMs: 0, plannedStart: 0, end: 0, runMs: undefined, ahead: false };
  readonly plan = new LaunchPlan<WorkItem>();
  readonly candidate: Candidate;
  /** Whether the device was busy, and the time, of the pump filling `ctx` (its size guard reads them). */
  busy = false;
  now = 0;
  readonly ctx: { -readonly [K in keyof LaunchContext]: LaunchContext[K] };

  constructor(lane: Lane, deviceId: string, hostDelayQuantile: number) {
    this.lateness = new LaneLateness(hostDelayQuantile);
    this.candidate = { lane, decision: this.plan, work: undefined, headDeadline: 0, runMs: 0 };
    this.ctx = {
      now: 0,
      startAt: 0,
      batchSize: 1,
      maxBatchSize: 1,
      latencyMs: (n: number) => lane.latencyMs(deviceId, n, this.now),
      dropLatencyMs: 0,
      guardMs: 0,
      sizeGuardMs: (n: number) => this.lateness.marginMs(n, this.busy, this.now),
      // Reject, rather than serve late, what only a run past its deadline could serve: by the estimate plus how
      // late this device's batches typically end as the host sees them (messaging, a host thread running late).
      rejectLikelyLate: true,
      likelyLateMarginMs: 0,
      expiryLeadMs: 0,
      // A head that cannot keep its margin even alone does not take the device from items that can.
      preferGuarded: true,
      launchWhenIdle: false,
      arrivalsPerMs: undefined,
      skipShrinkingHead: undefined,
      // Under a backlog, the larger batch when it serves nearly as many items per ms of device time: each batch
      // costs the host thread its messages, settling and planning, which the run times leave out.
      amortizeShare: AMORTIZE_SHARE,
    };
  }
}

/** Payload of the scheduler's dispatch hook. */
export interface DispatchInfo {
  readonly lane: Lane;
  readonly deviceId: string;
  readonly items: readonly WorkItem[];
  readonly expectedMs: number;
  readonly at: number;
  /** When the batch is expected to start on the device (after the batches it holds), clock ms. */
  readonly plannedStart: number;
}

/**
 * Runs one device: it serves, one batch at a time, the lanes (service instances) placed on it, with core's
 * request scheduler ({@link planLaunch}, {@link DeviceTimeline}, {@link LatencyGuard}). When the device
 * is idle it asks every lane for a launch decision and runs the launchable batch whose earliest deadline
 * comes first (EDF across services: the time-sharing of multi-task), otherwise it sleeps until the earliest
 * moment some lane must launch. The device does not preempt: a launch due now whose deadline comes later than
 * another candidate's (a full stream pack, a generation step, while an image batch waits to fill) goes first only
 * if the candidates due before it still make their deadlines behind it; otherwise the earliest goes now, as it
 * stands (`order: 'slack'`, the default). Every launch keeps, besides the configured guard and the timers' lateness, a
 * margin learned per lane ({@link LaneLateness}): a high quantile of the compute error for its batch size plus
 * one of the host-side delay over all sizes (from the planned start to the moment the host had the outputs:
 * messaging, a co-running host thread, garbage collection; learned apart for batches sent ahead behind a
 * running one, which also carry its overrun). An item that the typical lateness (the medians) would make late
 * even alone is rejected instead of served (`rejectLikelyLate`); a head that cannot keep its margin even alone
 * leaves the device to items that can (`preferGuarded`); and while the device is busy a timer, set earlier by
 * the recent timer lag, rejects queued items as they become hopeless, by their deadline.
 *
 * Engines that are not batchers (a generation engine's prefill and decode steps) queue {@link DeviceWork}
 * with a deadline and an expected cost — what it holds the device ({@link DeviceScheduler.enqueueWork}): it
 * competes in the same EDF choice as the lanes' batches, sits on the same timeline, and counts in the busy time;
 * the follow-up a running step announces counts in the plan of a lane whose head is due after it. The scheduler never
 * drops such work (the engine keeps its own deadlines); closing fails what is still queued with `CLOSED`.
 */
export class DeviceScheduler implements DeviceWorkQueue {
  readonly device: DeviceHandle;
  readonly #lanes = new Set<Lane>();
  /** The same lanes in attach order, walked by index on every pump (a set's iterator is an object per walk). */
  readonly #laneList: Lane[] = [];
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #onDispatch: (info: DispatchInfo) => void;
  readonly #timeline = new DeviceTimeline();
  /** Per lane: learned lateness (batches started on an idle device, and sent ahead behind another), plan. */
  readonly #lanesState = new Map<Lane, LaneState>();
  /**
   * The candidates of one pump (reused): a pump counts the ones it wrote, the rest are stale. Never emptied by
   * `length = 0`, which drops an array's backing store (every pump grew a new one).
   */
  readonly #candidates: Candidate[] = [];
  readonly #workCandidate: Candidate = { lane: undefined, decision: undefined, work: undefined, headDeadline: 0, runMs: 0 };
  readonly #order: ServiceOrder;
  readonly #hostDelayQuantile: number;
  /** A pump is running; one asked for meanwhile (a launch, a settle callback) runs right after it. */
  #pumping = false;
  #pumpAgain = false;
  /** Queued engine work, earliest deadline first. */
  readonly #works: DeviceWork[] = [];
  /** Engine work on the device that announced a follow-up, with that follow-up's deadline. */
  readonly #followUps = new Map<DeviceWork, number>();
  #running = 0;
  /** Expected device time of the engine work launched lately, decayed with {@link WORK_SHARE_TAU_MS}, and when. */
  #recentWorkMs = 0;
  #recentWorkAt = 0;
  /** Engine work among the launches on the device. */
  #runningWork = 0;
  #busySince = 0;
  /** The wake-up: set, and when (clock ms). A launch drops it; the platform timer behind it may stay armed. */
  #wakeSet = false;
  #timerAt = Number.NaN;
  /** The wake-up was set for a held batch's give-up moment alone (see {@link #giveUpOverdue}). */
  #wakeForGiveUp = false;
  /** The platform timer, and the moment it was armed for (at or before the wake-up's; see {@link #sleepUntil}). */
  #timer: TimerHandle | undefined;
  #timerArmedAt = Number.NaN;
  #busyMs = 0;
  #timerLagMs = 0;
  /** When a timer last fired (and measured the lag), clock ms. */
  #timerLagAt = Number.NEGATIVE_INFINITY;
  #batches = 0;
  #closed = false;
  /** When the host last had a launch's outputs (a batch's or engine work's), clock ms. */
  #lastEndAt = Number.NEGATIVE_INFINITY;
  /** The batches on the device (dispatched, not ended): the first `#heldCount`, the rest stale. */
  readonly #held: (Launch | undefined)[] = [];
  #heldCount = 0;
  /** The earliest moment an item of a held batch is given up on (see {@link #giveUpOverdue}), clock ms. */
  #giveUpAt = Number.POSITIVE_INFINITY;

  /**
   * `order`: see {@link ServiceOrder}; `'edf'` is kept to compare the two. @default 'slack'
   * `hostDelayQuantile`: the quantile of the learned host-side delay each launch keeps as margin (see
   * {@link LaneLateness}). @default 0.98
   */
  constructor(o: { device: DeviceHandle; clock: Clock; timers: Timers; onDispatch: (info: DispatchInfo) => void; order?: ServiceOrder; hostDelayQuantile?: number }) {
    this.device = o.device;
    this.#order = o.order ?? 'slack';
    this.#hostDelayQuantile = o.hostDelayQuantile ?? DEFAULT_HOST_DELAY_QUANTILE;
    this.#clock = o.clock;
    this.#timers = o.timers;
    this.#onDispatch = o.onDispatch;
  }

  /** When the device is expected to be free (now when idle). */
  freeAt(now: number): number {
    return this.#timeline.freeAt(now);
  }

  /** What a batch of `n` profiled-size items of `lane` is expected to take on this device at `now`, ms. */
  expectedMs(lane: Lane, n: number, now: number): number {
    return lane.latencyMs(this.device.id, n, now);
  }

  /**
   * The margin learned for a batch of `n` of `lane` on this device, ms: a high quantile of how much later than
   * predicted its batches of that size ended (from their planned start), for a batch started on an idle device
   * or (`ahead`) sent behind a running one. What a batch usually holds the device is already in `lane.latencyMs`
   * (the per-device correction by learned hold time, which this scheduler measures: from the later of a batch's
   * dispatch and the previous launch's end, to its outputs reaching the host); what remains is what the
   * estimate cannot know in advance.
   */
  learnedGuardMs(lane: Lane, n = lane.batchSize, ahead = false, now = this.#clock.now()): number {
    return this.#lanesState.get(lane)?.lateness.marginMs(n, ahead, now) ?? 0;
  }

  /**
   * How late a batch of `n` of `lane` *typically* ends on this device beyond its prediction, ms: the medians of
   * the same observations as {@link learnedGuardMs} (0 when no batch ended lately). An item this lateness would
   * make miss its deadline even alone is more likely late than not: the launch rule rejects it rather than
   * serve it late.
   */
  typicalLatenessMs(lane: Lane, n = 1, ahead = false, now = this.#clock.now()): number {
    return this.#lanesState.get(lane)?.lateness.typicalMs(n, ahead, now) ?? 0;
  }

  get busy(): boolean {
    return this.#running > 0;
  }

  get lanes(): ReadonlySet<Lane> {
    return this.#lanes;
  }

  /** The share of the device's time its lanes' recent arrivals need (sum of their `loadShare`). */
  sharedLoad(now: number): number {
    let share = 0;
    const lanes = this.#laneList;
    for (let i = 0; i < lanes.length; i++) share += lanes[i]!.loadShare(this.device.id, now);
    return share;
  }

  /** The mean residual of the batch in progress, ms (see {@link DeviceWorkQueue.residualMs}). */
  residualMs(now: number): number {
    let share = 0;
    let ms = 0;
    const lanes = this.#laneList;
    for (let i = 0; i < lanes.length; i++) {
      const lane = lanes[i]!;
      const rho = Math.max(0, lane.loadShare(this.device.id, now));
      share += rho;
      ms += (rho * lane.latencyMs(this.device.id, lane.batchSize, now)) / 2;
    }
    return share > 1 ? ms / share : ms;
  }

  /**
   * The share of the device's time the engine work (generation steps) took lately: the expected device time of
   * the work launched, decayed exponentially over {@link WORK_SHARE_TAU_MS}, per ms. What a batch service's
   * estimate expects of the steps still to come while its item waits (a step, paced at a short deadline, goes
   * ahead of a queued batch under earliest-deadline order); 0 on a device without engine work.
   */
  workShare(now: number): number {
    return decayed(this.#recentWorkMs, now - this.#recentWorkAt) / WORK_SHARE_TAU_MS;
  }

  /**
   * Expected device time of the engine work queued and not yet launched that runs before a batch whose head is
   * due at `before`, in the device's order of service (the work due first), ms. All of it by default (`before`
   * unknown).
   */
  queuedWorkMs(before = Number.POSITIVE_INFINITY): number {
    let ms = 0;
    const works = this.#works;
    for (let i = 0; i < works.length; i++) {
      const w = works[i]!;
      if (w.deadline > before) break; // sorted by deadline
      if (workGoesFirst(w.deadline, before)) ms += w.expectedMs;
    }
    return ms;
  }

  /**
   * Device time of the follow-ups that the engine work on the device announced (the next generation step, queued
   * the moment the running one ends) that will be due before `before`, ms (walked only when there is one: an
   * iterator is an object per walk).
   */
  #followUpsAheadMs(before: number): number {
    let ms = 0;
    // A follow-up costs what the step announcing it does.
    for (const [w, at] of this.#followUps) if (workGoesFirst(at, before)) ms += w.expectedMs;
    return ms;
  }

  /**
   * Queues one unit of engine work (a generation step): it launches in EDF order among the lanes' batches.
   * Fails at once with `CLOSED` after {@link DeviceScheduler.close}.
   */
  enqueueWork(work: DeviceWork): void {
    if (this.#closed) return work.fail(new EparaError('CLOSED', 'the device scheduler is closed'));
    let at = this.#works.length;
    while (at > 0 && this.#works[at - 1]!.deadline > work.deadline) at--;
    this.#works.splice(at, 0, work);
    this.pump();
  }

  /** Busy time and launch count (batches and engine work) so far. */
  counters(): { busyMs: number; batches: number } {
    return { busyMs: this.#busyMs, batches: this.#batches };
  }

  attach(lane: Lane): void {
    if (!this.#lanes.has(lane)) this.#laneList.push(lane);
    this.#lanes.add(lane);
    if (!this.#lanesState.has(lane)) this.#lanesState.set(lane, new LaneState(lane, this.device.id, this.#hostDelayQuantile));
  }

  detach(lane: Lane): void {
    this.#lanes.delete(lane);
    const at = this.#laneList.indexOf(lane);
    if (at >= 0) this.#laneList.splice(at, 1);
    // The scratch arrays' stale entries must not keep a detached lane alive.
    this.#candidates.length = 0;
    this.#endedLanes.length = this.#endedCount;
    this.#lanesState.delete(lane);
  }

  /** Stops scheduling; batches already running finish, queued engine work fails with `CLOSED`. */
  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#wakeSet = false;
    const closed = new EparaError('CLOSED', 'the device scheduler closed');
    for (const w of this.#works.splice(0)) w.fail(closed);
  }

  /**
   * A new item joined `lane`'s queue. While the device holds all the batches it may (one running, one sent
   * ahead) and no engine work waits, nothing can launch before a batch ends: the arrival only needs the expiry
   * wake-up moved earlier if the new item becomes hopeless first — O(1), no planning. Otherwise it pumps.
   */
  arrived(lane: Lane, item: WorkItem, now = this.#clock.now()): void {
    if (this.#closed) return;
    if (this.#pumping || !this.#full) return this.pump(now);
    // The launch rule's expiry for this item, with the lead `#context` gives it; the timer's pump drops it then.
    const expireAt = itemExpiry(item, lane.dropLatencyMs(this.device.id, now), 2 * this.#recentTimerLagMs(now));
    if (!this.#wakeSet || expireAt < this.#timerAt) this.#sleepUntil(expireAt);
  }

  /**
   * Re-evaluates every lane: drops hopeless items, launches a batch if one is due, or sets a wake-up. While
   * one batch runs, a second *full* batch may be sent ahead (it waits inside the worker), so that the device
   * does not idle for a message round trip between batches under load. A pump asked for while one runs (a
   * launch, a callback that submits) runs right after it, never inside it: the lanes' plans are reused.
   */
  pump(now?: number): void {
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    try {
      // `now` (a caller's reading of the same moment) serves the first pass; a pass asked for meanwhile reads anew.
      let at = now;
      do {
        this.#pumpAgain = false;
        if (!this.#closed) this.#pumpOnce(at ?? this.#clock.now());
        at = undefined;
      } while (this.#pumpAgain);
    } finally {
      this.#pumping = false;
    }
  }

  #pumpOnce(now: number): void {
    this.#unplannedEnd = false;
    if (now >= this.#giveUpAt) this.#giveUpOverdue(now);
    // A full device takes no launch before one ends, whoever asked for the pass (the launch that filled it, the
    // expiry timer, another lane's wake-up): only the hopeless are dropped and the next expiry set.
    if (this.#full) return this.#expireOnce(now);
    const busy = this.#running > 0;
    const candidates = this.#candidates;
    let count = 0;
    let expireAt = Number.POSITIVE_INFINITY;
    const lanes = this.#laneList;
    for (let l = 0; l < lanes.length; l++) {
      const lane = lanes[l]!;
      if (lane.queue.size === 0) continue;
      const st = this.#lanesState.get(lane)!;
      const decision = planLaunch(lane.queue.items, this.#context(lane, st, now, busy), st.plan);
      if (decision.drop.length > 0) this.#dropFrom(lane, decision.drop, now);
      if (decision.expireAt !== undefined && decision.expireAt < expireAt) expireAt = decision.expireAt;
      if (decision.group) {
        st.candidate.headDeadline = decision.headDeadline!;
        st.candidate.runMs = decision.runMs!;
        candidates[count++] = st.candidate;
      }
    }
    // Engine work is always ready: only its deadline orders it (the queue is sorted, the head stands for all).
    const work = this.#works[0];
    if (work !== undefined) {
      const wc = this.#workCandidate;
      wc.work = work;
      wc.headDeadline = work.deadline;
      wc.runMs = work.expectedMs;
      candidates[count++] = wc;
    }
    if (count === 0) {
      // Nothing to launch (an empty queue, or frames waiting for their stream): wake when something expires.
      this.#sleepUntil(expireAt);
      return;
    }
    if (count > 1) sortCandidates(candidates, count);
    if (busy) {
      const first = candidates[0]!;
      if (this.#sendAhead(first, now)) this.#launch(first, now);
      // While a batch runs nothing else wakes the queue but arrivals: reject what expires by its deadline.
      else this.#sleepUntil(expireAt);
      return;
    }
    let due: Candidate | undefined;
    // Several services share the device: the first (EDF) batch must also start early enough that the batches
    // queued behind it still meet their deadlines (EDF slack over the cumulative run times).
    let slackStart = Number.POSITIVE_INFINITY;
    // The same, over the candidates before `due` only: what launching `due` first would make late.
    let slackBeforeDue = Number.POSITIVE_INFINITY;
    const slack = this.#order === 'slack';
    let cumulative = 0;
    let wakeAt = Number.POSITIVE_INFINITY;
    for (let i = 0; i < count; i++) {
      const c = candidates[i]!;
      if (due === undefined && (c.work !== undefined || c.decision!.launch)) {
        due = c;
        slackBeforeDue = slackStart;
      }
      cumulative += c.runMs;
      slackStart = Math.min(slackStart, c.headDeadline - this.#guardOf(c, now) - cumulative);
      wakeAt = Math.min(wakeAt, c.decision?.wakeAt ?? Number.POSITIVE_INFINITY);
    }
    if (now >= slackStart) this.#launch(candidates[0]!, now);
    else if (due === undefined) this.#sleepUntil(Math.min(slackStart, expireAt, wakeAt));
    // A launch due later than one waiting to fill goes first only within the slack of those due before it: the
    // device does not preempt, so otherwise the earliest goes now, as it stands (and the later one behind it).
    else if (slack && now + due.runMs > slackBeforeDue) this.#launch(candidates[0]!, now);
    else this.#launch(due, now, true);
  }

  /**
   * Whether nothing can launch before a launch ends: the device holds all the batches it may (one running, one sent
   * ahead) and no engine work waits (which would go ahead).
   */
  get #full(): boolean {
    return this.#running - this.#runningWork >= MAX_AHEAD && this.#works.length === 0;
  }

  /** Takes a plan's hopeless items out of the lane's queue and settles them. */
  #dropFrom(lane: Lane, drop: readonly WorkItem[], now: number): void {
    lane.queue.removeAll(drop);
    // Settling runs callers' listeners: a re-entrant pump waits (see pump), so the plan stays as it is.
    for (let i = 0; i < drop.length; i++) lane.drop(drop[i]!, now);
  }

  /**
   * A pass on a full device (see {@link #full}) — the one right after a batch was sent ahead and filled it, an
   * expiry wake-up or another lane's wake-up while it stays full: a plan could only drop the hopeless and set the
   * expiry wake-up, as `#sendAhead` refuses every batch. So only that is planned ({@link planExpiry}: the same
   * drops and expiry as the full plan, without sizing a batch per lane). At batch 8 the pass after a send-ahead
   * was every second planning pass, and most of a pass's allocations.
   */
  #expireOnce(now: number): void {
    let expireAt = Number.POSITIVE_INFINITY;
    const lanes = this.#laneList;
    for (let l = 0; l < lanes.length; l++) {
      const lane = lanes[l]!;
      if (lane.queue.size === 0) continue;
      const st = this.#lanesState.get(lane)!;
      const plan = planExpiry(lane.queue.items, this.#expiryContext(lane, st, now, true), st.plan);
      if (plan.drop.length > 0) this.#dropFrom(lane, plan.drop, now);
      if (plan.expireAt !== undefined && plan.expireAt < expireAt) expireAt = plan.expireAt;
    }
    // While the batches run nothing else wakes the queue but arrivals: reject what expires by its deadline.
    this.#sleepUntil(expireAt);
  }

  /** The margin a candidate's head keeps, ms: the lane's guard, what it learned, the timers' lag; the lag alone for engine work. */
  #guardOf(c: Candidate, now: number): number {
    const timers = 2 * this.#timerLagMs;
    return c.lane ? c.lane.guardMs + this.learnedGuardMs(c.lane, c.decision!.group!.length, false, now) + timers : timers;
  }

  /**
   * Whether `c`, first in EDF order, may be sent to the busy device behind what it runs: engine work, and full
   * batches while fewer than {@link MAX_AHEAD} are held — unless engine work on the device announced a
   * follow-up with an earlier deadline that the batch would make late.
   */
  #sendAhead(c: Candidate, now: number): boolean {
    if (c.work !== undefined) return true;
    if (this.#running - this.#runningWork >= MAX_AHEAD) return false;
    // A batch due later than an announced follow-up goes first only if the follow-up still makes its deadline
    // (walked only when there is one: an iterator is an object per walk).
    if (this.#followUps.size > 0) for (const [w, at] of this.#followUps) if (at < c.headDeadline && this.freeAt(now) + c.runMs + w.expectedMs > at) return false;
    // Behind engine work only (a short step), a lane that launches partial batches on an idle device sends one
    // now: the device is about to idle, and waiting would cost it a round trip to the host.
    // A stream lane's pack short of its largest waits for the device to free, to take the frames arriving until then.
    const full = c.decision!.group!.length >= (c.lane!.packsWhenFree === true ? c.lane!.maxBatchSize : c.lane!.batchSize) || (c.lane!.launchWhenIdle && this.#running === this.#runningWork);
    return full && c.lane!.earliestStart(now) >= this.freeAt(now);
  }

  /** Launches a candidate: its due batch (`due`), or the batch it would run (EDF slack spent, or sent ahead). */
  #launch(c: Candidate, now: number, due = false): void {
    if (c.work !== undefined) return this.#dispatchWork(c.work, now);
    // The batch leaves the lane's plan, which the next pump refills: it gets its own array.
    this.#dispatch(c.lane!, (due ? c.decision!.launch! : c.decision!.group!).slice(), now);
  }

  /** The launch rule's inputs for `lane` now (its reused context); a busy device plans the batch it would send ahead. */
  #context(lane: Lane, st: LaneState, now: number, busy: boolean): LaunchContext {
    const ctx = this.#expiryContext(lane, st, now, busy);
    ctx.guardMs = lane.guardMs + 2 * this.#timerLagMs;
    ctx.launchWhenIdle = lane.launchWhenIdle;
    ctx.arrivalsPerMs = lane.arrivalsPerMs(now);
    // Under overload, a head that only a small batch could serve is passed over for a batch that does much more.
    ctx.skipShrinkingHead = lane.skipShrinkingHead === true ? skipShrinkingHeadAt(lane.loadShare(this.device.id, now)) : undefined;
    return ctx;
  }

  /** The part of {@link #context} that the drops and the expiry read ({@link planExpiry}); the rest is left as it was. */
  #expiryContext(lane: Lane, st: LaneState, now: number, busy: boolean): { -readonly [K in keyof LaunchContext]: LaunchContext[K] } {
    const ctx = st.ctx;
    st.busy = busy;
    st.now = now;
    ctx.now = now;
    // Behind engine work on the device, the follow-ups it announced (the next generation step) that will be due
    // before this lane's head come first too: the batch starts after them.
    const head = lane.queue.items[0];
    const followUps = this.#followUps.size > 0 && head !== undefined ? this.#followUpsAheadMs(head.deadline) : 0;
    ctx.startAt = (busy ? lane.earliestStart(now) : now) + followUps;
    ctx.batchSize = lane.batchSize;
    ctx.maxBatchSize = lane.maxBatchSize;
    ctx.dropLatencyMs = lane.dropLatencyMs(this.device.id, now);
    ctx.likelyLateMarginMs = st.lateness.typicalMs(1, busy, now);
    // Wake-ups come late on a busy host: reject that much earlier, so that a rejection is not itself late.
    ctx.expiryLeadMs = 2 * this.#recentTimerLagMs(now);
    return ctx;
  }

  /**
   * The timer lag, fading with the time since a timer last measured it (half-life {@link TIMER_LAG_HALF_LIFE_MS}):
   * it rejects items early, and an idle executor that sets no timers must not keep refusing tight requests for
   * a lag measured during a burst long ago.
   */
  #recentTimerLagMs(now: number): number {
    const age = now - this.#timerLagAt;
    return age > 0 ? this.#timerLagMs * 0.5 ** (age / TIMER_LAG_HALF_LIFE_MS) : this.#timerLagMs;
  }

  /**
   * Wakes the scheduler at `at` (clock ms; never when infinite). A wake-up already set no later than `at` is
   * kept: it pumps early, which is harmless (a pump decides from the state it finds), and sets the next one
   * then. Re-arming on every pump that moved the moment later cost a timer, its callback and its handle per
   * arrival. A launch drops the wake-up (it pumps again at once) but not the platform timer behind it: the next
   * wake-up set no earlier reuses that timer, which re-arms itself for the later moment when it fires (without
   * pumping). Cancelling and arming a timer at every launch cost a timer object, its handle and its async
   * bookkeeping per batch; now a timer is armed about once per wake-up that really comes.
   */
  #sleepUntil(at: number): void {
    // The held batches' give-up moment rides on the same wake-up (see #giveUpOverdue).
    const giveUp = this.#giveUpAt < at;
    if (giveUp) at = this.#giveUpAt;
    if (this.#wakeSet && this.#timerAt <= at) return;
    if (!Number.isFinite(at)) return;
    this.#wakeSet = true;
    this.#timerAt = at;
    this.#wakeForGiveUp = giveUp;
    // An armed timer due no later still serves: it re-arms for `at` when it fires.
    if (this.#timer !== undefined && this.#timerArmedAt <= at) return;
    this.#arm(at);
  }

  #arm(at: number): void {
    this.#timer?.cancel();
    this.#timerArmedAt = at;
    this.#timer = this.#timers.at(at, this.#wake);
  }

  /** The platform timer's callback (one function for every timer). */
  readonly #wake = (): void => {
    this.#timer = undefined;
    if (!this.#wakeSet) return; // dropped by a launch, and none set since
    const at = this.#timerAt;
    // Armed for an earlier wake-up that a launch dropped: wait on for this one.
    if (this.#timerArmedAt < at) return this.#arm(at);
    this.#wakeSet = false;
    this.#timerAt = Number.NaN;
    // Timers fire late on a busy host: plan that lateness into the guard. Not from a wake-up set only for a held
    // batch's give-up moment: it comes seconds after the batch, mostly on an idle device, and would bring back a
    // lag measured in a burst long ago, which `#recentTimerLagMs` lets fade.
    if (!this.#wakeForGiveUp) {
      const now = this.#clock.now();
      const lag = Math.max(0, now - at);
      this.#timerLagMs = 0.9 * this.#timerLagMs + 0.1 * Math.min(lag, 1000);
      this.#timerLagAt = now;
    }
    this.pump();
  };

  #dispatchWork(work: DeviceWork, now: number): void {
    this.#works.splice(this.#works.indexOf(work), 1);
    const plannedStart = this.#started(now, work.expectedMs);
    this.#recentWorkMs = decayed(this.#recentWorkMs, now - this.#recentWorkAt) + work.expectedMs;
    this.#recentWorkAt = now;
    this.#runningWork++;
    if (work.followUpDeadline !== undefined) this.#followUps.set(work, work.followUpDeadline);
    // run() must not reject; a bug there must not stall the device either.
    void work
      .run(plannedStart)
      .catch(() => undefined)
      .then(() => {
        this.#followUps.delete(work);
        this.#runningWork--;
        this.#settled();
        this.pump();
      });
    this.pump();
  }

  /**
   * A launch goes to the device: the pending wake-up is dropped (the launch pumps again; its platform timer stays,
   * see {@link #sleepUntil}); returns its planned start.
   */
  #started(now: number, expectedMs: number): number {
    this.#wakeSet = false;
    this.#timerAt = Number.NaN;
    const plannedStart = this.#timeline.dispatch(now, expectedMs);
    if (this.#running === 0) this.#busySince = now;
    this.#running++;
    this.#batches++;
    return plannedStart;
  }

  /** After a launch ended: the next held launch starts now; account the busy time. */
  #settled(): number {
    this.#running--;
    const end = this.#clock.now();
    // The next held batch starts now: re-anchor instead of trusting the prediction made at dispatch.
    this.#timeline.complete(end);
    if (this.#running === 0) this.#busyMs += Math.max(0, end - this.#busySince);
    this.#lastEndAt = end;
    return end;
  }

  #dispatch(lane: Lane, items: WorkItem[], now: number): void {
    lane.queue.removeAll(items);
    let scale = 1;
    for (let i = 0; i < items.length; i++) scale = Math.max(scale, items[i]!.costScale ?? 1);
    const expectedMs = this.expectedMs(lane, items.length, now) * scale;
    const ahead = this.#timeline.held > 0;
    const plannedStart = this.#started(now, expectedMs);
    // One record per batch: the dispatch hook's payload, what the batch's end is learned from, and its callback.
    const launch = new Launch(this.#onEnded, lane, items);
    launch.deviceId = this.device.id;
    launch.expectedMs = expectedMs;
    launch.at = now;
    launch.plannedStart = plannedStart;
    launch.ahead = ahead;
    launch.scale = scale;
    let giveUp = Number.POSITIVE_INFINITY;
    for (let i = 0; i < items.length; i++) giveUp = Math.min(giveUp, giveUpAt(items[i]!));
    launch.giveUpAt = giveUp;
    // Held before it runs: a batch that fails at once ends inside `lane.run`.
    this.#held[this.#heldCount++] = launch;
    if (giveUp < this.#giveUpAt) this.#giveUpAt = giveUp;
    this.#onDispatch(launch);
    lane.run(items, this.device, plannedStart, launch);
    // Look again at once: items only this batch's start could have saved are rejected now, not after it ran,
    // and a full batch may be sent ahead (on a device this batch filled, only the former is looked at).
    this.pump();
  }

  /** `l` left the device: it is no longer held, nor watched for its give-up moment. */
  #release(l: Launch): void {
    const held = this.#held;
    const k = held.indexOf(l);
    if (k < 0) return;
    const last = --this.#heldCount;
    held[k] = held[last];
    held[last] = undefined; // no ended batch kept alive
    if (l.giveUpAt <= this.#giveUpAt) this.#giveUpAt = this.#earliestGiveUp();
  }

  #earliestGiveUp(): number {
    let at = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.#heldCount; i++) at = Math.min(at, this.#held[i]!.giveUpAt);
    return at;
  }

  /**
   * Gives up on the items of held batches whose give-up moment has passed (`OVERDUE_GRACE_MS` in overdue.ts:
   * a device stuck inside a run answers nothing, and every submit must settle): each fails `DEADLINE_EXCEEDED`
   * (`STALE_FRAME` for a stream frame), while its batch keeps its place on the device and an answer that comes
   * after all finds the item settled. Run from the scheduler's own wake-up, which every pass sets no later than
   * {@link #giveUpAt} while a batch is held: the watch costs no timer per batch (a timer armed at each launch and
   * cancelled at its end was one platform timer per batch wherever the device ran dry between batches — every
   * sequential request), only about one per grace period while batches keep coming.
   */
  #giveUpOverdue(now: number): void {
    const held = this.#held;
    let stuck = false;
    // Settling runs callers' listeners; a pump they ask for waits (see pump), so the held batches stay as they are.
    for (let h = 0; h < this.#heldCount; h++) {
      const l = held[h]!;
      // Its items due before `from` were given up on by an earlier pass (it is the earliest of the rest).
      const from = l.giveUpAt;
      if (from > now) continue;
      let next = Number.POSITIVE_INFINITY;
      const items = l.items;
      for (let i = 0; i < items.length; i++) {
        const item = items[i]!;
        const at = giveUpAt(item);
        if (at > now) next = Math.min(next, at);
        if (at > now || at < from) continue;
        const code = item.frame ? 'STALE_FRAME' : 'DEADLINE_EXCEEDED';
        item.settle(
          new EparaError(code, `its device has not answered the batch ${Math.round(now - item.deadline)} ms past the deadline: the request is given up on (the device may be stuck in a run)`, {
            serviceId: l.lane.serviceId,
            instanceId: l.lane.id,
            deviceId: this.device.id,
          }),
        );
      }
      if (next === Number.POSITIVE_INFINITY) {
        stuck = true;
        // Watched again a grace later: a batch that never started on the worker the watchdog ends runs again on the
        // next one, and may hold it as long (its requests settled, nothing else would ever see it).
        next = now + OVERDUE_GRACE_MS;
      }
      l.giveUpAt = next;
    }
    this.#giveUpAt = this.#earliestGiveUp();
    // Every request of a batch is given up on and the device still holds it: the run watchdog (see recycle) frees
    // the device for the work queued behind it, and the memory the run holds, by restarting its worker.
    if (stuck) this.device.recycle?.(`a batch was not answered ${OVERDUE_GRACE_MS} ms or more past its requests' deadlines`);
  }

  /** What every launch calls when its batch ended (one function per scheduler). */
  readonly #onEnded = (l: Launch, runMs: number | undefined): void => this.#ended(l, typeof runMs === 'number' ? runMs : undefined);

  #ended(l: Launch, runMs: number | undefined): void {
    this.#release(l);
    // The device was this batch's from its dispatch, or from the previous launch's end when sent behind it:
    // counting from the dispatch alone would bill it the wait behind the batch ahead, which that one's hold has.
    const heldFrom = Math.max(l.at, this.#lastEndAt);
    const end = this.#settled();
    if (runMs !== undefined) l.lane.observeHold?.(this.device.id, l.items.length, (end - heldFrom) / l.scale, end, runMs / l.scale);
    // Until the host has the outputs: the worker's messaging and a late host thread count as lateness.
    const st = this.#lanesState.get(l.lane);
    if (st !== undefined) {
      const b = st.ended;
      b.n = l.items.length;
      b.expectedMs = l.expectedMs;
      b.plannedStart = l.plannedStart;
      b.end = end;
      b.runMs = runMs;
      b.ahead = l.ahead;
      st.lateness.observe(b);
    }
    // What follows a batch's end — dropping what expired, planning, stacking and posting the next batch — waits for
    // a microtask: the batch's callers were just handed their outputs (their promises' reactions are queued), and
    // run first. Done at once, that work came between the outputs reaching the host (`end`, what the guards learn
    // from) and the callers seeing them, so every request was served later than the scheduler planned by the
    // next launch's preparation, which no guard knew of.
    this.#endedLanes[this.#endedCount++] = l.lane;
    this.#unplannedEnd = true;
    if (!this.#afterEndQueued) {
      this.#afterEndQueued = true;
      // A reaction to one resolved promise, not Node's `queueMicrotask`: that wraps each callback in an
      // `AsyncResource` and a bound function and enters and leaves its async scope around it (about 400 heap bytes
      // per batch, counted, against about 100 for a reaction and the promise it derives).
      void RESOLVED.then(this.#afterEnd);
    }
  }

  /**
   * Lanes whose batches ended since the last {@link #afterEnd}, in order (a lane once per batch): the first
   * `#endedCount`, the rest stale (kept, not emptied: `length = 0` would drop the backing store every batch).
   */
  readonly #endedLanes: Lane[] = [];
  #endedCount = 0;
  #afterEndQueued = false;
  /** A batch ended and no pass has planned since (a caller that submitted at once pumped after it: see {@link #afterEnd}). */
  #unplannedEnd = false;

  /**
   * After the callers of the batches that ended saw their outputs: the lanes wake their other devices, and this
   * one plans — unless a pass already planned after the last end with nothing new since: a caller that submitted
   * again from its continuation pumped (in a closed loop, every batch end), and a second pass at the same state
   * would decide the same (it was a third planning pass per batch, with its allocations).
   */
  readonly #afterEnd = (): void => {
    this.#afterEndQueued = false;
    const lanes = this.#endedLanes;
    // A pump asked for meanwhile (a callback that submits) is held until the lanes return, and then runs.
    const pumping = this.#pumping;
    this.#pumping = true;
    try {
      // A batch ending meanwhile (a lane's pumps run other devices) is appended and seen by this loop.
      for (let i = 0; i < this.#endedCount; i++) lanes[i]!.onBatchDone(this);
    } finally {
      this.#endedCount = 0;
      this.#pumping = pumping;
    }
    if (this.#unplannedEnd || this.#pumpAgain) this.pump();
  };
}

/** A batch on its way to the device: the dispatch hook's payload, and the lane's callback when it ended. */
class Launch implements DispatchInfo, BatchDone {
  readonly #onEnded: (l: Launch, runMs: number | undefined) => void;
  readonly lane: Lane;
  readonly items: readonly WorkItem[];
  deviceId = '';
  expectedMs = 0;
  at = 0;
  plannedStart = 0;
  /** Sent behind a running batch. */
  ahead = false;
  /** The largest input size of its items relative to the profiled one (its expected time is scaled by it). */
  scale = 1;
  /** When the first of its items not given up on yet is given up on, if the device has not answered (clock ms). */
  giveUpAt = Number.POSITIVE_INFINITY;
  #ended = false;

  constructor(onEnded: (l: Launch, runMs: number | undefined) => void, lane: Lane, items: readonly WorkItem[]) {
    this.#onEnded = onEnded;
    this.lane = lane;
    this.items = items;
  }

  batchEnded(runMs: number | undefined): void {
    // Once: a lane calling twice must not free the device twice.
    if (this.#ended) return;
    this.#ended = true;
    this.#onEnded(this, runMs);
  }
}
