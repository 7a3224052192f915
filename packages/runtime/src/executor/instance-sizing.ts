import { latencyAt, type LatencyProfile, type ParallelPlan } from '@epara/core';
import { batchSizeForDeadline, streamCapacity } from '@epara/core/scheduling';
import type { ExecutorServiceOptions } from './executor-options.js';
import { instanceSizes, type InstanceSizes } from './instance-sizes.js';

/** What an instance's sizing reads from it, each time it is asked. */
export interface SizingSource {
  readonly service: ExecutorServiceOptions;
  readonly plan: Partial<ParallelPlan>;
  readonly devices: number;
  readonly profile: () => LatencyProfile;
  readonly batchable: () => boolean;
  readonly streamRateHz: () => number;
}

/**
 * An instance's batch sizes ({@link instanceSizes}) and capacity. The sizes are computed once per input they
 * depend on (profile, batchability, stream rate): the launch rule and admission read them on every arrival,
 * and recomputing them allocated on every request. The same object comes back until an input changes.
 */
export class InstanceSizing {
  readonly #s: SizingSource;
  #sizes: (InstanceSizes & { readonly batchable: boolean; readonly rateHz: number }) | undefined;

  constructor(s: SizingSource) {
    this.#s = s;
  }

  /** The current sizes. */
  sizes(): InstanceSizes {
    const s = this.#s;
    const batchable = s.batchable();
    const rateHz = s.streamRateHz();
    const c = this.#sizes;
    if (c !== undefined && c.batchable === batchable && c.rateHz === rateHz) return c;
    const sizes = instanceSizes({ service: s.service, planBatchSize: s.plan.batchSize, profile: s.profile, batchable, streamRateHz: rateHz, devices: s.devices });
    this.#sizes = { batchable, rateHz, ...sizes };
    return this.#sizes;
  }

  /** Forgets the sizes (a new profile). */
  reset(): void {
    this.#sizes = undefined;
  }

  /**
   * Items/s the instance serves within its SLO, scaled by `speed(b)` — the mean over its devices of profiled
   * over learned device time for a batch of `b` (1 without learning: the profile's figure): a plan's declared
   * figure at the plan's batch size, or its devices' rate at the deadline rule's batch `b`, each device's
   * `b / L(b)`. A declared figure is a profile's figure too (core's plans compute it from the same profile), so
   * a device whose batches hold it three times their profile serves a third of it, whoever did the arithmetic.
   * A stream service (frequency SLO) with a multi-frame plan or none is priced at the pack its devices really
   * run instead ({@link streamCapacity}: the largest pack that stays fresh, at its learned hold time).
   */
  capacityPerSec(speed: (b: number) => number = () => 1): number {
    const s = this.#s;
    const batchable = s.batchable();
    if (batchable && this.#packsStreams()) return this.#streamCapacity(speed);
    // An unbatched instance cannot reach a plan's batched capacity: its own is one item per run.
    if (s.plan.capacityPerSec !== undefined && batchable) return s.plan.capacityPerSec * speed(Math.max(1, s.plan.batchSize ?? 1));
    const svc = s.service;
    const profile = s.profile();
    const budget = (svc.slo.kind === 'latency' ? svc.slo.deadlineMs : svc.slo.stalenessMs) - (svc.networkBudgetMs ?? 0);
    const b = batchable ? batchSizeForDeadline(profile, budget, { maxBatch: svc.maxBatch ?? 32 }) : 1;
    return ((b * 1000) / latencyAt(profile, b)) * s.devices * speed(b);
  }

  /**
   * A stream service sized by its own multi-frame rule: a core plan with `requestStrategy: 'multi-frame'` (not a
   * pipeline), or no declared figure at all. A figure a host declares by hand is kept as declared.
   */
  #packsStreams(): boolean {
    const s = this.#s;
    if (s.service.slo.kind !== 'frequency') return false;
    if (s.plan.capacityPerSec === undefined) return true;
    return s.plan.requestStrategy === 'multi-frame' && s.plan.serviceStrategy !== 'model-parallel';
  }

  /**
   * Frames/s at the pack the devices really run, not at the plan's pack. A multi-frame plan's figure is the rate
   * of the smallest pack that keeps up with the rate it was planned for (a pack of 1 for one light stream),
   * while a backlog grows packs up to the instance's largest batch (`sizes().maxBatchSize`): a device whose `L(n)` grows
   * slower than `n` serves more frames per second than that. Each device serves core's {@link streamCapacity}:
   * the largest pack that stays fresh, priced at the time packs of its size really hold the device (`speed(n)`),
   * so a pack that would go stale at the learned time does not count.
   */
  #streamCapacity(speed: (b: number) => number): number {
    const s = this.#s;
    const svc = s.service;
    const maxBatch = this.sizes().maxBatchSize;
    const stalenessMs = (svc.slo.kind === 'frequency' ? svc.slo.stalenessMs : svc.slo.deadlineMs) - (svc.networkBudgetMs ?? 0);
    if (!(stalenessMs > 0)) return 0;
    return streamCapacity(s.profile(), { stalenessMs, maxBatch, speed }).ratePerSec * s.devices;
  }
}
