import { EparaError, invalidOption, systemClock } from '@epara/core';
import type {
  Clock,
  InstanceInfo,
  LocalEstimate,
  LocalExecutor,
  LocalStream,
  LocalStreamOptions,
  LocalSubmitOptions,
  NamedTensors,
  ParallelPlan,
  ServiceId,
  TensorLike,
} from '@epara/core';
import { createSystemTimers } from '@epara/core';
import type { Timers } from '@epara/core';
import { FakeInstance } from './fake-instance.js';
import { openFakeStream } from './fake-stream.js';

/** How the fake runs one service. */
export interface FakeServiceConfig {
  /** Time one batch takes, ms. */
  readonly serviceTimeMs: number;
  /** Items per batch. @default 1 */
  readonly batchSize?: number;
  /** Queue length at which new submissions get `OVERLOADED`. @default the executor's `maxQueue` */
  readonly maxQueue?: number;
  /** Default deadline budget when a submission has none, ms. @default 1000 */
  readonly deadlineMs?: number;
}

/** Options of {@link createFakeExecutor}. */
export interface FakeExecutorOptions {
  /** Every service the fake can run (load) and how. */
  readonly services: Readonly<Record<ServiceId, FakeServiceConfig>>;
  /** Services with a ready instance from the start. @default [] */
  readonly hosted?: readonly ServiceId[];
  /** Time a `load` takes, ms. @default 0 */
  readonly loadTimeMs?: number;
  /**
   * Queue length per instance at which new submissions get `OVERLOADED` (as the runtime executor's `maxQueue`); a
   * service's own `maxQueue` overrides it. @default 64
   */
  readonly maxQueue?: number;
  /** Written into every output as tensor `server` (int32 `[tag]`), so tests see where a request ran. @default 0 */
  readonly tag?: number;
  /** Float inputs are multiplied by this in the outputs. @default 2 */
  readonly outputScale?: number;
  /** @default systemClock */
  readonly clock?: Clock;
  /** @default createSystemTimers() */
  readonly timers?: Timers;
}

/** Counters of a {@link FakeExecutor}. */
export interface FakeExecutorStats {
  readonly executed: number;
  readonly loads: number;
  readonly unloads: number;
  /** Loads refused `WORKER_CRASHED` because a device they named had failed. */
  readonly failedLoads: number;
  /** Per device named by a load or failed: whether it failed (`failed`, as the runtime executor's device stats). */
  readonly devices: Readonly<Record<string, { readonly failed: boolean }>>;
}

/** A `LocalExecutor` for tests and benchmarks, with knobs to saturate or crash it. */
export interface FakeExecutor extends LocalExecutor {
  /** Simulates a crashed machine: nothing queued or running ever completes afterwards. */
  freeze(): void;
  /** Changes a service's batch time for its current and future instances. */
  setServiceTime(serviceId: ServiceId, serviceTimeMs: number): void;
  /**
   * Simulates a device that gave up restarting its worker (the runtime's `deviceFailed`): the instances loaded on it
   * go `draining` and are unloaded, a load naming it fails `WORKER_CRASHED`, and `failedDevices()` (and
   * `stats().devices`) list it.
   */
  failDevice(deviceId: string): void;
  /** The device works again: loads onto it succeed, and it leaves `failedDevices()`. */
  recoverDevice(deviceId: string): void;
  /** The devices failed now (see `LocalExecutor.failedDevices`): the same frozen array until the set changes. */
  failedDevices(): readonly string[];
  /** Counters: items executed, loads and unloads performed, failed loads, device health. */
  stats(): FakeExecutorStats;
}

/**
 * Creates a deterministic fake executor: outputs are a pure function of the inputs (floats scaled by
 * `outputScale`, other types echoed) plus a `server` tag; timing comes from the injected timers.
 *
 * @throws EparaError `INVALID_OPTIONS` for a missing or malformed service config.
 * @example
 * ```ts
 * const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 2 } }, hosted: ['echo'], tag: 1 });
 * ```
 */
