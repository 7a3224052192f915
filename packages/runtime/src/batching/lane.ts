import type { EdfQueue } from '@epara/core/scheduling';
import type { DeviceHandle } from '../devices/device-port.js';
import type { WorkItem } from './work-item.js';

/** Told when a batch a lane ran has ended (see {@link Lane.run}). */
export interface BatchDone {
  batchEnded(runMs: number | undefined): void;
}

/**
 * One service instance's queue as the device schedulers see it. An instance on several devices
 * (data parallelism) shares one lane between their schedulers: an idle device takes the next batch (late
 * binding, which sends work to the replica that completes it first).
 */
export interface Lane {
  readonly id: string;
  readonly serviceId: string;
  readonly queue: EdfQueue<WorkItem>;
  /** Items per batch on one device (the plan's). */
  readonly batchSize: number;
  /** Largest batch a backlog may grow to (deadlines permitting). */
  readonly maxBatchSize: number;
  /** The configured safety margin, ms (the device scheduler adds what it learns from observed errors). */
  readonly guardMs: number;
  /**
   * The time an item of the lane has from its arrival to its deadline, ms: its service's SLO deadline (requests)
   * or staleness limit (stream frames). Another service's estimate on the same device counts this lane's items
   * arriving while its own item waits when they will be due first (earliest-deadline order puts them ahead).
   * Undefined: not known (such a lane neither counts as overtaking nor counts what overtakes it).
   */
  readonly deadlineBudgetMs?: number;
  readonly launchWhenIdle: boolean;
  /**
   * Recent arrival rate at `now` (items/ms) for fill-aware waiting; undefined waits until the deadline requires.
   * Every figure below takes the caller's `now`: a scheduler plans from one reading of the clock, and a clock
   * read per estimate cost the host thread a reading (and its heap numbers) dozens of times per arrival.
   */
  arrivalsPerMs(now: number): number | undefined;
  /** Whether the lane lets the launch rule pass over a costly head under overload (below); undefined: no. */
  readonly skipShrinkingHead?: boolean;
  /**
   * A stream lane whose packs form when the device frees: a batch smaller than {@link maxBatchSize} is not sent
   * ahead to a busy device (it would run without the frames arriving before the device frees); the idle device's
   * plan takes every frame waiting then. Undefined: no (a plan-sized batch is sent ahead).
   */
  readonly packsWhenFree?: boolean;
  /**
   * The share of its devices' time the lane's recent arrivals need at its batch size on `deviceId` (arrivals/ms ×
   * that batch's run time / batch size / devices): at 0.9 or more the device scheduler judges the lane overloaded
   * and lets the launch rule pass over a head item that only a small batch could serve (`skipShrinkingHead`).
   */
  loadShare(deviceId: string, now: number): number;
  /** Expected device time of a batch of `n` on `deviceId` at `now` (profile × learned hold-time correction), ms. */
  latencyMs(deviceId: string, n: number, now: number): number;
  /** One item's run time for drop decisions at `now`: the smaller of the profile's and the adapted one, ms. */
  dropLatencyMs(deviceId: string, now: number): number;
  /** Earliest time any of the lane's devices can start a batch. */
  earliestStart(now: number): number;
  /** Rejects an item that can no longer meet its deadline (already removed from the queue). */
  drop(item: WorkItem, now: number): void;
  /**
   * Runs a batch on a device and settles its items, then calls `done.batchEnded` exactly once, with the batch's
   * compute time inside the device, ms, when known (the scheduler learns compute error and host-side delay
   * apart; undefined when the run failed). A callback, not a promise: a batch costs no promise chain (an async
   * frame, a `then` and its closure) between the device's answer and the scheduler.
   */
  run(items: WorkItem[], device: DeviceHandle, startedAt: number, done: BatchDone): void;
  /**
   * How long a batch of `n` of this lane held `deviceId`, ms (scaled to profiled input size), ending at `now`:
   * from the later of its dispatch and the previous launch's outputs reaching the host, to its own outputs
   * reaching the host. Called by the device scheduler for every batch that ran; what `latencyMs` learns from.
   * `runMs`: the time the backend ran the batch (scaled the same way), when the device reported it — the rest of
   * the hold is the batch's hand-off, which a stream's capacity prices once per pack.
   */
  observeHold?(deviceId: string, n: number, holdMs: number, now: number, runMs?: number): void;
  /**
   * Called after a batch of this lane finished on some device: wake the lane's other devices. `planner` is the
   * device scheduler the batch ended on: it plans right after, so the lane need not wake it.
   */
  readonly onBatchDone: (planner?: object) => void;
}
