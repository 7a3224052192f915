import { type Clock } from '@epara/core';
import {
  DeviceTimeline,
  LatencyErrorTracker,
  planLaunch,
  type LaunchContext,
  type LaunchDecision,
} from '@epara/core/scheduling';
import type { DeviceHandle } from '../devices/device-port.js';
import type { Lane } from '../batching/lane.js';
import type { WorkItem } from '../batching/work-item.js';
import type { TimerHandle, Timers } from '@epara/core';

/** Batches a device holds at once: one running and one waiting in the worker. */
const MAX_AHEAD = 2;

/** How long a lane's learned margin lasts without a batch of that lane confirming it, ms. */
const LEARNED_GUARD_MEMORY_MS = 1000;

/** Payload of the scheduler's dispatch hook. */
export interface DispatchInfo {
  readonly lane: Lane;
  readonly deviceId: string;
  readonly items: readonly WorkItem[];
  readonly expectedMs: number;
  readonly at: number;
}

/**
 * Runs one device: it serves, one batch at a time, the lanes (service instances) placed on it, with core's
 * request scheduler ({@link planLaunch}, {@link DeviceTimeline}, {@link LatencyErrorTracker}). When the device
 * is idle it asks every lane for a launch decision and runs the launchable batch whose earliest deadline
 * comes first (EDF across services: the time-sharing of multi-task), otherwise it sleeps until the earliest
 * moment some lane must launch. Every launch keeps, besides the configured guard and the timers' lateness, a
 * margin learned per lane: a high quantile of how much later than predicted that lane's batches really ended
 * on this device (from their planned start). A margin is forgotten when no batch of its lane has ended for
 * `guardMemoryMs`: only batches that run refresh it, and a margin large enough to make every request of the
 * lane look late (to the router's estimate and to the launch rule) would otherwise stop the batches that
 * could show it is out of date — the lane would refuse all work for good after one bad spell (a cold start,
 * another engine's burst on the shared device).
 */
export class DeviceScheduler {
  readonly device: DeviceHandle;
  readonly #lanes = new Set<Lane>();
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #onDispatch: (info: DispatchInfo) => void;
  readonly #timeline = new DeviceTimeline();
  readonly #errors = new Map<Lane, LatencyErrorTracker>();
  /** When a batch of each lane last ended (its margin's last confirmation). */
  readonly #lastObserved = new Map<Lane, number>();
  readonly #guardMemoryMs: number;
  #running = 0;
  #busySince = 0;
  #timer: TimerHandle | undefined;
  #busyMs = 0;
  #timerLagMs = 0;
  #batches = 0;
  #closed = false;

  constructor(o: { device: DeviceHandle; clock: Clock; timers: Timers; onDispatch: (info: DispatchInfo) => void; guardMemoryMs?: number }) {
    this.device = o.device;
    this.#guardMemoryMs = o.guardMemoryMs ?? LEARNED_GUARD_MEMORY_MS;
    this.#clock = o.clock;
    this.#timers = o.timers;
    this.#onDispatch = o.onDispatch;
  }

  /** When the device is expected to be free (now when idle). */
  freeAt(now: number): number {
    return this.#timeline.freeAt(now);
  }

  /** What a batch of `n` profiled-size items of `lane` is expected to take on this device, ms. */
  expectedMs(lane: Lane, n: number): number {
    return lane.latencyMs(this.device.id, n);
  }

  /**
   * The margin learned for `lane` on this device, ms: a high quantile of how much later than predicted its
   * batches ended (from their planned start). Proportional slowdowns are already in `lane.latencyMs` (the
   * per-device correction of compute time); what remains is additive (messaging, a host thread running late).
   * 0 once no batch of the lane has ended for `guardMemoryMs` (the margin is forgotten, see the class).
   */
  learnedGuardMs(lane: Lane): number {
    const errors = this.#errors.get(lane);
    if (!errors || errors.samples === 0) return 0;
    if (this.#clock.now() - (this.#lastObserved.get(lane) ?? Number.NEGATIVE_INFINITY) > this.#guardMemoryMs) {
      this.#errors.set(lane, new LatencyErrorTracker());
      return 0;
    }
    return errors.excessMs;
  }

  get busy(): boolean {
    return this.#running > 0;
  }

  get lanes(): ReadonlySet<Lane> {
    return this.#lanes;
  }

