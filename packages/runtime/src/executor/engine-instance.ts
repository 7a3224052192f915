import { toEparaError, type InstanceInfo, type InstanceStatus, type NamedTensors, type ParallelPlan } from '@epara/core';
import type { DeviceHandle } from '../devices/device-port.js';
import type { ServiceEngine } from './service-engine.js';
import type { GenerationEngine } from '../generation/generation-engine.js';
import type { ExecutorInstance, InstanceSubmitOptions } from './executor-instance.js';

/**
 * A service instance run by a {@link ServiceEngine} (model-parallel pipeline, generation, a host's engine). It
 * takes no streams and keeps no counters of its own; unloading closes the engine.
 */
export class EngineInstance implements ExecutorInstance {
  readonly id: string;
  readonly serviceId: string;
  readonly engine: ServiceEngine;
  readonly devices: readonly DeviceHandle[];
  /** The token-streaming engine of a generation service. */
  readonly generation: GenerationEngine | undefined;
  status: InstanceStatus = 'ready';
  readonly #plan: Partial<ParallelPlan>;
  readonly #strategy: 'single' | 'model-parallel';

  constructor(o: {
    id: string;
    serviceId: string;
    engine: ServiceEngine;
    devices: readonly DeviceHandle[];
    plan: Partial<ParallelPlan>;
    generation?: GenerationEngine;
  }) {
    this.generation = o.generation;
    this.id = o.id;
    this.serviceId = o.serviceId;
    this.engine = o.engine;
    this.devices = o.devices;
    this.#plan = o.plan;
    this.#strategy = o.devices.length > 1 ? 'model-parallel' : 'single';
  }

  readonly streams = undefined;

  submit(inputs: NamedTensors, o: InstanceSubmitOptions): Promise<NamedTensors> {
    // Whatever an engine throws or rejects with reaches the caller as an EparaError (a host's engine may fail
    // with a plain Error; `INTERNAL` then).
    let done: Promise<NamedTensors>;
    try {
      done = this.engine.submit(inputs, { deadline: o.deadline, priority: o.priority, ...(o.signal ? { signal: o.signal } : {}) });
    } catch (err) {
      return Promise.reject(toEparaError(err, 'INTERNAL'));
    }
    return done.then(undefined, (err: unknown) => {
      throw toEparaError(err, 'INTERNAL');
    });
  }

  estimate(now: number): number {
    return this.engine.estimate(now);
  }

  stats(): undefined {
    return undefined;
  }

  /** An engine finishes its work in flight when it closes (`release`). */
  drain(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Closes the engine, which finishes its work in flight. A device that does not answer within `waitMs` — a call
   * that never ends — is terminated and restarted (`DeviceHandle.recycle`): the stuck call fails and the close ends.
   */
  async release(options: { waitMs?: number } = {}): Promise<void> {
    const closed = this.engine.close();
    if (options.waitMs === undefined) return closed;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = await Promise.race([
      closed.then(
        () => false,
        () => false,
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), options.waitMs))),
    ]);
    clearTimeout(timer);
    if (late) for (const d of this.devices) d.recycle?.(`instance ${this.id} did not close within ${options.waitMs} ms while it was unloaded`);
    return closed;
  }

  close(): Promise<void> {
    return this.engine.close().catch(() => undefined);
  }

  info(now: number): InstanceInfo {
    return {
      instanceId: this.id,
      serviceId: this.serviceId,
      status: this.status,
      requestStrategy: this.#plan.requestStrategy ?? 'batching',
      serviceStrategy: this.#plan.serviceStrategy ?? this.#strategy,
      batchSize: this.#plan.batchSize ?? 1,
      capacityPerSec: this.#plan.capacityPerSec ?? 0,
      loadPerSec: 0,
      waitMs: Math.max(0, this.engine.estimate(now) - now - (this.#plan.runMs ?? 0)),
      runMs: this.#plan.runMs ?? 0,
      deviceIds: this.devices.map((d) => d.id),
    };
  }
}
