/**
 * A Triton-like dynamic batcher, the "Triton-like" baseline of docs/simulator.md, configured as Triton documents
 * it: one model instance on one device (a worker-thread device, so inference is off the event loop as in
 * Triton's C++ server), `max_batch_size` = the largest batch whose latency fits the SLO, a
 * `max_queue_delay_microseconds` (the caller sweeps 0, 1, 5, 10 ms and reports the best), FIFO queue, and a
 * queue policy with `timeout_action: REJECT` whose timeout is each request's SLO (`allow_timeout_override`).
 * When the instance is free it takes `max_batch_size` requests if that many wait, otherwise everything
 * queued once the oldest request has waited the max queue delay.
 *
 * Two knobs a Triton user tunes for overload (the caller sweeps them too): `queueTimeoutMarginMs` sets each
 * request's queue timeout to its SLO minus that margin (typically the run time of a full batch, so a request
 * that could only finish late is rejected instead of run), and `maxQueueSize` (Triton's `max_queue_size`:
 * a request arriving at a full queue is rejected at once). With neither, FIFO under a sustained overload
 * serves mostly requests that are about to expire, and they finish late.
 */
import { performance } from 'node:perf_hooks';
import type { TensorLike } from '@epara/core';
import { concatAlong, sliceAlong, type DeviceHandle } from '@epara/runtime';

interface Queued {
  readonly input: TensorLike;
  readonly enqueuedAt: number;
  readonly timeoutMs: number;
  readonly resolve: (out: TensorLike) => void;
  readonly reject: (err: Error) => void;
}

/** A running Triton-like batcher. */
export interface TritonLikeServer {
  submit(input: TensorLike, timeoutMs: number): Promise<TensorLike>;
}

/** Creates the batcher over a device on which `modelKey` is loaded (single input and single output). */
export function createTritonLikeServer(o: {
  device: DeviceHandle;
  modelKey: string;
  inputName: string;
  maxBatch: number;
  maxQueueDelayMs: number;
  /** Subtracted from each request's SLO to give its queue timeout, ms. @default 0 */
  queueTimeoutMarginMs?: number;
  /** Triton's `max_queue_size`: requests beyond it are rejected on arrival. @default unbounded */
  maxQueueSize?: number;
}): TritonLikeServer {
  const margin = o.queueTimeoutMarginMs ?? 0;
  const maxQueueSize = o.maxQueueSize ?? Number.POSITIVE_INFINITY;
  const queue: Queued[] = [];
  let busy = false;
  let timer: NodeJS.Timeout | undefined;

  const rejectTimedOut = (now: number): void => {
    for (let i = queue.length - 1; i >= 0; i--) {
      const q = queue[i]!;
      if (now - q.enqueuedAt >= q.timeoutMs) {
        queue.splice(i, 1);
        q.reject(new Error('request timed out in queue'));
      }
    }
  };

  const dispatch = (items: Queued[]): void => {
    busy = true;
    const feeds = { [o.inputName]: concatAlong(items.map((q) => q.input), 0) };
    o.device.run(o.modelKey, feeds).then(
      (outputs) => {
        const out = Object.values(outputs)[0]!;
        items.forEach((q, i) => q.resolve(sliceAlong(out, 0, i)));
      },
      (err: Error) => items.forEach((q) => q.reject(err)),
    ).finally(() => {
      busy = false;
      pump();
    });
  };

  const pump = (): void => {
    const now = performance.now();
    rejectTimedOut(now);
    if (busy || queue.length === 0) return;
    if (queue.length >= o.maxBatch) return dispatch(queue.splice(0, o.maxBatch));
    const waited = now - queue[0]!.enqueuedAt;
    if (waited >= o.maxQueueDelayMs) return dispatch(queue.splice(0, o.maxBatch));
    clearTimeout(timer);
    timer = setTimeout(pump, o.maxQueueDelayMs - waited);
  };

  return {
    submit(input, timeoutMs) {
      if (queue.length >= maxQueueSize) return Promise.reject(new Error('exceeds maximum queue size'));
      return new Promise((resolve, reject) => {
        queue.push({ input, enqueuedAt: performance.now(), timeoutMs: Math.max(0, timeoutMs - margin), resolve, reject });
        pump();
      });
    },
  };
}