  /** Busy time and batch count so far. */
  counters(): { busyMs: number; batches: number } {
    return { busyMs: this.#busyMs, batches: this.#batches };
  }

  attach(lane: Lane): void {
    this.#lanes.add(lane);
    if (!this.#errors.has(lane)) this.#errors.set(lane, new LatencyErrorTracker());
  }

  detach(lane: Lane): void {
    this.#lanes.delete(lane);
    this.#errors.delete(lane);
    this.#lastObserved.delete(lane);
  }

  /** Stops scheduling; batches already running finish. */
  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /**
   * Re-evaluates every lane: drops hopeless items, launches a batch if one is due, or sets a wake-up. While
   * one batch runs, a second *full* batch may be sent ahead (it waits inside the worker), so that the device
   * does not idle for a message round trip between batches under load.
   */
  pump(): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    const busy = this.#running > 0;
    const candidates: { lane: Lane; decision: LaunchDecision<WorkItem> }[] = [];
    for (const lane of this.#lanes) {
      if (lane.queue.size === 0) continue;
      const deviceId = this.device.id;
      const ctx: { -readonly [K in keyof LaunchContext]: LaunchContext[K] } = {
        now,
        startAt: busy ? lane.earliestStart(now) : now,
        batchSize: lane.batchSize,
        maxBatchSize: lane.maxBatchSize,
        latencyMs: (n: number) => this.expectedMs(lane, n),
        dropLatencyMs: lane.dropLatencyMs(deviceId),
        guardMs: lane.guardMs + 2 * this.#timerLagMs + this.learnedGuardMs(lane),
        launchWhenIdle: lane.launchWhenIdle,
      };
      // Read once (it decays with the clock); no object spread on this per-arrival path.
      const arrivalsPerMs = lane.arrivalsPerMs;
      if (arrivalsPerMs !== undefined) ctx.arrivalsPerMs = arrivalsPerMs;
      const decision = planLaunch(lane.queue.items, ctx);
      if (decision.drop.length > 0) {
        lane.queue.removeAll(new Set(decision.drop));
        for (const item of decision.drop) lane.drop(item, now);
      }
      if (decision.group) candidates.push({ lane, decision });
    }
    if (candidates.length === 0) {
      if (!busy) this.#sleepUntil(Number.POSITIVE_INFINITY);
      return;
    }
    candidates.sort((a, b) => a.decision.headDeadline! - b.decision.headDeadline!);
    if (busy) {
      const first = candidates[0]!;
      const full = first.decision.group!.length >= first.lane.batchSize;
      if (this.#running < MAX_AHEAD && full && first.lane.earliestStart(now) >= this.freeAt(now)) this.#dispatch(first.lane, first.decision.group!, now);
      return;
    }
    const due = candidates.find((c) => c.decision.launch);
    // Several services share the device: the first (EDF) batch must also start early enough that the batches
    // queued behind it still meet their deadlines (EDF slack over the cumulative run times).
    let slackStart = Number.POSITIVE_INFINITY;
    let cumulative = 0;
    for (const c of candidates) {
      cumulative += c.decision.runMs!;
      slackStart = Math.min(slackStart, c.decision.headDeadline! - c.lane.guardMs - 2 * this.#timerLagMs - this.learnedGuardMs(c.lane) - cumulative);
    }
    if (now >= slackStart) this.#dispatch(candidates[0]!.lane, candidates[0]!.decision.group!, now);
    else if (due) this.#dispatch(due.lane, due.decision.launch!, now);
    else this.#sleepUntil(Math.min(slackStart, ...candidates.map((c) => c.decision.wakeAt ?? Number.POSITIVE_INFINITY)));
  }

  #sleepUntil(at: number): void {
    this.#timer?.cancel();
    this.#timer = Number.isFinite(at)
      ? this.#timers.at(at, () => {
          // Timers fire late on a busy host: plan that lateness into the guard.
          const lag = Math.max(0, this.#clock.now() - at);
          this.#timerLagMs = 0.9 * this.#timerLagMs + 0.1 * Math.min(lag, 1000);
          this.pump();
        })
      : undefined;
  }

  #dispatch(lane: Lane, items: WorkItem[], now: number): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    lane.queue.removeAll(items);
    let scale = 1;
    for (const it of items) scale = Math.max(scale, it.costScale ?? 1);
    const expectedMs = this.expectedMs(lane, items.length) * scale;
    const plannedStart = this.#timeline.dispatch(now, expectedMs);
    if (this.#running === 0) this.#busySince = now;
    this.#running++;
    this.#batches++;
    this.#onDispatch({ lane, deviceId: this.device.id, items, expectedMs, at: now });
    void lane.run(items, this.device, plannedStart).finally(() => {
      this.#running--;
      const end = this.#clock.now();
      // The next held batch starts now: re-anchor instead of trusting the prediction made at dispatch.
      this.#timeline.complete(end);
      this.#errors.get(lane)?.observe(expectedMs, end - plannedStart);
      this.#lastObserved.set(lane, end);
      if (this.#running === 0) this.#busyMs += Math.max(0, end - this.#busySince);
      lane.onBatchDone();
      this.pump();
    });
    // Look again at once: items only this batch's start could have saved are rejected now, not after it ran,
    // and a full batch may be sent ahead.
    this.pump();
  }
}
