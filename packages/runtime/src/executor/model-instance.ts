import { EparaError, latencyAt, type InstanceInfo, type InstanceStatus, type LatencyProfile, type NamedTensors } from '@epara/core';
import { EdfQueue } from '@epara/core/scheduling';
import { InstanceSizing } from './instance-sizing.js';
import type { InstanceSizes } from './instance-sizes.js';
import type { DeviceHandle } from '../devices/device-port.js';
import type { KnownOutput } from '../devices/slab-outputs.js';
import type { BatchDone, Lane } from '../batching/lane.js';
import type { WorkItem } from '../batching/work-item.js';
import type { IoSpec } from './io-spec.js';
import { estimateCompletion } from './estimate-completion.js';
import { cloneTensors } from './model-inputs.js';
import type { BatchVerdict } from './batch-check.js';
import type { InstanceCounters, ModelInstanceContext } from './instance-context.js';
import { loadInstance, type LoadedInstance } from './instance-loading.js';
import { HoldCorrections } from './hold-corrections.js';
import { InstanceAdmission } from './instance-admission.js';
import { BatchRunner } from './batch-runner.js';
import { instanceInfo } from './instance-info.js';
import { ArrivalRate } from './arrival-rate.js';

export type { InstanceCounters, ModelInstanceContext } from './instance-context.js';

/**
 * A service's model loaded on one or more devices (one device: `single`, shared with other services by the
 * device scheduler; several: `data-parallel` replicas sharing one EDF lane). It validates items, forms
 * batches through its lane, runs them and splits the outputs back.
 */
export class ModelInstance implements Lane {
  readonly id: string;
  readonly serviceId: string;
  readonly queue = new EdfQueue<WorkItem>();
  readonly counters: InstanceCounters = { submitted: 0, completed: 0, dropped: 0, failed: 0, batches: 0, batchedItems: 0 };
  readonly onBatchDone = (planner?: object): void => this.#afterBatch(planner);
  status: InstanceStatus = 'loading';
  readonly #c: ModelInstanceContext;
  #streamRateHz = 0;
  readonly #sizing: InstanceSizing;
  readonly #corrections: HoldCorrections;
  readonly #admission: InstanceAdmission;
  readonly #runner: BatchRunner;
  #loaded: LoadedInstance | undefined;
  readonly #arrivals = new ArrivalRate();
  #idle: (() => void) | undefined;
  /** Settles when the drain's queue and runs are done (shared by every `drain` caller). */
  #drained: Promise<void> | undefined;

