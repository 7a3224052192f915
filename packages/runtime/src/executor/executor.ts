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
} from '@epara/core';
import { checkSignal, signalError } from '@epara/core/internal';
import type { DeviceHandle } from '../devices/device-port.js';
import type { ItemDone, StreamSlot, WorkItem } from '../batching/work-item.js';
import { DEFAULT_MAX_REQUEST_BYTES, inputCostScale } from '../batching/input-cost.js';
import type { ExecutorStream } from '../streams/executor-stream.js';
import { openServiceStream } from '../streams/open-service-stream.js';
import { EngineInstance } from './engine-instance.js';
import type { ExecutorEvents } from './executor-events.js';
import type { ExecutorServiceOptions, GenerateOptions, LoadOptions } from './executor-options.js';
import type { ResolvedExecutorOptions } from './resolve-executor-options.js';
import { validateService } from './resolve-executor-options.js';
import { ModelInstance } from './model-instance.js';
import { validateItem } from './io-spec.js';
import { shedError } from './shed-error.js';
import { buildStats, type ExecutorStats, type StreamCounters } from './executor-stats.js';
import { buildBuiltinEngine, builtinDeviceCount, usesBuiltinEngine } from './builtin-engines.js';
import { chooseDevices, createDeviceSlot, type DeviceSlot } from './device-slot.js';
import type { GenerationStream } from '../generation/generation-engine.js';
import { reportCompletion } from '../observability/request-completion.js';
import { loadRuntimeTracing } from '../observability/runtime-tracing.js';




type Instance = ModelInstance | EngineInstance;

/**
 * The executor: hosts services on worker-thread devices and implements core's `LocalExecutor` port.
 * Create it with {@link createExecutor}.
 */
