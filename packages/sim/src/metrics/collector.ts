import { EparaError } from '@epara/core';
import type { DropReason, SimRequest } from '../world/types.js';
import { LatencyHistogram } from './histogram.js';

/** Counters of one service (or of the whole run). */
export interface ServiceCounters {
  offered: number;
  good: number;
  late: number;
  dropped: number;
  drops: Partial<Record<DropReason, number>>;
  /** Items by the number of offload hops they took (index = hops). */
  hops: number[];
  latency: LatencyHistogram;
}

function counters(): ServiceCounters {
  return { offered: 0, good: 0, late: 0, dropped: 0, drops: {}, hops: [], latency: new LatencyHistogram() };
}

/**
 * Collects outcomes: every item counted as offered must settle exactly once as good, late or dropped with
 * a reason (a second settle throws `INTERNAL`). Items emitted before `warmupMs` are simulated but not
 * counted. A per-second timeline of offered and good items feeds the recovery charts.
 */
export class MetricsCollector {
  readonly perService: ServiceCounters[];
  readonly total = counters();
  readonly timelineBucketMs: number;
  readonly timelineOffered: number[] = [];
  readonly timelineGood: number[] = [];
  readonly #warmupMs: number;
  /** Counted items that were stream frames. */
  framesOffered = 0;
  /** Told of every counted item as it settles (diagnostics such as the loss breakdown); null by default. */
  observer: ((req: SimRequest, outcome: 'good' | 'late' | DropReason) => void) | null = null;

  constructor(serviceCount: number, warmupMs: number, timelineBucketMs = 1000) {
    this.perService = Array.from({ length: serviceCount }, counters);
    this.#warmupMs = warmupMs;
    this.timelineBucketMs = timelineBucketMs;
  }

  /** True when an item emitted at `emitAt` counts. */
  counts(emitAt: number): boolean {
    return emitAt >= this.#warmupMs;
  }

  offer(req: SimRequest): void {
    if (!this.counts(req.emitAt)) return;
    this.perService[req.service]!.offered++;
    this.total.offered++;
    if (req.stream !== null) this.framesOffered++;
    const b = Math.floor(req.emitAt / this.timelineBucketMs);
    while (this.timelineOffered.length <= b) {
      this.timelineOffered.push(0);
      this.timelineGood.push(0);
    }
    this.timelineOffered[b]!++;
  }

  /** Settles a completed item: good if its result reached the client by the deadline. */
  complete(req: SimRequest, responseAt: number): void {
    this.#settle(req);
    if (!this.counts(req.emitAt)) return;
    const good = responseAt <= req.dueAt;
    const latency = responseAt - req.emitAt;
    const bucket = LatencyHistogram.bucketOf(latency);
    const svc = this.perService[req.service]!;
    const total = this.total;
    if (good) {
      svc.good++;
      total.good++;
      this.timelineGood[Math.floor(req.emitAt / this.timelineBucketMs)]!++;
    } else {
      svc.late++;
      total.late++;
    }
    svc.latency.addAt(bucket, latency);
    total.latency.addAt(bucket, latency);
    svc.hops[req.hops] = (svc.hops[req.hops] ?? 0) + 1;
    total.hops[req.hops] = (total.hops[req.hops] ?? 0) + 1;
    this.observer?.(req, good ? 'good' : 'late');
  }

  /** Settles an item that ended without a result. */
  drop(req: SimRequest, reason: DropReason): void {
    this.#settle(req);
    if (!this.counts(req.emitAt)) return;
    const svc = this.perService[req.service]!;
    const total = this.total;
    svc.dropped++;
    svc.drops[reason] = (svc.drops[reason] ?? 0) + 1;
    total.dropped++;
    total.drops[reason] = (total.drops[reason] ?? 0) + 1;
    this.observer?.(req, reason);
  }

  #settle(req: SimRequest): void {
    if (req.settled) throw new EparaError('INTERNAL', `request ${req.id} settled twice`, { id: req.id });
    req.settled = true;
  }
}
