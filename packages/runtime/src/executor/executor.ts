import { EventEmitter } from 'eventemitter3';
import {
  EparaError,
  invalidOption,
  type AbortSignalLike,
  type InstanceInfo,
  type LocalEstimate,
  type LocalExecutor,
  type LocalStream,
  type LocalStreamOptions,
  type LocalSubmitOptions,
  type NamedTensors,
  type ParallelPlan,
  type EparaErrorCode,
  type TraceContext,
  type TensorDataArray,
} from '@epara/core';
import { checkSignal, signalError } from '@epara/core/internal';
import type { DeviceHandle } from '../devices/device-port.js';
import { DEFAULT_DEVICE_OPTIONS } from '../devices/device-options.js';
import type { ItemDone, WorkItem } from '../batching/work-item.js';
import type { ExecutorStream } from '../streams/executor-stream.js';
import { openServiceStream } from '../streams/open-service-stream.js';
import { EngineInstance } from './engine-instance.js';
import type { ExecutorEvents } from './executor-events.js';
import type { ExecutorServiceOptions, GenerateOptions, LoadOptions } from './executor-options.js';
import type { ResolvedExecutorOptions } from './resolve-executor-options.js';
import { validateService } from './resolve-executor-options.js';
import { ModelInstance } from './model-instance.js';
import { BatchedInstance } from './batched-instance.js';
import { isFoundSample } from '../tensors/item-shapes.js';
import type { ExecutorInstance, InstanceSubmitOptions, StreamTarget } from './executor-instance.js';
import type { BatchAxes } from '../tensors/stack.js';
import { buildStats, type ExecutorStats, type StreamCounters } from './executor-stats.js';
import { buildBuiltinEngine, builtinDeviceCount, usesBuiltinEngine } from './builtin-engines.js';
import { chooseDevices, createDeviceSlot, type DeviceSlot } from './device-slot.js';
import type { GenerationStream } from '../generation/generation-engine.js';
import { reportCompletion } from '../observability/request-completion.js';
import { loadRuntimeTracing } from '../observability/runtime-tracing.js';
import { withDeclaredProfile } from './declared-profile.js';
import { checkSampleInputs } from './model-inputs.js';
import { netOfSharedDevices } from '../streams/shared-device-capacity.js';
import { warnIfOversubscribed } from './thread-budget.js';
import { rejectSoon } from './reject-soon.js';
import { Lease, releaseOpenLeases, type InputLease } from '../batching/input-lease.js';
import { markStage, STAGE_SUBMIT } from '../observability/stage-marks.js';

/**
 * The executor: hosts services on worker-thread devices and implements core's `LocalExecutor` port.
 * Create it with {@link createExecutor}.
 */
export class Executor extends EventEmitter<ExecutorEvents> implements LocalExecutor {
  readonly #o: ResolvedExecutorOptions;
  readonly #devices = new Map<string, DeviceSlot>();
  readonly #services = new Map<string, ExecutorServiceOptions>();
  readonly #instances = new Map<string, ExecutorInstance>();
  /**
   * The same instances by service, in the order they were added: what `#pick` scans on every submit and lease,
   * by index (a `Map` iterator and its step results were allocations per call wherever that code ran unoptimized).
   */
  readonly #byService = new Map<string, ExecutorInstance[]>();
  readonly #streams = new Set<ExecutorStream>();
  readonly #streamCounters: StreamCounters = { opened: 0, pushed: 0, completed: 0, dropped: 0, stale: 0 };
  readonly #startedAt: number;
  /** What `submit` hands its instance (refilled per request, read at once: see {@link InstanceSubmitOptions}). */
  readonly #submitOptions: { -readonly [K in keyof InstanceSubmitOptions]: InstanceSubmitOptions[K] } = { deadline: 0, priority: 0, signal: undefined, trace: undefined, now: 0 };
  /**
   * Loads under way by instance id, each with what stops it: an id is taken from the load's start (a second load
   * of it is refused), and `unload(id)` of a loading instance stops its load.
   */
  readonly #loads = new Map<string, { readonly stop: AbortController; readonly settled: Promise<unknown> }>();
  /** Unloads under way by instance id: a second `unload` of one waits for the first. */
  readonly #unloads = new Map<string, Promise<void>>();
  #seq = 0;
  #nextInstance = 1;
  #nextStream = 1;
  #started: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  /** What {@link failedDevices} returns: a new frozen array only when a device fails. */
  #failedDevices: readonly string[] = Object.freeze([]);

