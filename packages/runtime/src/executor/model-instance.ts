import {
  EparaError,
  fitProfile,
  latencyAt,
  toEparaError,
  type Clock,
  type InstanceInfo,
  type InstanceStatus,
  type LatencyProfile,
  type NamedTensors,
  type ParallelPlan,
  type TensorLike,
} from '@epara/core';
import { EdfQueue, batchSizeForDeadline } from '@epara/core/scheduling';
import { instanceSizes, type InstanceSizes } from './instance-sizes.js';
import type { DeviceHandle } from '../devices/device-port.js';
import type { Lane } from '../batching/lane.js';
import type { ItemDone, WorkItem } from '../batching/work-item.js';
import { splitTensors, stackTensors } from '../tensors/stack.js';
import { defaultBatchSizes, measureLatencies } from '../profiling/measure-latencies.js';
import type { Logger } from '@epara/core';
import type { DeviceScheduler } from './device-scheduler.js';
import type { ExecutorEvents } from './executor-events.js';
import type { ExecutorServiceOptions } from './executor-options.js';
import { resolveIoSpec, type IoSpec } from './io-spec.js';
import { estimateCompletion } from './estimate-completion.js';
import { cloneTensors, initialState, sampleFeeds } from './model-inputs.js';
import type { BatchVerdict } from './batch-check.js';
import { BatchingDecision } from './batching-decision.js';
import { shedError } from './shed-error.js';
import { admissionCheck } from '../batching/admission.js';
import { knownOutputs } from './known-outputs.js';
import type { KnownOutput } from '../devices/slab-outputs.js';

type Emit = <K extends keyof ExecutorEvents>(event: K, ...args: ExecutorEvents[K]) => void;

/** Counters of one instance. */
export interface InstanceCounters {
  submitted: number;
  completed: number;
  dropped: number;
  failed: number;
  batches: number;
  batchedItems: number;
}

