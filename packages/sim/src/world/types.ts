import type { LatencyProfile, ParallelPlan } from '@epara/core';
import type { EdfQueue, LatencyGuard, LatencyGuardOptions } from '@epara/core/scheduling';
import type { SimService } from '../model/services.js';

/** Why an item ended without a good result (EPARA error codes, plus the simulator's own `UNFINISHED`). */
export type DropReason =
  | 'DEADLINE_INFEASIBLE'
  | 'DEADLINE_EXCEEDED'
  | 'STALE_FRAME'
  | 'NO_INSTANCE'
  | 'OVERLOADED'
  | 'HOP_LIMIT'
  | 'PEER_UNAVAILABLE'
  | 'WORKER_CRASHED'
  | 'UNFINISHED';

/** One request or stream frame travelling through the simulated cluster. */
export interface SimRequest {
  readonly id: number;
  /** Equal to `id`: the core scheduler's FIFO tie-breaker. */
  readonly seq: number;
  /** Always 0 (the simulator has no priorities): the core scheduler's tie-breaker. */
  readonly priority: number;
  readonly service: number;
  /** Access server the client reached. */
  origin: number;
  readonly emitAt: number;
  /** The client's absolute deadline (emission + SLO deadline or staleness limit), ms. */
  readonly dueAt: number;
  readonly promptTokens: number;
  readonly outputTokens: number;
  /** The stream this frame belongs to, or null for a plain request. */
  readonly stream: SimStream | null;
  hops: number;
  /** Servers that already handled the request (never revisited), by id: what core routing reads. */
  visitedIds: string[];
  /** When the request was queued at its instance (also the FIFO key of Triton's batcher). */
  enqueuedAt: number;
  /**
   * The device deadline the core scheduler orders and launches by: `dueAt` minus the time the result needs
   * to get back to the client from the serving server (set when the request is queued).
   */
  deadline: number;
  settled: boolean;
}

/** A live stream session. */
export interface SimStream {
  readonly id: number;
  readonly service: number;
  origin: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly rateHz: number;
  seq: number;
  /** Instance the stream is pinned to (EPARA), or null. */
  pinned: SimInstance | null;
  ended: boolean;
}

/** The plan facts an instance runs with. */
export interface InstancePlan {
  readonly requestStrategy: ParallelPlan['requestStrategy'];
  readonly serviceStrategy: ParallelPlan['serviceStrategy'];
  readonly batchSize: number;
  readonly capacityPerSec: number;
  readonly memoryPerDeviceBytes: number;
  readonly runMs: number;
  readonly stages: number;
}

/**
 * How an instance forms batches: the core deadline-aware launch rule (`planLaunch`), or Triton's dynamic
 * batcher. `shareAware` estimates a batch with the device's current share (time slicing and interference of
 * the batches already running on it); `learnedGuard` adds to the guard of a batch of `n` what the instance
 * learned of how late its batches of that size end (core `LatencyGuard`, with `guardOptions`).
 */
export type BatchPolicy =
  | { readonly kind: 'deadline'; readonly guardMs: number; readonly shareAware?: boolean; readonly learnedGuard?: boolean; readonly guardOptions?: Partial<LatencyGuardOptions>; readonly ratePacks?: boolean; readonly fillAware?: boolean; readonly overloadBelowPlan?: boolean; readonly skipShrinkingHead?: boolean }
  | { readonly kind: 'triton'; readonly maxQueueDelayMs: number; readonly queueTimeoutMs: number };

/** One placed instance of a service on one or more devices of one server. */
export interface SimInstance {
  readonly id: number;
  readonly service: number;
  readonly svc: SimService;
  readonly server: number;
  readonly devices: SimDevice[];
  /**
   * The service's latency profile on the instance's device kind, looked up once: the launch rule reads it for
   * every candidate batch size (`profileMs`), and the lookup was a chain of five loads ending in a keyed one.
   */
  readonly profile: LatencyProfile;
  plan: InstancePlan;
  readonly policy: BatchPolicy;
  status: 'loading' | 'ready' | 'draining' | 'gone';
  /** EDF queue (deadline policy, driven by the core launch rule) or FIFO heap (Triton's batcher). */
  queue: EdfQueue<SimRequest> | RequestHeap;
  /** How late this instance's batches ended beyond their prediction (deadline policy with `learnedGuard`), or null. */
  guard: LatencyGuard | null;
  /** Scratch for the core completion estimate (one entry per device). */
  freeAt: number[];
  /** Batches of this instance running now (at most one per device). */
  running: number;
  timerVersion: number;
  timerAt: number;
  /** Sum of the rates of streams pinned here, items/s. */
  pinnedHz: number;
  /** Items routed here since the last sync report (for `loadPerSec`). */
  arrivals: number;
  /** Smoothed measured arrival rate, items/s, as a system last computed it (−1: never measured). */
  measuredRate: number;
  /** Recent arrivals, a count decaying with a 1 s time constant (`arrival-rate.ts`; −1: none yet), and when it was last updated. */
  recentArrivals: number;
  recentArrivalsAt: number;
  /** The pinned rate per device the last multi-frame pack size was computed for (`rate-pack.ts`; −1: none), and that size. */
  packHz: number;
  packN: number;
}

/** One accelerator, shared by its instances by processor sharing (concurrent batches split its time). */
export interface SimDevice {
  readonly index: number;
  readonly server: number;
  readonly local: number;
  readonly kind: string;
  readonly memoryBytes: number;
  healthy: boolean;
  instances: SimInstance[];
  running: RunningBatch[];
  lastUpdate: number;
  version: number;
  busyMs: number;
}

/** A batch in flight on a device (recycled once it ends: `execution.ts` keeps the ended ones for the next launches). */
export interface RunningBatch {
  instance: SimInstance;
  device: SimDevice;
  items: SimRequest[];
  /** Work left, in ms of exclusive device time. */
  remaining: number;
  /** Work of the pipeline stages still to run after this one (model parallel), ms of exclusive device time. */
  tailMs: number;
  /** Pipeline stage this part runs (0, or the index of its device in a model-parallel instance). */
  stage: number;
  /** Launch time, and the run time predicted then from the profile and the device's share (learned guard). */
  startedAt: number;
  predictedMs: number;
}

/** Binary min-heap of requests by `enqueuedAt`. */
export class RequestHeap {
  items: SimRequest[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): SimRequest | undefined {
    return this.items[0];
  }
  push(r: SimRequest): void {
    const a = this.items;
    let i = a.length;
    a.push(r);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.enqueuedAt <= r.enqueuedAt) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = r;
  }
  pop(): SimRequest | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      let i = 0;
      const n = a.length;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && a[c + 1]!.enqueuedAt < a[c]!.enqueuedAt) c++;
        if (a[c]!.enqueuedAt >= last.enqueuedAt) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
  /** Removes and returns every request (used when an instance dies). */
  drain(): SimRequest[] {
    const out = this.items;
    this.items = [];
    return out;
  }
}
