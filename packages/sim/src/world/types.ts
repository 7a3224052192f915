import type { ParallelPlan } from '@epara/core';
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
  readonly service: number;
  /** Access server the client reached. */
  origin: number;
  readonly emitAt: number;
  /** Absolute deadline (emission + SLO deadline or staleness limit), ms. */
  readonly deadline: number;
  readonly promptTokens: number;
  readonly outputTokens: number;
  /** The stream this frame belongs to, or null for a plain request. */
  readonly stream: SimStream | null;
  hops: number;
  /** Servers that already handled the request (never revisited). */
  visited: number[];
  /** Queue key: device deadline (EDF) or enqueue time (FIFO). */
  qkey: number;
  enqueuedAt: number;
  /** Deadline minus the time the result needs to get back to the client from the serving server. */
  devDeadline: number;
  /** Time from the serving server back to the client, ms. */
  returnMs: number;
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

/** How an instance forms batches: EPARA's deadline-aware EDF rule, or Triton's dynamic batcher. */
export type BatchPolicy =
  | { readonly kind: 'deadline'; readonly guardMs: number }
  | { readonly kind: 'triton'; readonly maxQueueDelayMs: number; readonly queueTimeoutMs: number };

/** One placed instance of a service on one or more devices of one server. */
export interface SimInstance {
  readonly id: number;
  readonly service: number;
  readonly svc: SimService;
  readonly server: number;
  readonly devices: SimDevice[];
  plan: InstancePlan;
  readonly policy: BatchPolicy;
  status: 'loading' | 'ready' | 'draining' | 'gone';
  queue: RequestHeap;
  /** Batches of this instance running now (at most one per device). */
  running: number;
  timerVersion: number;
  timerAt: number;
  /** Sum of the rates of streams pinned here, items/s. */
  pinnedHz: number;
  /** Items routed here since the last sync report (for `loadPerSec`). */
  arrivals: number;
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

/** A batch in flight on a device. */
export interface RunningBatch {
  readonly instance: SimInstance;
  readonly device: SimDevice;
  readonly items: SimRequest[];
  /** Work left, in ms of exclusive device time. */
  remaining: number;
  /** Extra pipeline latency after the device part (model parallel), ms. */
  readonly tailMs: number;
}

/** Binary min-heap of requests by `qkey`. */
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
      if (a[p]!.qkey <= r.qkey) break;
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
        if (c + 1 < n && a[c + 1]!.qkey < a[c]!.qkey) c++;
        if (a[c]!.qkey >= last.qkey) break;
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