  constructor(c: ModelInstanceContext) {
    this.#c = c;
    this.#corrections = new HoldCorrections(c.streamPackPricing);
    this.id = c.instanceId;
    this.serviceId = c.service.id;
    const deviceIds = c.schedulers.map((sch) => sch.device.id);
    const profile = (): LatencyProfile => this.profile;
    const { service, plan } = c;
    this.#sizing = new InstanceSizing({ service, plan, devices: deviceIds.length, profile, batchable: () => this.#batchable, streamRateHz: () => this.#streamRateHz });
    const earliestStart = (now: number): number => this.earliestStart(now);
    const [{ counters, queue }, { emit, listening }] = [this, c];
    this.#admission = new InstanceAdmission({ instanceId: this.id, serviceId: this.serviceId, counters, emit, listening, queue, sizing: this.#sizing, corrections: this.#corrections, deviceIds, profile, earliestStart });
    this.#runner = new BatchRunner({
      instanceId: this.id,
      serviceId: this.serviceId,
      counters: this.counters,
      clock: c.clock,
      emit: c.emit,
      listening: c.listening,
      loaded: () => this.#loaded!,
    });
  }

  /** The configured safety margin before deadlines (the device schedulers add the error they learn). */
  get guardMs(): number {
    return this.#c.guardMs;
  }

  /** The service's SLO deadline (requests) or staleness limit (stream frames), ms. */
  get deadlineBudgetMs(): number {
    const slo = this.#c.service.slo;
    return slo.kind === 'latency' ? slo.deadlineMs : slo.stalenessMs;
  }

  /** Recent arrivals in items/ms when fill-aware waiting is on (the default). */
  arrivalsPerMs(now: number): number | undefined {
    return this.#c.batchWait === 'expected-fill' ? this.loadPerSec(now) / 1000 : undefined;
  }

  /** A stream service's packs form when the device frees (the executor's `streamPackForming: 'when-free'`). */
  get packsWhenFree(): boolean {
    return this.#c.streamPackForming === 'when-free' && this.#c.service.slo.kind === 'frequency';
  }

  get skipShrinkingHead(): boolean {
    return this.#c.skipShrinkingHead;
  }

  /** A draining instance stops waiting for batches to fill. */
  get launchWhenIdle(): boolean {
    return this.#c.launchWhenIdle || this.status === 'draining';
  }

  get io(): IoSpec {
    if (!this.#loaded) throw new EparaError('NO_INSTANCE', `instance ${this.id} is not loaded`, { instanceId: this.id });
    return this.#loaded.io;
  }

  /** What a request is checked against (see `LoadedInstance.requestIo`). */
  get requestIo(): IoSpec {
    if (!this.#loaded) throw new EparaError('NO_INSTANCE', `instance ${this.id} is not loaded`, { instanceId: this.id });
    return this.#loaded.wholeRequests?.requestIo ?? this.#loaded.requestIo;
  }

  /** Whether a request of several rows on the batch axes is taken, to run alone and whole (see `LoadedInstance.wholeRequests`). */
  get takesWholeRequests(): boolean {
    return this.#loaded?.wholeRequests !== undefined;
  }

  get devices(): DeviceHandle[] {
    return this.#c.schedulers.map((s) => s.device);
  }

  /** Measured memory per device after load, bytes. */
  get memoryByDevice(): ReadonlyMap<string, number> {
    return this.#loaded?.memory ?? NO_MEMORY;
  }

  /** The item the load found to measure with when the service gave no sample for some input (see `loadInstance`). */
  get foundSample(): NamedTensors | undefined {
    return this.#loaded?.foundSample;
  }

  /** The initial recurrent state of a new stream (stateful services). */
  get initialState(): NamedTensors {
    return cloneTensors(this.#loaded?.state ?? {});
  }

  /** Loads the model on every device, then profiles it if no profile was given. */
  async load(signal?: AbortSignal): Promise<void> {
    const onBatchable = (): void => {
      for (const sch of this.#c.schedulers) sch.pump();
    };
    this.#loaded = await loadInstance(this.#c, onBatchable, signal);
    this.#sizing.reset();
  }

  /**
   * Whether requests of this instance may share a run, and why (or why not): decided at load from the
   * service's `batchable` option, the model's dim names and a numeric check of a batch of two against two
   * single runs. An unbatched instance runs every request and stream frame alone.
   */
  get batching(): BatchVerdict {
    return this.#loaded?.batching.verdict ?? { ok: false, reason: 'not loaded' };
  }

  get #batchable(): boolean {
    return this.#loaded?.batching.ok === true;
  }

  /** Starts taking work. */
  activate(): void {
    this.status = 'ready';
    for (const sch of this.#c.schedulers) sch.attach(this);
  }

  /** Sum of the rates of streams currently sending here, items/s. */
  get streamRateHz(): number {
    return this.#streamRateHz;
  }

  set streamRateHz(rateHz: number) {
    this.#streamRateHz = rateHz;
  }

  get batchSize(): number {
    return this.#sizing.sizes().batchSize;
  }

  /** The batch sizes as of now (one cached object until the verdict, profile or stream rate changes). */
  get sizes(): InstanceSizes {
    return this.#sizing.sizes();
  }

  /**
   * Largest batch a backlog may grow to: the largest `b ≤ maxBatch` whose run fits the SLO budget
   * (`L(b) ≤ D`), at least the plan's batch size. The launch rule still shrinks every batch to its earliest
   * deadline.
   */
  get maxBatchSize(): number {
    return this.#sizing.sizes().maxBatchSize;
  }

  /** Outputs whose per-item size the model fixes (they come back in the batch's slab), once loaded. */
  get knownOutputs(): readonly KnownOutput[] | undefined {
    return this.#loaded?.runOptions.knownOutputs;
  }

  get profile(): LatencyProfile {
    if (!this.#loaded) throw new EparaError('NO_INSTANCE', `instance ${this.id} has no profile yet`, { instanceId: this.id });
    return this.#loaded.profile;
  }

  latencyMs(deviceId: string, n: number, now: number): number {
    return latencyAt(this.profile, n) * this.#corrections.of(deviceId, n, now);
  }

  observeHold(deviceId: string, n: number, holdMs: number, now: number, runMs?: number): void {
    if (this.#c.adaptLatency && this.#loaded) this.#corrections.observe(this.#loaded.profile, deviceId, n, holdMs, now, runMs);
  }

  loadShare(deviceId: string, now: number): number {
    const n = this.batchSize;
    return ((this.loadPerSec(now) / 1000) * this.latencyMs(deviceId, n, now)) / n / this.#c.schedulers.length;
  }

  dropLatencyMs(deviceId: string, now: number): number {
    return Math.min(latencyAt(this.profile, 1), this.latencyMs(deviceId, 1, now));
  }

  earliestStart(now: number): number {
    const schedulers = this.#c.schedulers;
    let t = Number.POSITIVE_INFINITY;
    for (let i = 0; i < schedulers.length; i++) t = Math.min(t, schedulers[i]!.freeAt(now));
    return t;
  }

  /**
   * Items/s the instance serves within its SLO, at the time its batches really hold its devices (the learned
   * hold-time correction, as every estimate reads it): stream admission and routing compare it with the load,
   * which is priced the same way (`loadShare`). A plan's declared capacity is scaled the same way, at the
   * plan's batch size.
   */
  get capacityPerSec(): number {
    if (!this.#c.adaptLatency) return this.#sizing.capacityPerSec();
    const now = this.#c.clock.now();
    const schedulers = this.#c.schedulers;
    // A stream service weighs packs larger than the ones running now (`InstanceSizing`): `packOf` guards them.
    const packs = this.#c.service.slo.kind === 'frequency';
    const profile = this.profile;
    return this.#sizing.capacityPerSec((b) => {
      let speed = 0;
      for (let i = 0; i < schedulers.length; i++) {
        const id = schedulers[i]!.device.id;
        speed += 1 / (packs ? this.#corrections.packOf(profile, id, b, now) : this.#corrections.of(id, b, now));
      }
      return speed / schedulers.length;
    });
  }

  /** Queues an item (arriving at `now`, clock ms) and wakes the devices. */
  enqueue(item: WorkItem, now = this.#c.clock.now()): void {
    this.counters.submitted++;
    // A stream's frames are in the load already, as the rate its stream reserved (`streamRateHz`): counted again
    // here, an instance serving a stream at its rate reported twice that load, and admission refused streams whole.
    if (!item.frame) this.#arrivals.arrived(now);
    this.#loaded?.batching.observe(item.inputs);
    this.queue.push(item);
    const schedulers = this.#c.schedulers;
    for (let i = 0; i < schedulers.length; i++) schedulers[i]!.arrived(this, item, now);
  }

  /** Removes a queued item (abort); false when it already left the queue. */
  withdraw(item: WorkItem): boolean {
    const removed = this.queue.remove(item);
    if (removed) this.#afterBatch();
    return removed;
  }

  /**
   * Refuses at admission a request that cannot finish by its deadline even on an ideal device
   * ({@link admissionCheck}: the items queued ahead of it at the instance's best throughput, optimistic run
   * times): `DEADLINE_EXCEEDED` when it could not finish even if it started first, `OVERLOADED` when the
   * work queued ahead of it leaves no time. Returns the error to reject with, or `undefined` to queue it.
   */
  admit(deadline: number, priority: number, costScale: number, now: number): EparaError | undefined {
    return this.#admission.admit(deadline, priority, costScale, now);
  }

  estimate(now: number): number {
    return estimateCompletion(this, this.#c.schedulers, now);
  }

  drop(item: WorkItem, now: number): void {
    this.#admission.drop(item, now);
  }

  run(items: WorkItem[], device: DeviceHandle, startedAt: number, done: BatchDone): void {
    // The launch rule keeps batches of an unbatched instance at one; this holds whatever a scheduler sends.
    if (items.length > 1 && !this.#batchable) return this.#runEach(items, device, startedAt, done);
    this.#runner.run(items, device, startedAt, done);
  }

  /** Runs `items` one after another (an unbatched instance), then tells `done` (no compute time: several runs). */
  #runEach(items: WorkItem[], device: DeviceHandle, startedAt: number, done: BatchDone): void {
    let i = 0;
    const next: BatchDone = {
      batchEnded: () => {
        if (++i < items.length) this.#runner.run([items[i]!], device, startedAt, next);
        else done.batchEnded(undefined);
      },
    };
    this.#runner.run([items[0]!], device, startedAt, next);
  }

  /** Wakes the instance's devices (all but `planner`, which plans on its own) and an idle waiter. */
  #afterBatch(planner?: object): void {
    const schedulers = this.#c.schedulers;
    for (let i = 0; i < schedulers.length; i++) if (schedulers[i] !== planner) schedulers[i]!.pump();
    if (this.#idle && this.#runner.inFlight === 0 && this.queue.size === 0) this.#idle();
  }

  /** Stops taking new work and resolves when queued and running items are done. */
  async drain(): Promise<void> {
    this.status = 'draining';
    for (const s of this.#c.schedulers) s.pump();
    if (this.#runner.inFlight === 0 && this.queue.size === 0) return;
    // One promise for every waiter (an unload and a close racing it): a second waiter must not replace the first.
    this.#drained ??= new Promise<void>((resolve) => (this.#idle = resolve));
    await this.#drained;
  }

  /** Detaches from the devices and frees the model on each. */
  async unloadModels(options?: { waitMs?: number }): Promise<void> {
    for (const s of this.#c.schedulers) s.detach(this);
    await Promise.all(this.devices.map((d) => d.unloadModel(this.id, options).catch(() => undefined)));
  }

  /** Items/s currently directed here (recent requests plus streams). */
  loadPerSec(now: number): number {
    return this.#arrivals.perSec(now) + this.streamRateHz;
  }

  info(now: number): InstanceInfo {
    return instanceInfo(this, { ready: this.#loaded !== undefined, sensitivity: this.#c.service.sensitivity }, now);
  }
}

const NO_MEMORY: ReadonlyMap<string, number> = new Map(); // before the model is loaded
