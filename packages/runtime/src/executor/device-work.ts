/*
 * Device work that is not a batch of queued items — a generation engine's prefill or decode step — and the
 * port through which an engine hands it to the device's scheduler. Declared apart from the scheduler so that
 * engines depend on the port, not on the scheduler class.
 */
import type { Clock, EparaError } from '@epara/core';

/**
 * One unit of device time an engine asks for: the device scheduler launches it in earliest-deadline order
 * together with the batches of the lanes on the same device, counts it in the device's timeline (so that
 * every estimate on the device sees it) and in its busy time.
 */
export interface DeviceWork {
  /** Instance that asks (for logs and events). */
  readonly ownerId: string;
  /** Absolute time by which the work should have finished on the device, clock ms (the EDF key). `Infinity`: none. */
  readonly deadline: number;
  /**
   * Expected device time of the work, ms, without queueing: what it holds the device, as a batch's expected time
   * is (its compute plus the hand-offs to and from the device's thread its owner learned), so that the timeline and
   * every estimate on the device price it at what it really takes.
   */
  readonly expectedMs: number;
  /**
   * Deadline of the work the owner will queue as soon as this one ends (the next decode step), when it knows
   * one. While this work is on the device, a batch with a later deadline is sent ahead behind it only if the
   * follow-up, which does not exist yet, would still make that deadline after the batch. @default none
   */
  readonly followUpDeadline?: number;
  /**
   * Runs the work on the device; resolves once the device is done with it. Called at most once, and only when
   * the scheduler decided the work goes now. `plannedStart` is when the device is expected to start it (later
   * than now when it is sent behind a running batch). Must not reject. Work the engine enqueues before this
   * promise settles competes in the very next launch decision (how a decode loop keeps its turn).
   */
  run(plannedStart: number): Promise<void>;
  /** Called instead of {@link DeviceWork.run} when the work can no longer run (the scheduler closed). */
  fail(error: EparaError): void;
}

/** Where an engine queues its device work: the device scheduler, or {@link directWorkQueue} without one. */
export interface DeviceWorkQueue {
  /** Queues `work`; it runs when the scheduler picks it, or fails with `CLOSED`. */
  enqueueWork(work: DeviceWork): void;
  /** When the device is expected to be free for new work (now when idle), clock ms. */
  freeAt(now: number): number;
  /**
   * The share of the device's time the batch services placed on it need at `now` (their recent arrivals at
   * their expected batch cost), 0 or more; absent: none share it.
   */
  sharedLoad?(now: number): number;
  /**
   * How long work queued at `now` waits on average for the batch services' batch in progress to end, ms: over
   * the services, the share of the device their arrivals need × half their expected batch time (shares summing
   * past 1 are scaled down to 1). Absent: none share the device. What an urgent unit of work (a generation step)
   * waits under earliest-deadline order, which never interrupts a running batch.
   */
  residualMs?(now: number): number;
}

/**
 * A queue that runs every work at once, in the order given: for an engine that has its device to itself (no
 * other service shares it, so no scheduler needs to order the work).
 */
export function directWorkQueue(clock: Clock): DeviceWorkQueue {
  let busyUntil = Number.NEGATIVE_INFINITY;
  return {
    enqueueWork(work) {
      const now = clock.now();
      busyUntil = Math.max(now, busyUntil) + work.expectedMs;
      void work.run(now);
    },
    freeAt: (now) => Math.max(now, busyUntil),
  };
}
