import type { InstanceInfo, InstanceStatus, NamedTensors, ParallelPlan } from '@epara/core';
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
    return this.engine.submit(inputs, { deadline: o.deadline, priority: o.priority, ...(o.signal ? { signal: o.signal } : {}) });
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

  release(): Promise<void> {
    return this.engine.close();
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
