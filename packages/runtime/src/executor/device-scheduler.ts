import type { Clock } from '@epara/core';
import type { DeviceHandle } from '../devices/device-handle.js';
import type { Lane } from '../batching/lane.js';
import { planLaunch, type LaunchDecision } from '../batching/plan-launch.js';
import type { WorkItem } from '../batching/work-item.js';
import type { TimerHandle, Timers } from '../util/timers.js';

/** Payload of the scheduler's dispatch hook. */
export interface DispatchInfo {
  readonly lane: Lane;
  readonly deviceId: string;
  readonly items: readonly WorkItem[];
  readonly expectedMs: number;
  readonly at: number;
}

/**
 * Runs one device: it serves, one batch at a time, the lanes (service instances) placed on it. When the
 * device is idle it asks every lane for a launch decision and runs the launchable batch whose earliest
 * deadline comes first (EDF across services: the time-sharing of multi-task), otherwise it sleeps until the
 * earliest moment some lane must launch.
 */
export class DeviceScheduler {
  readonly device: DeviceHandle;
  readonly #lanes = new Set<Lane>();
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #onDispatch: (info: DispatchInfo) => void;
  #busy = false;
  #busyUntil = 0;
  #timer: TimerHandle | undefined;
  #busyMs = 0;
  #batches = 0;
  #closed = false;

  constructor(o: { device: DeviceHandle; clock: Clock; timers: Timers; onDispatch: (info: DispatchInfo) => void }) {
    this.device = o.device;
    this.#clock = o.clock;
    this.#timers = o.timers;
    this.#onDispatch = o.onDispatch;
  }

  /** When the device is expected to be free (now when idle). */
  freeAt(now: number): number {
    return this.#busy ? Math.max(now, this.#busyUntil) : now;
  }

  get busy(): boolean {
    return this.#busy;
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
  }

  detach(lane: Lane): void {
    this.#lanes.delete(lane);
  }

  /** Stops scheduling; batches already running finish. */
  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** Re-evaluates every lane: drops hopeless items, launches a batch if one is due, or sets a wake-up. */
  pump(): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    let best: { lane: Lane; decision: LaunchDecision } | undefined;
    let wakeAt = Number.POSITIVE_INFINITY;
    for (const lane of this.#lanes) {
      if (lane.queue.size === 0) continue;
      const decision = planLaunch(lane.queue.items, {
        now,
        startAt: this.#busy ? lane.earliestStart(now) : now,
        batchSize: lane.batchSize,
        latencyMs: (n) => lane.latencyMs(this.device.id, n),
        guardMs: lane.guardMs,
        launchWhenIdle: lane.launchWhenIdle,
      });
      if (decision.drop.length > 0) {
        lane.queue.removeAll(new Set(decision.drop));
        for (const item of decision.drop) lane.drop(item, now);
      }
      if (this.#busy) continue;
      if (decision.launch && (!best || decision.headDeadline! < best.decision.headDeadline!)) best = { lane, decision };
      else if (decision.wakeAt !== undefined) wakeAt = Math.min(wakeAt, decision.wakeAt);
    }
    if (this.#busy) return;
    if (best) this.#dispatch(best.lane, best.decision.launch!, now);
    else this.#sleepUntil(wakeAt);
  }

  #sleepUntil(at: number): void {
    this.#timer?.cancel();
    this.#timer = Number.isFinite(at) ? this.#timers.at(at, () => this.pump()) : undefined;
  }

  #dispatch(lane: Lane, items: WorkItem[], now: number): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    lane.queue.removeAll(new Set(items));
    const expectedMs = lane.latencyMs(this.device.id, items.length);
    this.#busy = true;
    this.#busyUntil = now + expectedMs;
    this.#batches++;
    this.#onDispatch({ lane, deviceId: this.device.id, items, expectedMs, at: now });
    void lane.run(items, this.device, now).finally(() => {
      this.#busy = false;
      this.#busyMs += Math.max(0, this.#clock.now() - now);
      lane.onBatchDone();
      this.pump();
    });
  }
}