  constructor(o: ResolvedExecutorOptions) {
    super();
    this.#o = o;
    this.#startedAt = o.clock.now();
    for (const d of o.devices) this.#addDevice(d);
    for (const s of o.services) this.#services.set(s.id, s);
    void loadRuntimeTracing();
  }

  #addDevice(d: ResolvedExecutorOptions['devices'][number]): void {
    const slot = createDeviceSlot(
      d,
      this.#o,
      (event, payload) => (this.emit as (e: string, p: unknown) => boolean)(event, payload),
      (event) => this.listenerCount(event) > 0,
    );
    this.#devices.set(d.id, slot);
    slot.handle.on('deviceFailed', (e) => this.#deviceFailed(e.deviceId));
  }

  /**
   * A device gave up restarting its worker: every instance on it is taken out of service — `instanceChanged`
   * with status `failed`, then unloaded as usual (its queued requests fail at once with the device's
   * `WORKER_CRASHED`) — so that nothing routes to it, readiness says so, and submits fail at once (`NO_INSTANCE`)
   * instead of waiting for their deadlines.
   */
  #deviceFailed(deviceId: string): void {
    if (!this.#failedDevices.includes(deviceId)) this.#failedDevices = Object.freeze([...this.#failedDevices, deviceId]);
    if (this.#closing) return;
    const now = this.#o.clock.now();
    for (const inst of [...this.#instances.values()]) {
      if (inst.status !== 'ready') continue; // a loading one fails its load; a draining one is on its way out
      const info = inst.info(now);
      if (!(info.deviceIds ?? []).includes(deviceId)) continue;
      // Out of service before anyone hears of it: a listener reading instances() (a mesh refreshing its view)
      // sees it `draining` — core's status for an instance that takes no more work — never `ready` again.
      inst.status = 'draining';
      this.emit('instanceChanged', { instance: { ...info, status: 'draining' }, status: 'failed' });
      this.unload(inst.id).catch((err: unknown) => this.#o.logger.error({ instanceId: inst.id, err }, 'could not unload an instance of a failed device'));
    }
  }

  /** Loads every service that names `devices`. Idempotent. */
  start(options: { signal?: AbortSignal } = {}): Promise<void> {
    const bad = signalError(options?.signal, 'options.signal');
    if (bad) return Promise.reject(bad);
    this.#started ??= (async () => {
      warnIfOversubscribed(this.#o);
      await loadRuntimeTracing();
      for (const s of this.#services.values()) {
        if (!s.devices || s.devices.length === 0) continue;
        await this.load({ ...s.plan, serviceId: s.id } as ParallelPlan, { deviceIds: s.devices, ...(options.signal ? { signal: options.signal } : {}) });
      }
    })();
    return this.#started;
  }

  /**
   * Adds a service definition at run time (then `load` it).
   * @throws EparaError `INVALID_OPTIONS` for a bad or duplicate definition; `CLOSED`.
   */
  register(service: ExecutorServiceOptions): void {
    this.#assertOpen();
    validateService(service, 'service', new Set(this.#devices.keys()));
    if (this.#services.has(service.id)) invalidOption('service.id', service.id, 'not already registered');
    this.#services.set(service.id, service);
  }

  /**
   * Memory for one request's input `inputName` of service `serviceId`, shaped `dims` (one item: size 1 on the
   * batch axis), to write the input into and pass as that input to {@link Executor.submit}. It lies in a slab
   * of the service's from which its batch is run: the input is written once, by the host, and a host that
   * produces inputs (decoding an image, parsing a request body) allocates nothing per request. The request
   * releases the lease when it settles, whatever the outcome; `lease.release()` gives back one that will not be
   * submitted. When every lease slab of the input is taken, or an item does not fit a device's input slab
   * (`inputSlabBytes`), the lease has a buffer of its own (`lease.inSlab` false) and the batch copies it as it
   * would any input.
   *
   * @example
   * ```ts
   * const lease = executor.allocateInput<Float32Array>('cls', 'x', [1, 3, 48, 192]);
   * decodeInto(lease.data); // write the item's values
   * const outputs = await executor.submit('cls', { x: lease });
   * ```
   * @typeParam D the typed array of the input's element type (not checked: `Float32Array` for `float32`…).
   * @throws EparaError `UNKNOWN_SERVICE`, `NO_INSTANCE`, `CLOSED`; `INVALID_INPUT` for an input the model does not
   * take, or dims it does not take for one item, or a service whose instance takes no leases (an engine).
   */
  allocateInput<D extends TensorDataArray = TensorDataArray>(serviceId: string, inputName: string, dims: readonly number[]): InputLease<D> {
    this.#assertOpen();
    this.#service(serviceId);
    const inst = this.#pick(serviceId);
    if (inst.allocateInput === undefined) throw new EparaError('INVALID_INPUT', `${serviceId}: its instance takes no input leases (leases are for batched model services)`, { serviceId, input: inputName });
    return inst.allocateInput(inputName, dims) as InputLease<D>;
  }

  submit(serviceId: string, inputs: NamedTensors, options: LocalSubmitOptions = NO_OPTIONS): Promise<NamedTensors> {
    markStage(STAGE_SUBMIT);
    try {
      this.#assertOpen();
      const service = this.#service(serviceId);
      // Validated in place: no intermediate objects on the per-request path.
      this.#checkSubmit(options);
      const now = this.#o.clock.now();
      const deadline = options.deadline ?? now + (service.slo.kind === 'latency' ? service.slo.deadlineMs : service.slo.stalenessMs);
      if (typeof deadline !== 'number' || !Number.isFinite(deadline)) invalidOption('deadline', deadline, 'a finite number (absolute clock ms)');
      const priority = options.priority ?? 0;
      if (typeof priority !== 'number' || !Number.isFinite(priority)) invalidOption('priority', priority, 'a finite number');
      if (options.signal?.aborted) throw new EparaError('ABORTED', 'the request was aborted before it was queued', { serviceId: service.id });
      const inst = this.#pick(serviceId);
      if (inst.allocateInput === undefined) refuseLeases(serviceId, inputs);
      // One options object for every request (the instance reads it at once, before anything can submit again).
      const o = this.#submitOptions;
      o.deadline = deadline;
      o.priority = priority;
      o.now = now;
      o.signal = options.signal;
      o.trace = options.trace;
      try {
        return inst.submit(inputs, o);
      } finally {
        o.signal = o.trace = undefined; // keeps no caller's signal or trace alive
      }
    } catch (err) {
      // A lease passed to a submit that failed before a request took it is released all the same.
      releaseOpenLeases(inputs);
      // Refusal at admission lands here: the cheap rejection, see rejectSoon.
      return rejectSoon(err);
    }
  }

  #checkSubmit(options: LocalSubmitOptions): void {
    if (typeof options !== 'object' || options === null) invalidOption('options', options, 'an object');
    checkSignal(options.signal);
  }

  /** The one place a queued request completes: its `requestCompleted` event and spans. */
  #completed(item: WorkItem, outcome: 'ok' | EparaErrorCode, done: ItemDone | undefined, trace: TraceContext | undefined): void {
    const listening = this.listenerCount('requestCompleted') > 0;
    if (!listening && trace === undefined) return;
    const now = this.#o.clock.now();
    reportCompletion({ serviceId: item.serviceId, enqueuedAt: item.enqueuedAt, finishedAt: done?.finishedAt ?? now, outcome, done, trace }, listening, (e) => this.emit('requestCompleted', e), now);
  }

  /**
   * Streams the tokens a generation service produces for one prompt (iteration-level batching with the
   * other sequences of the service).
   *
   * @throws EparaError `UNKNOWN_SERVICE`, `INVALID_OPTIONS` (not a generation service, bad options),
   * `NO_INSTANCE`, `CLOSED`; the stream fails with `DEADLINE_INFEASIBLE`, `OVERLOADED`, `ABORTED`, …
   */
  generate(serviceId: string, options: GenerateOptions): GenerationStream {
    this.#assertOpen();
    const service = this.#service(serviceId);
    if (!service.generation) invalidOption('serviceId', serviceId, 'a generation service');
    if (typeof options !== 'object' || options === null) invalidOption('options', options, 'an object');
    checkSignal(options.signal);
    const inst = this.#pick(serviceId);
    if (!inst.generation) throw new EparaError('NO_INSTANCE', `no generation instance of ${serviceId}`, { serviceId });
    const { maxNewTokens = service.generation.maxNewTokens, ...rest } = options;
    return inst.generation.generate({ ...rest, maxNewTokens });
  }

  estimate(serviceId: string): LocalEstimate | undefined {
    if (!this.#services.has(serviceId)) return undefined;
    const now = this.#o.clock.now();
    let best = Number.POSITIVE_INFINITY;
    let hosted = false;
    for (const inst of this.#instances.values()) {
      if (inst.serviceId !== serviceId) continue;
      hosted = true;
      if (inst.status === 'ready') best = Math.min(best, inst.estimate(now));
    }
    if (!hosted) return undefined;
    return { completionAt: best, ready: Number.isFinite(best) };
  }

  openStream(serviceId: string, options: LocalStreamOptions): LocalStream {
    this.#assertOpen();
    const service = this.#service(serviceId);
    if (typeof options !== 'object' || options === null) invalidOption('options', options, 'an object');
    checkSignal(options.signal);
    if (!(options.rateHz > 0) || !Number.isFinite(options.rateHz)) invalidOption('rateHz', options.rateHz, 'a positive finite number');
    const stalenessMs = options.stalenessMs ?? (service.slo.kind === 'frequency' ? service.slo.stalenessMs : service.slo.deadlineMs);
    if (!(stalenessMs > 0) || !Number.isFinite(stalenessMs)) invalidOption('stalenessMs', stalenessMs, 'a positive finite number');
    const ready = this.#readyStreamTargets(serviceId);
    if (ready.length === 0) throw new EparaError('NO_INSTANCE', `no ready instance of ${serviceId}`, { serviceId });
    const capacity = ready.reduce((n, i) => n + i.capacityPerSec, 0);
    const load = ready.reduce((n, i) => n + i.streamRateHz, 0);
    if (load + options.rateHz > capacity) {
      throw new EparaError('OVERLOADED', `${serviceId}: ${options.rateHz} Hz does not fit (${load.toFixed(1)} of ${capacity.toFixed(1)} items/s in use)`, {
        serviceId,
        capacityPerSec: capacity,
        loadPerSec: load,
      });
    }
    return this.#createStream(serviceId, service, options, stalenessMs, ready);
  }

  #createStream(serviceId: string, service: ExecutorServiceOptions, options: LocalStreamOptions, stalenessMs: number, ready: StreamTarget[]): ExecutorStream {
    const stream = openServiceStream({
      id: `${serviceId}#s${this.#nextStream++}`,
      stateful: service.stateful !== undefined,
      options,
      stalenessMs,
      instances: ready,
      clock: this.#o.clock,
      counters: this.#streamCounters,
      enqueueFrame: (frame, deadline, signal, slot) => {
        this.#assertOpen();
        const target = this.#pick(serviceId).streams;
        if (!target) throw new EparaError('INVALID_OPTIONS', `${serviceId} does not take streams`, { serviceId });
        return target.submitFrame(frame, deadline, signal, slot);
      },
      released: (s) => this.#streams.delete(s),
    });
    this.#streams.add(stream);
    return stream;
  }

  /**
   * Brings up an instance of a plan: reserves memory, loads the model on the chosen devices, profiles it if
   * needed, then marks it ready (make-before-break: existing instances keep serving meanwhile).
   *
   * `options.sampleInputs` loads it on another one-item sample, which becomes the service's sample once the load
   * succeeds.
   *
   * @example
   * ```ts
   * // A model that divides by an integer input fails on zeros: load it on ones.
   * await executor.load({ serviceId: 'ratio' }, { deviceIds: ['cpu0'], sampleInputs: { x, k: ones } });
   * ```
   * @throws EparaError `UNKNOWN_SERVICE`, `OUT_OF_MEMORY`, `LOAD_FAILED`, `MODEL_ERROR` (the model failed on its
   * sample), `INFEASIBLE` (not enough devices), `INVALID_OPTIONS`, `CLOSED`.
   */
  async load(plan: ParallelPlan | (Partial<ParallelPlan> & { serviceId: string }), options: LoadOptions = {}): Promise<InstanceInfo> {
    this.#assertOpen();
    if (typeof plan !== 'object' || plan === null) invalidOption('plan', plan, 'a ParallelPlan');
    checkSignal(options?.signal, 'options.signal');
    const registered = this.#service(plan.serviceId);
    const service = options.sampleInputs === undefined ? registered : { ...registered, sampleInputs: checkSampleInputs(options.sampleInputs) };
    const merged = { ...service.plan, ...plan };
    if (merged.serviceStrategy === 'model-parallel' && !usesBuiltinEngine(service) && !service.engine) {
      throw new EparaError('INFEASIBLE', `${service.id}: a model-parallel plan needs the service's model as { stages } (see splitModel)`, {
        serviceId: service.id,
      });
    }
    if (usesBuiltinEngine(service) && merged.devices === undefined) merged.devices = builtinDeviceCount(service);
    const slots = chooseDevices(this.#devices, merged, options.deviceIds);
    const instanceId = options.instanceId ?? `${service.id}@${this.#nextInstance++}`;
    if (this.#instances.has(instanceId) || this.#loads.has(instanceId) || this.#unloads.has(instanceId)) invalidOption('instanceId', instanceId, 'unused');
    for (const s of slots) {
      const failure = s.handle.failure;
      if (failure !== undefined) throw failure; // the device gave up its worker (WORKER_CRASHED)
    }
    const declared = service.memoryBytes ?? merged.memoryPerDeviceBytes ?? 0;
    const held: DeviceSlot[] = [];
    // What stops the load: the caller's signal, or an unload of its id.
    const stop = new AbortController();
    const caller = options.signal ?? undefined; // an AbortSignal or one like it (checked above)
    const forward = (): void => stop.abort(caller?.reason);
    if (caller?.aborted) forward();
    else caller?.addEventListener('abort', forward);
    const signal = stop.signal;
    let settle!: () => void;
    this.#loads.set(instanceId, { stop, settled: new Promise<void>((resolve) => (settle = resolve)) });
    try {
      for (const s of slots) {
        s.ledger.hold(instanceId, declared);
        held.push(s);
      }
      const o = { ...options, signal };
      const inst = service.engine || usesBuiltinEngine(service) ? await this.#loadEngine(service, instanceId, slots, merged, o) : await this.#loadModel(service, instanceId, slots, merged, declared, o);
      if (stop.signal.aborted) {
        await inst.release().catch(() => undefined);
        this.#removeInstance(instanceId, inst);
        throw unloadedWhileLoading(instanceId);
      }
      // The sample it loaded on (given, or found by the load's search) becomes the service's, unless the service
      // was redefined meanwhile: a later load, such as a placement move, runs on it without searching again.
      const found = inst instanceof BatchedInstance ? inst.model.foundSample : undefined;
      const kept = found === undefined ? service : { ...service, sampleInputs: found };
      if (kept !== registered && this.#services.get(service.id) === registered) this.#services.set(service.id, kept);
      this.emit('instanceChanged', { instance: inst.info(this.#o.clock.now()), status: 'ready' });
      return inst.info(this.#o.clock.now());
    } catch (err) {
      for (const s of held) s.ledger.release(instanceId);
      this.#removeInstance(instanceId); // the id was this load's (see #loads): no other instance holds it
      throw stop.signal.aborted && !caller?.aborted ? unloadedWhileLoading(instanceId) : err;
    } finally {
      caller?.removeEventListener('abort', forward);
      this.#loads.delete(instanceId);
      settle();
    }
  }

  async #loadModel(
    service: ExecutorServiceOptions,
    instanceId: string,
    slots: DeviceSlot[],
    plan: Partial<ParallelPlan>,
    declared: number,
    options: LoadOptions,
  ): Promise<BatchedInstance> {
    const model = new ModelInstance({
      instanceId,
      service: withDeclaredProfile(service, plan.deviceKind ?? slots[0]!.deviceKind),
      plan,
      schedulers: slots.map((s) => s.scheduler),
      clock: this.#o.clock,
      logger: this.#o.logger,
      guardMs: this.#o.guardMs,
      launchWhenIdle: this.#o.launchWhenIdle,
      skipShrinkingHead: this.#o.skipShrinkingHead,
      adaptLatency: this.#o.adaptLatency,
      streamPackPricing: this.#o.streamPackPricing,
      streamPackForming: this.#o.streamPackForming,
      batchWait: this.#o.batchWait,
      profiling: this.#o.profiling,
      maxResponseBytes: this.#o.maxResponseBytes,
      emit: (event, ...args) => (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args),
      listening: (event) => this.listenerCount(event) > 0,
    });
    const inst = new BatchedInstance(model, {
      // A sample a load found sized its free dims itself (the smallest that runs): a request is not priced against
      // it, as against one the service gives (a real image thousands of times a 1×1 one was refused infeasible).
      service: isFoundSample(service.sampleInputs) ? withoutSample(service) : service,
      clock: this.#o.clock,
      maxQueue: this.#o.maxQueue,
      nextSeq: () => this.#seq++,
      completed: (item, outcome, done, trace) => this.#completed(item, outcome, done, trace),
    });
    this.#addInstance(instanceId, inst);
    try {
      await model.load(options.signal as AbortSignal | undefined);
      for (const s of slots) s.ledger.hold(instanceId, Math.max(declared, model.memoryByDevice.get(s.handle.id) ?? 0));
    } catch (err) {
      await inst.release();
      throw err;
    }
    if (this.#closing) {
      await inst.release();
      throw new EparaError('CLOSED', 'the executor closed while the instance loaded');
    }
    model.activate();
    return inst;
  }

  async #loadEngine(service: ExecutorServiceOptions, instanceId: string, slots: DeviceSlot[], plan: Partial<ParallelPlan>, options: LoadOptions): Promise<EngineInstance> {
    const devices = slots.map((s) => s.handle);
    const workQueues = slots.map((s) => s.scheduler);
    const signal = options.signal as AbortSignal | undefined;
    const ctx = { serviceId: service.id, devices, workQueues, clock: this.#o.clock, logger: this.#o.logger, ...(signal ? { signal } : {}) };
    const built = service.engine
      ? { engine: await service.engine(ctx), generation: undefined }
      : await buildBuiltinEngine({ service, devices, workQueues, plan, clock: this.#o.clock, logger: this.#o.logger, maxResponseBytes: this.#o.maxResponseBytes, ...(signal ? { signal } : {}) });
    if (this.#closing) {
      await built.engine.close();
      throw new EparaError('CLOSED', 'the executor closed while the instance loaded');
    }
    const inst = new EngineInstance({ id: instanceId, serviceId: service.id, engine: built.engine, devices, plan, ...(built.generation ? { generation: built.generation } : {}) });
    this.#addInstance(instanceId, inst);
    return inst;
  }

  /**
   * Drains an instance (no new work; queued and running items finish) and frees it. Ends within about its devices'
   * `closeWaitMs` even if a run never ends (see docs/runtime.md); stops a load of the id under way; once
   * the executor closes, resolves when the close has ended.
   * @throws EparaError `NO_INSTANCE` for an unknown id.
   */
  async unload(instanceId: string, _options: { signal?: AbortSignalLike } = {}): Promise<void> {
    // Racing close(): every instance goes with it; this unload ends when the close does.
    if (this.#closing) return void (await this.#closing);
    const unloading = this.#unloads.get(instanceId);
    if (unloading) return unloading;
    const loading = this.#loads.get(instanceId);
    if (loading) {
      // Stopped where it is: the load rejects ABORTED and leaves nothing behind; the id is free once it has.
      loading.stop.abort();
      await loading.settled;
      return;
    }
    const inst = this.#instances.get(instanceId);
    if (!inst) throw new EparaError('NO_INSTANCE', `no instance ${instanceId}`, { instanceId });
    const done = this.#unload(instanceId, inst).finally(() => this.#unloads.delete(instanceId));
    this.#unloads.set(instanceId, done);
    return done;
  }

  async #unload(instanceId: string, inst: ExecutorInstance): Promise<void> {
    inst.status = 'draining';
    this.emit('instanceChanged', { instance: inst.info(this.#o.clock.now()), status: 'draining' });
    // Queued items launch at once and finish. A run that never ends would hold the drain for ever: after the
    // devices' closeWaitMs the instance's models are unloaded at once, and a device that does not answer is
    // terminated and restarted (its calls in flight fail WORKER_CRASHED), which ends the drain.
    const waitMs = this.#closeWaitMs(inst);
    const drained = inst.drain();
    if (await settlesWithin(drained, waitMs)) await inst.release({ waitMs });
    else {
      await inst.release({ waitMs: 0 });
      await drained;
    }
    for (const d of this.#devices.values()) d.ledger.release(instanceId);
    this.#removeInstance(instanceId, inst);
    this.emit('instanceChanged', { instance: inst.info(this.#o.clock.now()), status: 'unloaded' });
  }

  /** The longest `closeWaitMs` of an instance's devices. */
  #closeWaitMs(inst: ExecutorInstance): number {
    const ids = new Set(inst.info(this.#o.clock.now()).deviceIds ?? []);
    let ms = 0;
    for (const d of this.#o.devices) if (ids.has(d.id)) ms = Math.max(ms, d.closeWaitMs ?? DEFAULT_DEVICE_OPTIONS.closeWaitMs);
    return ms;
  }

  instances(): readonly InstanceInfo[] {
    const now = this.#o.clock.now();
    return netOfSharedDevices([...this.#instances.values()].map((i) => i.info(now)));
  }

  /**
   * The devices that gave up restarting their worker (`deviceFailed`; `stats().devices[id].failed`), in the
   * order they failed: core's `LocalExecutor.failedDevices`, which a mesh node reads each time it publishes its
   * view entry. The same frozen array until another device fails. A failed device stays failed.
   */
  failedDevices(): readonly string[] {
    return this.#failedDevices;
  }

  /**
   * What the numeric batch check says about stacking a service's requests along their batch axes:
   * `separable` when a batch of two answered like two single runs (or the service sets `batchable: true`),
   * `not-separable` when it answered differently or failed, or the dim names leave the model no batch (no free
   * batch dim, an output with no place for one: a model exported without a batch, `x [sequence, 80]`),
   * `undefined` when no ready instance here knows (none loaded, or none checked: `batchable: false`,
   * `maxBatch: 1`, a check waiting for a first request). A front end that splits a request of several items into one request per item
   * asks this: splitting gives a wrong answer exactly where stacking does.
   */
  itemSeparability(serviceId: string): 'separable' | 'not-separable' | undefined {
    let separable = false;
    for (const i of this.#instances.values()) {
      if (i.serviceId !== serviceId || i.status !== 'ready' || i.batching === undefined) continue;
      if (!i.batching.ok && i.batching.refuted) return 'not-separable';
      if (i.batching.ok) separable = true;
    }
    return separable ? 'separable' : undefined;
  }

  /**
   * The batch axis of each input and output of a service (`null`: an input shared by the batch), as a ready
   * instance here reads the model: where {@link itemSeparability} says requests stack, a front end splits a
   * request of several items along these axes (a state `[2, batch, 128]` on axis 1, a scalar shared).
   * `undefined` when no instance of the service is ready here.
   */
  batchAxes(serviceId: string): { readonly inputs: BatchAxes; readonly outputs: BatchAxes } | undefined {
    for (const i of this.#instances.values()) {
      if (i.serviceId !== serviceId || i.status !== 'ready') continue;
      const axes = i.batchAxes;
      if (axes) return axes;
    }
    return undefined;
  }

  /** A snapshot of counters per service, device and stream. */
  stats(): ExecutorStats {
    return buildStats({ now: this.#o.clock.now(), startedAt: this.#startedAt, devices: this.#devices, instances: [...this.#instances.values()], streams: this.#streamCounters, openStreams: this.#streams.size });
  }

  /** Devices by id (for engines and tools). */
  device(id: string): DeviceHandle | undefined {
    return this.#devices.get(id)?.handle;
  }

  /**
   * Stops accepting work, rejects queued items with `CLOSED`, lets running batches finish, closes streams,
   * engines and devices. Idempotent; every pending promise settles.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const s of this.#streams) s.abort();
      const closed = new EparaError('CLOSED', 'the executor is closing');
      // Queued items fail at once; running batches end as their devices close: each device lets its run in progress
      // finish (at most its closeWaitMs) and fails the rest. Waiting for the instances first hung for as long as a
      // run that does not end.
      const drained = Promise.all([...this.#instances.values()].map((inst) => inst.close(closed)));
      for (const d of this.#devices.values()) d.scheduler.close();
      await Promise.all([...this.#devices.values()].map((d) => d.handle.close()));
      await drained;
      this.#instances.clear();
      this.#byService.clear();
    })();
    return this.#closing;
  }

  #assertOpen(): void {
    if (this.#closing) throw new EparaError('CLOSED', 'the executor is closed');
  }

  #service(serviceId: string): ExecutorServiceOptions {
    const s = this.#services.get(serviceId);
    if (!s) throw new EparaError('UNKNOWN_SERVICE', `unknown service ${String(serviceId)}`, { serviceId });
    return s;
  }

  #readyStreamTargets(serviceId: string): StreamTarget[] {
    const out: StreamTarget[] = [];
    for (const i of this.#instances.values()) if (i.streams && i.serviceId === serviceId && i.status === 'ready') out.push(i.streams);
    return out;
  }

  #pick(serviceId: string): ExecutorInstance {
    let now = 0; // read once a second ready instance shows up (a clock read per submit otherwise)
    let first: ExecutorInstance | undefined;
    let best: ExecutorInstance | undefined;
    let bestAt = Number.POSITIVE_INFINITY;
    // One pass; the estimates (and their cost) only once a second ready instance shows up.
    const list = this.#byService.get(serviceId) ?? NO_INSTANCES;
    for (let k = 0; k < list.length; k++) {
      const i = list[k]!;
      if (i.status !== 'ready') continue;
      if (first === undefined) {
        first = i;
        continue;
      }
      if (best === undefined) {
        now = this.#o.clock.now();
        best = first;
        bestAt = first.estimate(now);
      }
      const at = i.estimate(now);
      if (at < bestAt) {
        best = i;
        bestAt = at;
      }
    }
    best ??= first;
    if (!best) throw new EparaError('NO_INSTANCE', `no ready instance of ${serviceId} on this executor`, { serviceId });
    return best;
  }

  #addInstance(instanceId: string, inst: ExecutorInstance): void {
    this.#instances.set(instanceId, inst);
    const list = this.#byService.get(inst.serviceId);
    if (list === undefined) this.#byService.set(inst.serviceId, [inst]);
    else list.push(inst);
  }

  /** Forgets an instance (`only`: if it is still that one — an id may be taken again once freed). */
  #removeInstance(instanceId: string, only?: ExecutorInstance): void {
    const inst = this.#instances.get(instanceId);
    if (inst === undefined || (only !== undefined && inst !== only)) return;
    this.#instances.delete(instanceId);
    const list = this.#byService.get(inst.serviceId) ?? NO_INSTANCES;
    const at = list.indexOf(inst);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.#byService.delete(inst.serviceId);
  }
}

const NO_INSTANCES: ExecutorInstance[] = [];
function unloadedWhileLoading(instanceId: string): EparaError {
  return new EparaError('ABORTED', `instance ${instanceId} was unloaded while it loaded`, { instanceId, reason: 'unloaded' });
}

/** Whether `p` settles within `ms` (real time: a device's `closeWaitMs` is real time too). */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** `submit`'s options when none are given (no object per call). */
const NO_OPTIONS: LocalSubmitOptions = Object.freeze({});

/** An instance that lends no input memory (an engine) takes no leases: they would never be released. */
function refuseLeases(serviceId: string, inputs: NamedTensors): void {
  if (typeof inputs !== 'object' || inputs === null) return;
  for (const name in inputs) {
    if (inputs[name] instanceof Lease) throw new EparaError('INVALID_INPUT', `${serviceId}: its instance takes no input leases (input '${name}')`, { serviceId, input: name, reason: 'lease-mismatch' });
  }
}

/** The service without its `sampleInputs`. */
function withoutSample(service: ExecutorServiceOptions): ExecutorServiceOptions {
  const { sampleInputs: _, ...rest } = service;
  return rest;
}
