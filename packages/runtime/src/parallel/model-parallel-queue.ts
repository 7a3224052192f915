import type { AbortSignalLike } from '@epara/core';
import { EparaError, type NamedTensors } from '@epara/core';
import { shedError } from '../executor/shed-error.js';

/** A request waiting at (or dispatched from) the pipeline entry. */
export interface QueuedItem {
  readonly inputs: NamedTensors;
  readonly rows: number;
  readonly signature: string;
  readonly deadline: number;
  readonly priority: number;
  readonly seq: number;
  /** Settles the caller's promise once (later calls are ignored). */
  settle(error: EparaError | undefined, outputs?: NamedTensors): void;
}

/** A batch the entry queue could launch now. */
export interface BatchCandidate {
  readonly items: QueuedItem[];
  readonly rows: number;
  readonly earliestDeadline: number;
}

/** Earliest-deadline-first queue of requests with abort handling. */
export interface EntryQueue {
  add(request: { inputs: NamedTensors; rows: number; signature: string; deadline: number; priority: number; signal?: AbortSignalLike }): Promise<NamedTensors>;
  size(): number;
  /** Total queued rows. */
  rows(): number;
  /** Removes and rejects (`DEADLINE_EXCEEDED`) every request that cannot finish in time if launched now. */
  dropExpired(now: number, passMs: (rows: number) => number): QueuedItem[];
  /** The head request plus following requests of the same signature, up to `batchSize` rows. */
  peekBatch(batchSize: number): BatchCandidate | undefined;
  /** Removes the given requests (they are now dispatched). */
  take(items: QueuedItem[]): QueuedItem[];
  /** Rejects every queued request with `error`. */
  rejectAll(error: EparaError): void;
}

/** Creates an {@link EntryQueue}: order by deadline, then higher priority, then arrival. */
export function createEntryQueue(): EntryQueue {
  let items: QueuedItem[] = [];
  let seq = 0;
  const remove = (item: QueuedItem): boolean => {
    const i = items.indexOf(item);
    if (i >= 0) items.splice(i, 1);
    return i >= 0;
  };
  return {
    add(request) {
      return new Promise<NamedTensors>((resolve, reject) => {
        let done = false;
        const onAbort = (): void => {
          remove(item);
          item.settle(new EparaError('ABORTED', 'the caller aborted the request'));
        };
        const item: QueuedItem = {
          inputs: request.inputs,
          rows: request.rows,
          signature: request.signature,
          deadline: request.deadline,
          priority: request.priority,
          seq: seq++,
          settle(error, outputs) {
            if (done) return;
            done = true;
            request.signal?.removeEventListener('abort', onAbort);
            if (error) reject(error);
            else resolve(outputs!);
          },
        };
        request.signal?.addEventListener('abort', onAbort, { once: true });
        const at = items.findIndex((o) => o.deadline > item.deadline || (o.deadline === item.deadline && o.priority < item.priority));
        if (at < 0) items.push(item);
        else items.splice(at, 0, item);
      });
    },
    size: () => items.length,
    rows: () => items.reduce((n, it) => n + it.rows, 0),
    dropExpired(now, passMs) {
      const expired = items.filter((it) => now + passMs(it.rows) > it.deadline);
      if (expired.length === 0) return expired;
      items = items.filter((it) => !expired.includes(it));
      for (const it of expired) it.settle(shedError('DEADLINE_EXCEEDED', 'dropped: the request can no longer meet its deadline', { deadline: it.deadline, at: now }));
      return expired;
    },
    peekBatch(batchSize) {
      const head = items[0];
      if (head === undefined) return undefined;
      const chosen = [head];
      let rows = head.rows;
      for (const it of items.slice(1)) {
        if (it.signature !== head.signature || rows + it.rows > batchSize) continue;
        chosen.push(it);
        rows += it.rows;
      }
      return { items: chosen, rows, earliestDeadline: head.deadline };
    },
    take(chosen) {
      const set = new Set(chosen);
      items = items.filter((it) => !set.has(it));
      return chosen;
    },
    rejectAll(error) {
      const all = items;
      items = [];
      for (const it of all) it.settle(error);
    },
  };
}