/** What an instance needs from the executor. */
export interface ModelInstanceContext {
  readonly instanceId: string;
  readonly service: ExecutorServiceOptions;
  readonly plan: Partial<ParallelPlan>;
  readonly schedulers: readonly DeviceScheduler[];
  readonly clock: Clock;
  readonly logger: Logger;
  readonly guardMs: number;
  readonly launchWhenIdle: boolean;
  /** How long a partial batch may wait on an idle device. */
  readonly batchWait: 'expected-fill' | 'until-deadline';
  /** Scale the profile by the measured/predicted run time ratio (EWMA). */
  readonly adaptLatency: boolean;
  readonly profiling: { readonly warmup: number; readonly repetitions: number };
  readonly emit: Emit;
  /** Whether an event has listeners: per-request events are built only then (shedding is the hot path). */
  readonly listening: (event: keyof ExecutorEvents) => boolean;
}

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
  readonly onBatchDone = (): void => this.#afterBatch();
  status: InstanceStatus = 'loading';
  readonly #c: ModelInstanceContext;
  #streamRateHz = 0;
  /**
   * The batch sizes, computed once per input they depend on (profile, batchability, stream rate): the launch
   * rule and admission read them on every arrival, and recomputing them allocated on every request.
   */
  #admission: { readonly sizes: object; readonly corrections: number; startAt: number; readonly aloneMs: number; readonly perItemMs: number; readonly bigBatchMs: number } | undefined;
  #refusedExpired: string | undefined;
  #refusedBacklog: string | undefined;
  #droppedMessage: string | undefined;
  /** The item admission tests (reused: admission runs on every request). */
  readonly #admissionItem = { deadline: 0, priority: 0, costScale: 1 };
  /** Bumped whenever a device's run-time correction changes. */
  #corrections = 0;
  #sizes: { readonly batchable: boolean; readonly rateHz: number; readonly batchSize: number; readonly maxBatchSize: number } | undefined;
  readonly #correction = new Map<string, number>();
  readonly #memory = new Map<string, number>();
  #profile: LatencyProfile | undefined;
  #io: IoSpec | undefined;
  #runOptions: { outputNames?: readonly string[]; knownOutputs?: readonly KnownOutput[] } = {};
  /** Whether a run fetches outputs the caller does not see (a stateful service's state outputs). */
  #hidesOutputs = false;
  #batching: BatchingDecision | undefined;
  #state: NamedTensors = {};
  #inFlight = 0;
  #arrivalRate = 0;
  #lastArrival = 0;
  #idle: (() => void) | undefined;

  constructor(c: ModelInstanceContext) {
    this.#c = c;
    this.id = c.instanceId;
    this.serviceId = c.service.id;
  }

  /** The configured safety margin before deadlines (the device schedulers add the error they learn). */
  get guardMs(): number {
    return this.#c.guardMs;
  }

  /** Recent arrivals in items/ms when fill-aware waiting is on (the default). */
  get arrivalsPerMs(): number | undefined {
    return this.#c.batchWait === 'expected-fill' ? this.loadPerSec(this.#c.clock.now()) / 1000 : undefined;
  }

  /** A draining instance stops waiting for batches to fill. */
  get launchWhenIdle(): boolean {
    return this.#c.launchWhenIdle || this.status === 'draining';
  }

  get io(): IoSpec {
    if (!this.#io) throw new EparaError('NO_INSTANCE', `instance ${this.id} is not loaded`, { instanceId: this.id });
    return this.#io;
  }

  get devices(): DeviceHandle[] {
    return this.#c.schedulers.map((s) => s.device);
  }

  /** Measured memory per device after load, bytes. */
  get memoryByDevice(): ReadonlyMap<string, number> {
    return this.#memory;
  }

  /** The initial recurrent state of a new stream (stateful services). */
  get initialState(): NamedTensors {
    return cloneTensors(this.#state);
  }

  /** Loads the model on every device, then profiles it if no profile was given. */
  async load(signal?: AbortSignal): Promise<void> {
    const s = this.#c.service;
    const source = typeof s.model === 'string' ? { path: s.model } : { bytes: s.model as Uint8Array };
    const infos = await Promise.all(this.devices.map((d) => d.loadModel(this.id, source, signal ? { signal } : {})));
    infos.forEach((info, i) => this.#memory.set(this.devices[i]!.id, info.memoryBytes));
    const io = resolveIoSpec(infos[0]!, s);
    this.#io = io;
    // Computed once: the outputs every run fetches (the requested ones plus the recurrent state).
    const outputNames = io.outputNames ? [...new Set([...io.outputNames, ...Object.values(io.stateMap)])] : undefined;
    // Outputs of a size known before the run come back in the batch's slab, copied per request.
    const known = knownOutputs(infos[0]!.outputs, outputNames, io.outputAxes);
    this.#runOptions = { ...(outputNames ? { outputNames } : {}), ...(known ? { knownOutputs: known } : {}) };
    this.#hidesOutputs = outputNames !== undefined && outputNames.length > io.outputNames!.length;
    this.#state = s.stateful ? initialState(this.#io, s.stateful.initial) : {};
    this.#batching = new BatchingDecision({
      instanceId: this.id,
      service: s,
      planBatchSize: this.#c.plan.batchSize,
      device: this.devices[0]!,
      io,
      state: this.#state,
      outputNames: this.#runOptions.outputNames,
      logger: this.#c.logger,
      onBatchable: () => {
        for (const sch of this.#c.schedulers) sch.pump();
      },
    });
    await this.#batching.decide(signal);
    this.#profile = s.profile ?? (await this.#measure(signal));
    this.#sizes = undefined;
  }

  /**
   * Whether requests of this instance may share a run, and why (or why not): decided at load from the
   * service's `batchable` option, the model's dim names and a numeric check of a batch of two against two
   * single runs. An unbatched instance runs every request and stream frame alone.
   */
  get batching(): BatchVerdict {
    return this.#batching?.verdict ?? { ok: false, reason: 'not loaded' };
  }

  get #batchable(): boolean {
    return this.#batching?.ok === true;
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
    return this.#cachedSizes().batchSize;
  }

  /**
   * Largest batch a backlog may grow to: the largest `b ≤ maxBatch` whose run fits the SLO budget
   * (`L(b) ≤ D`), at least the plan's batch size. The launch rule still shrinks every batch to its earliest
   * deadline.
   */
  get maxBatchSize(): number {
    return this.#cachedSizes().maxBatchSize;
  }

  #cachedSizes(): InstanceSizes {
    const batchable = this.#batchable;
    const c = this.#sizes;
    if (c !== undefined && c.batchable === batchable && c.rateHz === this.#streamRateHz) return c;
    const sizes = instanceSizes({
      service: this.#c.service,
      planBatchSize: this.#c.plan.batchSize,
      profile: () => this.profile,
      batchable,
      streamRateHz: this.#streamRateHz,
      devices: this.#c.schedulers.length,
    });
    this.#sizes = { batchable, rateHz: this.#streamRateHz, ...sizes };
    return this.#sizes;
  }

  get profile(): LatencyProfile {
    if (!this.#profile) throw new EparaError('NO_INSTANCE', `instance ${this.id} has no profile yet`, { instanceId: this.id });
    return this.#profile;
  }

  latencyMs(deviceId: string, n: number): number {
    return latencyAt(this.profile, n) * (this.#correction.get(deviceId) ?? 1);
  }

  dropLatencyMs(deviceId: string): number {
    return Math.min(latencyAt(this.profile, 1), this.latencyMs(deviceId, 1));
  }

  earliestStart(now: number): number {
    const schedulers = this.#c.schedulers;
    let t = Number.POSITIVE_INFINITY;
    for (let i = 0; i < schedulers.length; i++) t = Math.min(t, schedulers[i]!.freeAt(now));
    return t;
  }

  /** Items/s the instance serves within its SLO. */
  get capacityPerSec(): number {
    // An unbatched instance cannot reach a plan's batched capacity: its own is one item per run.
    if (this.#c.plan.capacityPerSec !== undefined && this.#batchable) return this.#c.plan.capacityPerSec;
    const s = this.#c.service;
    const budget = (s.slo.kind === 'latency' ? s.slo.deadlineMs : s.slo.stalenessMs) - (s.networkBudgetMs ?? 0);
    const b = this.#batchable ? batchSizeForDeadline(this.profile, budget, { maxBatch: s.maxBatch ?? 32 }) : 1;
    return ((b * 1000) / latencyAt(this.profile, b)) * this.#c.schedulers.length;
  }

  /** Queues an item (arriving at `now`, clock ms) and wakes the devices. */
  enqueue(item: WorkItem, now = this.#c.clock.now()): void {
    this.counters.submitted++;
    const dt = Math.max(0, now - this.#lastArrival) / 1000;
    this.#arrivalRate = this.#arrivalRate * Math.exp(-dt) + 1;
    this.#lastArrival = now;
    this.#batching?.observe(item.inputs);
    this.queue.push(item);
    const schedulers = this.#c.schedulers;
    for (let i = 0; i < schedulers.length; i++) schedulers[i]!.arrived(this, item);
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
    const f = this.#admissionFigures();
    f.startAt = this.earliestStart(now);
    const item = this.#admissionItem;
    item.deadline = deadline;
    item.priority = priority;
    item.costScale = costScale;
    const v = admissionCheck(this.queue.items, item, f);
    if (v.ok) return undefined;
    this.counters.dropped++;
    const code = v.reason === 'expired' ? 'DEADLINE_EXCEEDED' : 'OVERLOADED';
    if (this.#c.listening('requestDropped')) this.#c.emit('requestDropped', { serviceId: this.serviceId, instanceId: this.id, code, deadline, at: now, atAdmission: true });
    // Messages made once per instance (the count ahead is in the details): shedding is the hot path.
    const message = v.reason === 'expired' ? (this.#refusedExpired ??= `${this.serviceId}: cannot finish before its deadline; refused at admission`) : (this.#refusedBacklog ??= `${this.serviceId}: the requests queued ahead leave no time before its deadline; refused at admission`);
    return shedError(code, message, { serviceId: this.serviceId, deadline, now, expectedFinish: v.finishAt, queuedAhead: v.ahead });
  }

  /** The run-time figures admission works from; recomputed only when the sizes or a device's correction change. */
  #admissionFigures(): { startAt: number; aloneMs: number; perItemMs: number; bigBatchMs: number } {
    const sizes = this.#cachedSizes();
    const c = this.#admission;
    if (c !== undefined && c.sizes === sizes && c.corrections === this.#corrections) return c;
    const big = Math.max(1, sizes.maxBatchSize);
    const bigBatchMs = this.#optimisticMs(big);
    const aloneMs = this.#optimisticMs(1);
    const perItemMs = Math.min(aloneMs, this.#optimisticMs(sizes.batchSize) / sizes.batchSize, bigBatchMs / big) / this.#c.schedulers.length;
    this.#admission = { sizes, corrections: this.#corrections, startAt: 0, aloneMs, perItemMs, bigBatchMs };
    return this.#admission;
  }

  /** The smaller of the profile's and the adapted run time of a batch of `n`, on the fastest device, ms. */
  #optimisticMs(n: number): number {
    const profiled = latencyAt(this.profile, n);
    let ms = profiled;
    for (const s of this.#c.schedulers) ms = Math.min(ms, profiled * (this.#correction.get(s.device.id) ?? 1));
    return ms;
  }

  estimate(now: number): number {
    return estimateCompletion(this, this.#c.schedulers, now);
  }

  drop(item: WorkItem, now: number): void {
    this.counters.dropped++;
    const code = item.frame ? 'STALE_FRAME' : 'DEADLINE_EXCEEDED';
    const streamId = item.slot?.streamId;
    if (this.#c.listening('requestDropped')) this.#c.emit('requestDropped', { serviceId: this.serviceId, instanceId: this.id, code, deadline: item.deadline, at: now, ...(streamId ? { streamId } : {}) });
    item.settle(shedError(code, (this.#droppedMessage ??= `${this.serviceId}: cannot finish before its deadline; dropped before running`), { serviceId: this.serviceId, deadline: item.deadline, now }));
  }

  async run(items: WorkItem[], device: DeviceHandle, startedAt: number): Promise<number | void> {
    if (items.length > 1 && !this.#batchable) {
      // The launch rule keeps batches of an unbatched instance at one; this holds whatever a scheduler sends.
      for (const it of items) await this.run([it], device, startedAt);
      return;
    }
    this.#inFlight += items.length;
    this.counters.batches++;
    this.counters.batchedItems += items.length;
    for (let i = 0; i < items.length; i++) if (items[i]!.slot) items[i]!.slot!.inFlight = true;
    const io = this.io;
    try {
      // A stream's state is cloned: the copy path transfers (detaches) a lone item's buffers.
      const perItem = items.map((it) => (it.slot ? { ...it.inputs, ...cloneTensors(it.slot.state) } : it.inputs));
      // Stacked once, in place, into the device's input slab where it has one.
      const { outputs, runMs, items: fromSlab } = device.runBatch
        ? await device.runBatch(this.id, perItem, io.inputAxes, this.#runOptions)
        : await device.runTimed(this.id, stackTensors(perItem, io.inputAxes), this.#runOptions);
      const finishedAt = this.#c.clock.now();
      // Compute time inside the worker: wall time would also count the wait behind a batch sent ahead.
      if (this.#c.adaptLatency) this.#observe(device.id, items.length, runMs);
      // A single item's outputs are its solo result as they are: no batch axis to look for.
      // Outputs that came back in the slab are already split (each request's a copy of its slice).
      const parts = fromSlab ?? (items.length === 1 ? [outputs] : splitTensors(outputs, items.length, io.outputAxes));
      // The slab's items hold exactly the fetched outputs: filter only when state outputs ride along, or when
      // the device's answer may hold more than was asked for.
      const filter = io.outputNames !== undefined && (this.#hidesOutputs || fromSlab === undefined) ? io.outputNames : undefined;
      const batch: ItemDone = { startedAt, finishedAt, batchSize: items.length, deviceId: device.id };
      for (let i = 0; i < items.length; i++) this.#complete(items[i]!, parts[i]!, batch, filter);
      this.#c.emit('batchCompleted', { instanceId: this.id, serviceId: this.serviceId, deviceId: device.id, size: items.length, durationMs: finishedAt - startedAt, runMs, ok: true });
      return runMs;
    } catch (err) {
      const e = toEparaError(err, 'MODEL_ERROR');
      this.counters.failed += items.length;
      for (let i = 0; i < items.length; i++) items[i]!.settle(e);
      const durationMs = this.#c.clock.now() - startedAt;
      this.#c.emit('batchCompleted', { instanceId: this.id, serviceId: this.serviceId, deviceId: device.id, size: items.length, durationMs, runMs: 0, ok: false, error: e.code });
    } finally {
      for (let i = 0; i < items.length; i++) if (items[i]!.slot) items[i]!.slot!.inFlight = false;
      this.#inFlight -= items.length;
    }
  }

  #complete(it: WorkItem, outputs: NamedTensors, batch: ItemDone, filter: readonly string[] | undefined): void {
    if (it.slot) {
      const next: Record<string, TensorLike> = {};
      for (const [input, output] of Object.entries(this.#io!.stateMap)) next[input] = outputs[output]!;
      it.slot.state = next;
    }
    let visible: NamedTensors = outputs;
    if (filter) {
      const filtered: Record<string, TensorLike> = {};
      for (const name of filter) if (outputs[name]) filtered[name] = outputs[name];
      visible = filtered;
    }
    this.counters.completed++;
    it.settle(undefined, visible, batch);
  }

  #observe(deviceId: string, n: number, durationMs: number): void {
    if (!(durationMs > 0)) return;
    const ratio = durationMs / latencyAt(this.profile, n);
    const old = this.#correction.get(deviceId) ?? 1;
    this.#correction.set(deviceId, Math.min(4, Math.max(0.5, 0.8 * old + 0.2 * ratio)));
    this.#corrections++;
  }

  #afterBatch(): void {
    for (const s of this.#c.schedulers) s.pump();
    if (this.#idle && this.#inFlight === 0 && this.queue.size === 0) this.#idle();
  }

  /** Stops taking new work and resolves when queued and running items are done. */
  async drain(): Promise<void> {
    this.status = 'draining';
    for (const s of this.#c.schedulers) s.pump();
    if (this.#inFlight === 0 && this.queue.size === 0) return;
    await new Promise<void>((resolve) => (this.#idle = resolve));
  }

  /** Detaches from the devices and frees the model on each. */
  async unloadModels(): Promise<void> {
    for (const s of this.#c.schedulers) s.detach(this);
    await Promise.all(this.devices.map((d) => d.unloadModel(this.id).catch(() => undefined)));
  }

  /** Items/s currently directed here (recent requests plus streams). */
  loadPerSec(now: number): number {
    const dt = Math.max(0, now - this.#lastArrival) / 1000;
    return this.#arrivalRate * Math.exp(-dt) + this.streamRateHz;
  }

  info(now: number): InstanceInfo {
    const ready = this.#profile !== undefined;
    const runMs = ready ? latencyAt(this.profile, this.batchSize) : 0;
    return {
      instanceId: this.id,
      serviceId: this.serviceId,
      status: this.status,
      requestStrategy: this.#c.service.sensitivity === 'frequency' ? 'multi-frame' : 'batching',
      serviceStrategy: this.#c.schedulers.length > 1 ? 'data-parallel' : 'single',
      batchSize: ready ? this.batchSize : 0,
      capacityPerSec: ready ? this.capacityPerSec : 0,
      loadPerSec: this.loadPerSec(now),
      waitMs: ready ? Math.max(0, this.estimate(now) - now - latencyAt(this.profile, 1)) : 0,
      runMs,
      deviceIds: this.devices.map((d) => d.id),
    };
  }

  async #measure(signal?: AbortSignal): Promise<LatencyProfile> {
    const s = this.#c.service;
    const device = this.devices[0]!;
    const maxBatch = this.#c.plan.batchSize ?? s.maxBatch ?? 32;
    const samples = await measureLatencies({
      device,
      modelKey: this.id,
      batchSizes: this.#batchable ? defaultBatchSizes(maxBatch) : [1],
      inputs: (b) => sampleFeeds(this.io, b, s.sampleInputs, this.#state),
      warmup: this.#c.profiling.warmup,
      repetitions: this.#c.profiling.repetitions,
      ...(signal ? { signal } : {}),
    });
    this.#c.logger.info({ instanceId: this.id, samples: samples.length }, 'profiled model at load');
    return fitProfile(this.#c.plan.deviceKind ?? `${device.provider}-${device.threads}t`, samples);
  }
}