export class Executor extends EventEmitter<ExecutorEvents> implements LocalExecutor {
  readonly #o: ResolvedExecutorOptions;
  readonly #devices = new Map<string, DeviceSlot>();
  readonly #services = new Map<string, ExecutorServiceOptions>();
  readonly #instances = new Map<string, Instance>();
  readonly #streams = new Set<ExecutorStream>();
  readonly #streamCounters: StreamCounters = { opened: 0, pushed: 0, completed: 0, dropped: 0, stale: 0 };
  readonly #startedAt: number;
  #seq = 0;
  #nextInstance = 1;
  #nextStream = 1;
  #started: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(o: ResolvedExecutorOptions) {
    super();
    this.#o = o;
    this.#startedAt = o.clock.now();
    for (const d of o.devices) this.#addDevice(d);
    for (const s of o.services) this.#services.set(s.id, s);
    void loadRuntimeTracing();
  }

  #addDevice(d: ResolvedExecutorOptions['devices'][number]): void {
    this.#devices.set(d.id, createDeviceSlot(d, this.#o, (event, payload) => (this.emit as (e: string, p: unknown) => boolean)(event, payload)));
  }


  /** Loads every service that names `devices`. Idempotent. */
  start(options: { signal?: AbortSignal } = {}): Promise<void> {
    const bad = signalError(options?.signal, 'options.signal');
    if (bad) return Promise.reject(bad);
    this.#started ??= (async () => {
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

  submit(serviceId: string, inputs: NamedTensors, options: LocalSubmitOptions = {}): Promise<NamedTensors> {
    try {
      this.#assertOpen();
      const service = this.#service(serviceId);
      const { deadline, priority } = this.#resolveSubmit(service, options);
      const inst = this.#pick(serviceId);
      const signal = options.signal;
      if (inst instanceof EngineInstance) return inst.engine.submit(inputs, { deadline, priority, ...(signal ? { signal } : {}) });
      return this.#enqueue(inst, inputs, { deadline, priority, signal, frame: false, withState: true, trace: options.trace });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #resolveSubmit(service: ExecutorServiceOptions, options: LocalSubmitOptions): { deadline: number; priority: number } {
    if (typeof options !== 'object' || options === null) invalidOption('options', options, 'an object');
    checkSignal(options.signal);
    const budget = service.slo.kind === 'latency' ? service.slo.deadlineMs : service.slo.stalenessMs;
    const deadline = options.deadline ?? this.#o.clock.now() + budget;
    if (typeof deadline !== 'number' || !Number.isFinite(deadline)) invalidOption('deadline', deadline, 'a finite number (absolute clock ms)');
    const priority = options.priority ?? 0;
    if (typeof priority !== 'number' || !Number.isFinite(priority)) invalidOption('priority', priority, 'a finite number');
    if (options.signal?.aborted) throw new EparaError('ABORTED', 'the request was aborted before it was queued', { serviceId: service.id });
    return { deadline, priority };
  }

  #enqueue(
    inst: ModelInstance,
    inputs: NamedTensors,
    o: { deadline: number; priority: number; signal: AbortSignalLike | undefined; frame: boolean; withState: boolean; slot?: StreamSlot; trace?: TraceContext | undefined },
  ): Promise<NamedTensors> {
    const key = validateItem(inst.io, inputs, { serviceId: inst.serviceId, withState: o.withState });
    const costScale = this.#costScale(inst, inputs, o.deadline);
    if (inst.queue.size >= this.#o.maxQueue) {
      throw shedError('OVERLOADED', `${inst.serviceId}: queue is full (${this.#o.maxQueue})`, { serviceId: inst.serviceId });
    }
    // Shed at once what cannot make its deadline behind the work already queued: no queueing, pumping or
    // later drop for it (under overload most requests end here, so this path stays cheap).
    if (!o.frame) {
      const refused = inst.admit(o.deadline, o.priority, costScale, this.#o.clock.now());
      if (refused) throw refused;
    }
    // Resolves with the outputs directly: no extra promise or microtask per request.
    return new Promise<NamedTensors>((resolve, reject) => {
      let settled = false;
      const signal = o.signal;
      // Only a request with a signal pays for the abort listener.
      const onAbort = signal
        ? (): void => {
            if (settled) return;
            settled = true;
            inst.withdraw(item);
            this.#completed(item, 'ABORTED', undefined, o.trace);
            reject(new EparaError('ABORTED', 'the request was aborted', { serviceId: inst.serviceId }));
          }
        : undefined;
      const item: WorkItem = {
        seq: this.#seq++,
        serviceId: inst.serviceId,
        inputs,
        key,
        costScale,
        deadline: o.deadline,
        priority: o.priority,
        enqueuedAt: this.#o.clock.now(),
        frame: o.frame,
        ...(o.slot ? { slot: o.slot } : {}),
        settle: (r) => {
          if (onAbort) signal!.removeEventListener('abort', onAbort);
          if (settled) return;
          settled = true;
          this.#completed(item, r.ok ? 'ok' : r.error.code, r.ok ? r.done : undefined, o.trace);
          if (r.ok) resolve(r.done.outputs);
          else reject(r.error);
        },
      };
      if (onAbort) signal!.addEventListener('abort', onAbort, { once: true });
      inst.enqueue(item);
    });
  }

  /** The one place a queued request completes: its `requestCompleted` event and spans. */
  #completed(item: WorkItem, outcome: 'ok' | EparaErrorCode, done: ItemDone | undefined, trace: TraceContext | undefined): void {
    const listening = this.listenerCount('requestCompleted') > 0;
    if (!listening && trace === undefined) return;
    const now = this.#o.clock.now();
    reportCompletion({ serviceId: item.serviceId, enqueuedAt: item.enqueuedAt, finishedAt: done?.finishedAt ?? now, outcome, done, trace }, listening, (e) => this.emit('requestCompleted', e), now);
  }

  /**
   * The item's cost relative to the profiled input; refuses an input above the service's byte cap, and one
   * so much larger than the profiled input that even alone it would finish after its deadline.
   */
  #costScale(inst: ModelInstance, inputs: NamedTensors, deadline: number): number {
    const service = this.#services.get(inst.serviceId);
    const scale = inputCostScale({
      serviceId: inst.serviceId,
      io: inst.io,
      inputs,
      sampleInputs: service?.sampleInputs,
      maxRequestBytes: service?.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
    });
    if (scale > 1) {
      const now = this.#o.clock.now();
      const aloneMs = inst.dropLatencyMs(inst.devices[0]!.id) * scale;
      if (now + aloneMs > deadline) {
        throw new EparaError('DEADLINE_INFEASIBLE', `${inst.serviceId}: an input ${scale.toFixed(1)}× the profiled size needs about ${Math.round(aloneMs)} ms alone, past its deadline`, {
          serviceId: inst.serviceId,
          costScale: scale,
          expectedMs: aloneMs,
          deadline,
        });
      }
    }
    return scale;
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
    if (!(inst instanceof EngineInstance) || !inst.generation) throw new EparaError('NO_INSTANCE', `no generation instance of ${serviceId}`, { serviceId });
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
    const ready = this.#readyModelInstances(serviceId);
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

  #createStream(serviceId: string, service: ExecutorServiceOptions, options: LocalStreamOptions, stalenessMs: number, ready: ModelInstance[]): ExecutorStream {
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
        const inst = this.#pick(serviceId);
        if (!(inst instanceof ModelInstance)) throw new EparaError('INVALID_OPTIONS', `${serviceId} does not take streams`, { serviceId });
        const o = { deadline, priority: 0, signal, frame: true, withState: false, ...(slot ? { slot } : {}) };
        return this.#enqueue(inst, frame, o);
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
   * @throws EparaError `UNKNOWN_SERVICE`, `OUT_OF_MEMORY`, `LOAD_FAILED`, `INFEASIBLE` (not enough devices),
   * `INVALID_OPTIONS`, `CLOSED`.
   */
  async load(plan: ParallelPlan | (Partial<ParallelPlan> & { serviceId: string }), options: LoadOptions = {}): Promise<InstanceInfo> {
    this.#assertOpen();
    if (typeof plan !== 'object' || plan === null) invalidOption('plan', plan, 'a ParallelPlan');
    checkSignal(options?.signal, 'options.signal');
    const service = this.#service(plan.serviceId);
    const merged = { ...service.plan, ...plan };
    if (merged.serviceStrategy === 'model-parallel' && !usesBuiltinEngine(service) && !service.engine) {
      throw new EparaError('INFEASIBLE', `${service.id}: a model-parallel plan needs the service's model as { stages } (see splitModel)`, {
        serviceId: service.id,
      });
    }
    if (usesBuiltinEngine(service) && merged.devices === undefined) merged.devices = builtinDeviceCount(service);
    const slots = chooseDevices(this.#devices, merged, options.deviceIds);
    const instanceId = options.instanceId ?? `${service.id}@${this.#nextInstance++}`;
    if (this.#instances.has(instanceId)) invalidOption('instanceId', instanceId, 'unused');
    const declared = service.memoryBytes ?? merged.memoryPerDeviceBytes ?? 0;
    const held: DeviceSlot[] = [];
    try {
      for (const s of slots) {
        s.ledger.hold(instanceId, declared);
        held.push(s);
      }
      const inst = service.engine || usesBuiltinEngine(service) ? await this.#loadEngine(service, instanceId, slots, merged, options) : await this.#loadModel(service, instanceId, slots, merged, declared, options);
      this.emit('instanceChanged', { instance: inst.info(this.#o.clock.now()), status: 'ready' });
      return inst.info(this.#o.clock.now());
    } catch (err) {
      for (const s of held) s.ledger.release(instanceId);
      this.#instances.delete(instanceId);
      throw err;
    }
  }

  async #loadModel(
    service: ExecutorServiceOptions,
    instanceId: string,
    slots: DeviceSlot[],
    plan: Partial<ParallelPlan>,
    declared: number,
    options: LoadOptions,
  ): Promise<ModelInstance> {
    const inst = new ModelInstance({
      instanceId,
      service,
      plan,
      schedulers: slots.map((s) => s.scheduler),
      clock: this.#o.clock,
      logger: this.#o.logger,
      guardMs: this.#o.guardMs,
      launchWhenIdle: this.#o.launchWhenIdle,
      adaptLatency: this.#o.adaptLatency,
      batchWait: this.#o.batchWait,
      profiling: this.#o.profiling,
      emit: (event, ...args) => (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args),
    });
    this.#instances.set(instanceId, inst);
    try {
      await inst.load(options.signal as AbortSignal | undefined);
      for (const s of slots) s.ledger.hold(instanceId, Math.max(declared, inst.memoryByDevice.get(s.handle.id) ?? 0));
    } catch (err) {
      await inst.unloadModels();
      throw err;
    }
    if (this.#closing) {
      await inst.unloadModels();
      throw new EparaError('CLOSED', 'the executor closed while the instance loaded');
    }
    inst.activate();
    return inst;
  }

  async #loadEngine(service: ExecutorServiceOptions, instanceId: string, slots: DeviceSlot[], plan: Partial<ParallelPlan>, options: LoadOptions): Promise<EngineInstance> {
    const devices = slots.map((s) => s.handle);
    const workQueues = slots.map((s) => s.scheduler);
    const signal = options.signal as AbortSignal | undefined;
    const ctx = { serviceId: service.id, devices, workQueues, clock: this.#o.clock, logger: this.#o.logger, ...(signal ? { signal } : {}) };
    const built = service.engine
      ? { engine: await service.engine(ctx), generation: undefined }
      : await buildBuiltinEngine({ service, devices, workQueues, plan, clock: this.#o.clock, logger: this.#o.logger, ...(signal ? { signal } : {}) });
    if (this.#closing) {
      await built.engine.close();
      throw new EparaError('CLOSED', 'the executor closed while the instance loaded');
    }
    const inst = new EngineInstance({ id: instanceId, serviceId: service.id, engine: built.engine, devices, plan, ...(built.generation ? { generation: built.generation } : {}) });
    this.#instances.set(instanceId, inst);
    return inst;
  }



  /**
   * Drains an instance (no new work; queued and running items finish) and frees it.
   * @throws EparaError `NO_INSTANCE` for an unknown id.
   */
  async unload(instanceId: string, _options: { signal?: AbortSignalLike } = {}): Promise<void> {
    const inst = this.#instances.get(instanceId);
    if (!inst) throw new EparaError('NO_INSTANCE', `no instance ${instanceId}`, { instanceId });
    if (inst.status === 'draining') return;
    inst.status = 'draining';
    this.emit('instanceChanged', { instance: inst.info(this.#o.clock.now()), status: 'draining' });
    if (inst instanceof ModelInstance) {
      await inst.drain();
      await inst.unloadModels();
    } else await inst.engine.close();
    for (const d of this.#devices.values()) d.ledger.release(instanceId);
    this.#instances.delete(instanceId);
    this.emit('instanceChanged', { instance: inst.info(this.#o.clock.now()), status: 'unloaded' });
  }

  instances(): readonly InstanceInfo[] {
    const now = this.#o.clock.now();
    return [...this.#instances.values()].map((i) => i.info(now));
  }

  /** A snapshot of counters per service, device and stream. */
  stats(): ExecutorStats {
    const models = [...this.#instances.values()].filter((i): i is ModelInstance => i instanceof ModelInstance);
    return buildStats({ now: this.#o.clock.now(), startedAt: this.#startedAt, devices: this.#devices, instances: models, streams: this.#streamCounters, openStreams: this.#streams.size });
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
      for (const inst of this.#instances.values()) {
        if (inst instanceof ModelInstance) for (const item of inst.queue.drain()) item.settle({ ok: false, error: closed });
      }
      await Promise.all(
        [...this.#instances.values()].map((inst) => (inst instanceof ModelInstance ? inst.drain() : inst.engine.close().catch(() => undefined))),
      );
      for (const d of this.#devices.values()) d.scheduler.close();
      await Promise.all([...this.#devices.values()].map((d) => d.handle.close()));
      this.#instances.clear();
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

  #readyModelInstances(serviceId: string): ModelInstance[] {
    const out: ModelInstance[] = [];
    for (const i of this.#instances.values()) if (i instanceof ModelInstance && i.serviceId === serviceId && i.status === 'ready') out.push(i);
    return out;
  }

  #pick(serviceId: string): Instance {
    const now = this.#o.clock.now();
    let best: Instance | undefined;
    let bestAt = Number.POSITIVE_INFINITY;
    let count = 0;
    for (const i of this.#instances.values()) if (i.serviceId === serviceId && i.status === 'ready') count++;
    for (const i of this.#instances.values()) {
      if (i.serviceId !== serviceId || i.status !== 'ready') continue;
      if (count === 1) return i; // the common case: no estimate needed
      const at = i.estimate(now);
      if (!best || at < bestAt) {
        best = i;
        bestAt = at;
      }
    }
    if (!best) throw new EparaError('NO_INSTANCE', `no ready instance of ${serviceId} on this executor`, { serviceId });
    return best;
  }
}
