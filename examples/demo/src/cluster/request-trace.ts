import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BatchCompletedEvent, BatchDispatchedEvent, RequestCompletedEvent } from '@epara/runtime';

/*
 * `EPARA_DEMO_TRACE=<dir>`: each EPARA node writes one line per request served where it entered — when the node
 * decided, what the local estimate promised, when the item was queued, when its batch left for the device, what
 * that batch was expected to take and took, when the executor settled it and when the entry saw it — into
 * `<dir>/<node>.jsonl`, one write per run (its batch: dispatched at `batchAt`, expected to hold the device
 * `batchExpectedMs` from `startedAt`, ended `batchDurationMs` after it). Off by default: the demo then builds none of it.
 */

/** One request's timeline, executor clock ms (milliseconds since the epoch, sub-ms resolution). */
export interface TracedRequest {
  readonly serviceId: string;
  /** The entry's submit. */
  readonly decidedAt: number;
  /** The local estimate's completion at the decision. */
  readonly estimateAt: number;
  readonly deadline: number;
  enqueuedAt?: number;
  /** Its batch's planned start on the device (the scheduler's plan when it dispatched the batch). */
  startedAt?: number;
  /** When the executor settled it. */
  finishedAt?: number;
  /** When the entry saw it settle. */
  settledAt?: number;
  /** At the entry: `ok` (by the deadline), `late`, or the error code. */
  outcome?: string;
  /** The executor's: `ok` or the error code. */
  executorOutcome?: string;
  /** `local`, `forward <peer>` or `reject <code>`. */
  decision?: string;
  batchSize?: number;
  deviceId?: string;
  /** A refusal's reason as routing gave it (the local estimate it read, corrected for measured lateness). */
  reason?: string;
  /**
   * For a request sent elsewhere or refused: what the view showed of each peer's instances of the service at the
   * decision — the wait it reported, its entry's age, its load and capacity, its next batch's run, and the travel
   * routing adds to reach it (ms, items/s).
   */
  peers?: readonly TracedPeer[];
  /**
   * For a forward that failed: the peers that refused it, in order, each with its reason (a peer's routing quotes
   * its own estimate at the request's arrival there: `local estimate <ms> ms, …`).
   */
  refusals?: readonly TracedRefusal[];
}

/** A peer's refusal of a forwarded request, as the error's `details.refusals` names it. */
export interface TracedRefusal {
  readonly peer: string;
  readonly reason: string;
}

/** One peer's instance of the service as the deciding node's view showed it. */
export interface TracedPeer {
  readonly serverId: string;
  readonly waitMs: number;
  readonly ageMs: number;
  readonly loadPerSec: number;
  readonly capacityPerSec: number;
  readonly runMs: number;
  /** What routing adds for the way there and back: twice the link's one-way delay and the request's transfer, ms. */
  readonly travelMs?: number;
}

/** A batch as dispatched, and as it ended. */
interface TracedBatch {
  readonly at: number;
  readonly plannedStart: number;
  readonly expectedMs: number;
  durationMs?: number;
  runMs?: number;
}

/** The request traces of one node. */
export class RequestTrace {
  readonly #file: string;
  readonly #open = new Map<string, TracedRequest>();
  /** Batches by `device@plannedStart` (a request's `startedAt` is its batch's planned start). */
  readonly #batches = new Map<string, TracedBatch>();
  /** Per device, the batches dispatched and not ended yet, in order (one device runs one batch at a time). */
  readonly #running = new Map<string, TracedBatch[]>();
  #done: TracedRequest[] = [];
  #seq = 0;

  constructor(file: string) {
    this.#file = file;
    // The folder `EPARA_DEMO_TRACE` names need not exist yet.
    mkdirSync(dirname(file), { recursive: true });
  }

  /** A request the entry serves here: its trace id, for `submit`'s `trace.requestId`. */
  begin(r: Pick<TracedRequest, 'serviceId' | 'decidedAt' | 'estimateAt' | 'deadline'>): string {
    const key = `t${++this.#seq}`;
    this.#open.set(key, { ...r });
    return key;
  }

  dispatched(e: BatchDispatchedEvent): void {
    const b: TracedBatch = { at: e.at, plannedStart: e.plannedStart, expectedMs: e.expectedMs };
    this.#batches.set(`${e.deviceId}@${e.plannedStart}`, b);
    const list = this.#running.get(e.deviceId) ?? [];
    list.push(b);
    this.#running.set(e.deviceId, list);
  }

  completed(e: BatchCompletedEvent): void {
    const b = this.#running.get(e.deviceId)?.shift();
    if (!b) return;
    b.durationMs = e.durationMs;
    b.runMs = e.runMs;
  }

  /** The executor settled a request: matched to its trace by the request id it was submitted with. */
  executorSettled(e: RequestCompletedEvent): void {
    const t = e.trace?.requestId === undefined ? undefined : this.#open.get(e.trace.requestId);
    if (!t) return;
    t.enqueuedAt = e.enqueuedAt;
    t.finishedAt = e.finishedAt;
    t.executorOutcome = e.outcome;
    if (e.startedAt !== undefined) t.startedAt = e.startedAt;
    if (e.batchSize !== undefined) t.batchSize = e.batchSize;
    if (e.deviceId !== undefined) t.deviceId = e.deviceId;
  }

  /** The entry saw the request settle (with a refusal's reason and the peers the view showed, when it was not run here). */
  settled(key: string, s: { at: number; outcome: string; decision: string; reason?: string | undefined; peers?: readonly TracedPeer[] | undefined; refusals?: readonly TracedRefusal[] | undefined }): void {
    const t = this.#open.get(key);
    if (!t) return;
    this.#open.delete(key);
    t.settledAt = s.at;
    t.decision = s.decision;
    t.outcome = s.outcome;
    if (s.reason !== undefined) t.reason = s.reason;
    if (s.peers !== undefined) t.peers = s.peers;
    if (s.refusals !== undefined && s.refusals.length > 0) t.refusals = s.refusals;
    this.#done.push(t);
  }

  /** Appends the settled traces, each with its batch, one line each (`run`: which run of the demo they belong to). */
  flush(run: number): void {
    const lines = this.#done.map((t) => {
      const b = t.startedAt === undefined ? undefined : this.#batches.get(`${t.deviceId}@${t.startedAt}`);
      return JSON.stringify({ run, ...t, ...(b ? { batchAt: b.at, batchExpectedMs: b.expectedMs, batchDurationMs: b.durationMs, batchRunMs: b.runMs } : {}) });
    });
    this.#done = [];
    this.#batches.clear();
    if (lines.length > 0) appendFileSync(this.#file, lines.join('\n') + '\n');
  }
}
