import type { InstanceInfo, InstanceStatus, ParallelPlan } from '@epara/core';
import type { DeviceHandle } from '../devices/device-port.js';
import type { ServiceEngine } from './service-engine.js';
import type { GenerationEngine } from '../generation/generation-engine.js';

/** A service instance run by a {@link ServiceEngine} (model-parallel pipeline, generation). */
export class EngineInstance {
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

  estimate(now: number): number {
    return this.engine.estimate(now);
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
