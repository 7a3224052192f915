import type { EparaError, LatencyProfile } from '@epara/core';
import { admissionCheck } from '../batching/admission.js';
import type { WorkItem } from '../batching/work-item.js';
import type { InstanceSizing } from './instance-sizing.js';
import type { HoldCorrections } from './hold-corrections.js';
import type { Emit, InstanceCounters, ModelInstanceContext } from './instance-context.js';
import { shedError } from './shed-error.js';

/** The run-time figures admission works from. */
interface AdmissionFigures {
  startAt: number;
  aloneMs: number;
  perItemMs: number;
  bigBatchMs: number;
}

/** What admission reads from its instance. */
export interface AdmissionSource {
  readonly instanceId: string;
  readonly serviceId: string;
  readonly counters: InstanceCounters;
  readonly emit: Emit;
  readonly listening: ModelInstanceContext['listening'];
  readonly queue: { readonly items: readonly WorkItem[] };
  /** The instance's batch sizes (the same object until they change). */
  readonly sizing: InstanceSizing;
  readonly corrections: HoldCorrections;
  readonly deviceIds: readonly string[];
  readonly profile: () => LatencyProfile;
  readonly earliestStart: (now: number) => number;
}

/** Why a request was refused: the error code and the error carrying the `admissionCheck` figures. */
interface Refusal {
  readonly code: 'DEADLINE_EXCEEDED' | 'OVERLOADED';
  readonly error: EparaError;
}

/**
 * An instance's admission test ({@link admissionCheck}), with what it reuses across requests: the figures
 * (recomputed only when the sizes or a correction change), the item tested and the messages (shedding is the
 * hot path); and the drop of a queued item that can no longer finish in time.
 */
export class InstanceAdmission {
  readonly #src: AdmissionSource;
  readonly #figures: AdmissionFigures & { sizes: object | undefined; corrections: number } = { sizes: undefined, corrections: -1, startAt: 0, aloneMs: 0, perItemMs: 0, bigBatchMs: 0 };
  readonly #item = { deadline: 0, priority: 0, costScale: 1 };
  #refusedExpired: string | undefined;
  #refusedBacklog: string | undefined;
  #droppedMessage: string | undefined;

  constructor(src: AdmissionSource) {
    this.#src = src;
  }

  /** `undefined` to queue the request, else the error to refuse it with (counted and reported as dropped). */
  admit(deadline: number, priority: number, costScale: number, now: number): EparaError | undefined {
    const refusal = this.#check(deadline, priority, costScale, now);
    if (refusal === undefined) return undefined;
    const src = this.#src;
    src.counters.dropped++;
    if (src.listening('requestDropped')) src.emit('requestDropped', { serviceId: src.serviceId, instanceId: src.instanceId, code: refusal.code, deadline, at: now, atAdmission: true });
    return refusal.error;
  }

  /** Settles a queued item dropped before running (`STALE_FRAME` for a stream frame), counted and reported. */
  drop(item: WorkItem, now: number): void {
    const src = this.#src;
    src.counters.dropped++;
    const code = item.frame ? 'STALE_FRAME' : 'DEADLINE_EXCEEDED';
    const streamId = item.slot?.streamId;
    if (src.listening('requestDropped')) src.emit('requestDropped', { serviceId: src.serviceId, instanceId: src.instanceId, code, deadline: item.deadline, at: now, ...(streamId ? { streamId } : {}) });
    this.#droppedMessage ??= `${src.serviceId}: cannot finish before its deadline; dropped before running`;
    item.settle(shedError(code, this.#droppedMessage, { serviceId: src.serviceId, deadline: item.deadline, now }));
  }

  #check(deadline: number, priority: number, costScale: number, now: number): Refusal | undefined {
    const f = this.#currentFigures(now);
    f.startAt = this.#src.earliestStart(now);
    const item = this.#item;
    item.deadline = deadline;
    item.priority = priority;
    item.costScale = costScale;
    const v = admissionCheck(this.#src.queue.items, item, f);
    if (v.ok) return undefined;
    const serviceId = this.#src.serviceId;
    const code = v.reason === 'expired' ? 'DEADLINE_EXCEEDED' : 'OVERLOADED';
    const message =
      v.reason === 'expired'
        ? (this.#refusedExpired ??= `${serviceId}: cannot finish before its deadline; refused at admission`)
        : (this.#refusedBacklog ??= `${serviceId}: the requests queued ahead leave no time before its deadline; refused at admission`);
    return { code, error: shedError(code, message, { serviceId, deadline, now, expectedFinish: v.finishAt, queuedAhead: v.ahead }) };
  }

  /**
   * Recomputed (into the same object: a correction changes with every batch) only when an input changed. A
   * correction fading while no batch ends is read at the next change: the figures stay optimistic meanwhile.
   */
  #currentFigures(now: number): AdmissionFigures {
    const src = this.#src;
    const sizes = src.sizing.sizes();
    const f = this.#figures;
    const version = src.corrections.version;
    if (f.sizes === sizes && f.corrections === version) return f;
    const profile = src.profile();
    const { corrections, deviceIds } = src;
    const big = Math.max(1, sizes.maxBatchSize);
    f.bigBatchMs = corrections.optimisticMs(profile, big, deviceIds, now);
    f.aloneMs = corrections.optimisticMs(profile, 1, deviceIds, now);
    f.perItemMs = Math.min(f.aloneMs, corrections.optimisticMs(profile, sizes.batchSize, deviceIds, now) / sizes.batchSize, f.bigBatchMs / big) / deviceIds.length;
    f.sizes = sizes;
    f.corrections = version;
    return f;
  }
}