export function createFakeExecutor(options: FakeExecutorOptions): FakeExecutor {
  const clock = options.clock ?? systemClock;
  const timers = options.timers ?? createSystemTimers();
  const scale = options.outputScale ?? 2;
  const tag = options.tag ?? 0;
  const maxQueue = options.maxQueue ?? 64;
  if (!Number.isInteger(maxQueue) || maxQueue < 1) invalidOption('maxQueue', maxQueue, 'a positive integer');
  const services = new Map<ServiceId, { -readonly [K in keyof FakeServiceConfig]: FakeServiceConfig[K] }>();
  for (const [id, s] of Object.entries(options.services ?? invalidOption('services', options.services, 'an object'))) {
    if (!(s.serviceTimeMs > 0)) invalidOption(`services.${id}.serviceTimeMs`, s.serviceTimeMs, 'a positive number');
    if (s.maxQueue !== undefined && (!Number.isInteger(s.maxQueue) || s.maxQueue < 1)) invalidOption(`services.${id}.maxQueue`, s.maxQueue, 'a positive integer');
    services.set(id, { ...s });
  }
  const instances = new Map<string, FakeInstance>();
  const counters = { executed: 0, loads: 0, unloads: 0, failedLoads: 0 };
  /** Devices named by a load or failed, and whether each failed. */
  const devices = new Map<string, boolean>();
  /** What `failedDevices()` returns: rebuilt only when a device fails or recovers, so its identity says "unchanged". */
  let failedList: readonly string[] = Object.freeze([]);
  const listFailed = (): void => {
    const now = [...devices].flatMap(([id, failed]) => (failed ? [id] : []));
    if (now.length !== failedList.length || now.some((id, i) => failedList[i] !== id)) failedList = Object.freeze(now);
  };
  let frozen = false;
  let nextId = 0;
  const ctx = {
    clock,
    timers,
    compute: (inputs: NamedTensors) => fakeCompute(inputs, scale, tag),
    isFrozen: () => frozen,
    onExecuted: (n: number) => {
      counters.executed += n;
    },
  };
  const config = (serviceId: ServiceId): { serviceTimeMs: number } & FakeServiceConfig => {
    const c = services.get(serviceId);
    if (!c) throw new EparaError('UNKNOWN_SERVICE', `fake executor has no service ${serviceId}`, { serviceId });
    return c;
  };
  const create = (serviceId: ServiceId, instanceId: string, status: 'loading' | 'ready', deviceIds?: readonly string[]): FakeInstance => {
    const c = config(serviceId);
    const inst = new FakeInstance(
      { instanceId, serviceId, status, serviceTimeMs: c.serviceTimeMs, batchSize: c.batchSize ?? 1, maxQueue: c.maxQueue ?? maxQueue, ...(deviceIds ? { deviceIds } : {}) },
      ctx,
    );
    instances.set(instanceId, inst);
    return inst;
  };
  const best = (serviceId: ServiceId): FakeInstance | undefined => {
    let pick: FakeInstance | undefined;
    for (const inst of instances.values()) {
      if (inst.serviceId !== serviceId || inst.status !== 'ready') continue;
      if (!pick || inst.completionAt() < pick.completionAt()) pick = inst;
    }
    return pick;
  };
  for (const s of options.hosted ?? []) create(s, `${s}#${nextId++}`, 'ready');

  return {
    submit(serviceId: ServiceId, inputs: NamedTensors, opts: LocalSubmitOptions = {}): Promise<NamedTensors> {
      if (frozen) return new Promise<NamedTensors>(() => undefined);
      const inst = best(serviceId);
      if (!inst) return Promise.reject(new EparaError('NO_INSTANCE', `no ready instance of ${serviceId}`, { serviceId }));
      const deadline = opts.deadline ?? clock.now() + (config(serviceId).deadlineMs ?? 1000);
      return new Promise<NamedTensors>((resolve, reject) => {
        const signal = opts.signal;
        if (signal?.aborted) return reject(new EparaError('ABORTED', 'aborted before queueing'));
        const onAbort = (): void => {
          if (inst.remove(item)) reject(new EparaError('ABORTED', 'aborted while queued'));
        };
        const done = (): void => signal?.removeEventListener('abort', onAbort);
        const item = {
          inputs,
          deadline,
          resolve: (out: NamedTensors) => (done(), resolve(out)),
          reject: (err: EparaError) => (done(), reject(err)),
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        inst.enqueue(item);
      });
    },
    estimate(serviceId: ServiceId): LocalEstimate | undefined {
      const inst = best(serviceId);
      if (inst) return { completionAt: inst.completionAt(), ready: true };
      for (const i of instances.values()) if (i.serviceId === serviceId) return { completionAt: Infinity, ready: false };
      return undefined;
    },
    openStream(serviceId: ServiceId, opts: LocalStreamOptions): LocalStream {
      const candidates = [...instances.values()].filter((i) => i.serviceId === serviceId && i.status === 'ready');
      if (candidates.length === 0) throw new EparaError('NO_INSTANCE', `no ready instance of ${serviceId}`, { serviceId });
      const inst = candidates.find((i) => i.capacityPerSec - i.streamRateHz >= opts.rateHz);
      if (!inst) throw new EparaError('OVERLOADED', `no spare rate for ${opts.rateHz} Hz on ${serviceId}`, { serviceId });
      const stalenessMs = opts.stalenessMs ?? config(serviceId).deadlineMs ?? 1000;
      return openFakeStream({ instance: inst, rateHz: opts.rateHz, stalenessMs, clock, isFrozen: () => frozen, id: `stream-${nextId++}` });
    },
    async load(plan: ParallelPlan, opts: { instanceId?: string; deviceIds?: readonly string[] } = {}): Promise<InstanceInfo> {
      const deviceIds = opts.deviceIds && opts.deviceIds.length > 0 ? [...opts.deviceIds] : undefined;
      for (const d of deviceIds ?? []) if (!devices.has(d)) devices.set(d, false);
      const inst = create(plan.serviceId, opts.instanceId ?? `${plan.serviceId}#${nextId++}`, 'loading', deviceIds);
      counters.loads++;
      await new Promise<void>((r) => timers.setTimeout(r, options.loadTimeMs ?? 0));
      const broken = deviceIds?.find((d) => devices.get(d) === true);
      if (broken !== undefined) {
        instances.delete(inst.instanceId);
        counters.failedLoads++;
        throw new EparaError('WORKER_CRASHED', `device ${broken} has failed: ${plan.serviceId} cannot load on it`, { deviceId: broken, serviceId: plan.serviceId });
      }
      if (inst.status === 'loading') inst.status = 'ready';
      return inst.info();
    },
    async unload(instanceId: string): Promise<void> {
      const inst = instances.get(instanceId);
      if (!inst) throw new EparaError('INVALID_OPTIONS', `no instance ${instanceId}`, { field: 'instanceId', value: instanceId });
      inst.status = 'draining';
      await inst.drain();
      instances.delete(instanceId);
      counters.unloads++;
    },
    instances: () => [...instances.values()].map((i) => i.info()),
    freeze() {
      frozen = true;
    },
    setServiceTime(serviceId, ms) {
      config(serviceId).serviceTimeMs = ms;
      for (const i of instances.values()) if (i.serviceId === serviceId) i.serviceTimeMs = ms;
    },
    failDevice(deviceId) {
      devices.set(deviceId, true);
      listFailed();
      for (const inst of [...instances.values()]) {
        if (inst.status !== 'ready' || !inst.deviceIds?.includes(deviceId)) continue;
        inst.status = 'draining';
        void inst.drain().then(() => {
          if (instances.get(inst.instanceId) === inst) instances.delete(inst.instanceId), counters.unloads++;
        });
      }
    },
    recoverDevice(deviceId) {
      devices.set(deviceId, false);
      listFailed();
    },
    failedDevices: () => failedList,
    stats: () => ({ ...counters, devices: Object.fromEntries([...devices].map(([id, failed]) => [id, { failed }])) }),
  };
}

function fakeCompute(inputs: NamedTensors, scale: number, tag: number): NamedTensors {
  const out: Record<string, TensorLike> = {};
  for (const [name, t] of Object.entries(inputs)) {
    if (t.data instanceof Float32Array) out[name] = { type: t.type, dims: t.dims, data: t.data.map((v) => v * scale) };
    else if (t.data instanceof Float64Array) out[name] = { type: t.type, dims: t.dims, data: t.data.map((v) => v * scale) };
    else out[name] = t;
  }
  out['server'] = { type: 'int32', dims: [1], data: Int32Array.of(tag) };
  return out;
}
