import { performance } from 'node:perf_hooks';
import { EparaError, toEparaError, type NamedTensors } from '@epara/core';
import { splitTensors, stackTensors, type BatchAxes, type DeviceHandle } from '@epara/runtime';

/** Options of {@link createTritonBatcher}: one model instance on one device, configured as Triton documents it. */
export interface TritonBatcherOptions {
  readonly device: DeviceHandle;
  /** Key of the model loaded on the device. */
  readonly modelKey: string;
  /** `max_batch_size`: the largest batch whose measured latency fits the SLO. */
  readonly maxBatch: number;
  /** `max_queue_delay_microseconds`, in ms. */
  readonly maxQueueDelayMs: number;
  /** Batch axis of each input and output (`null`: shared by the batch, e.g. a sample rate). Default axis 0. */
  readonly axes?: BatchAxes;
}

interface Queued {
  readonly inputs: NamedTensors;
  readonly enqueuedAt: number;
  /** Queue policy timeout of this request (`allow_timeout_override`: its own SLO), ms. */
  readonly timeoutMs: number;
  readonly resolve: (out: NamedTensors) => void;
  readonly reject: (err: EparaError) => void;
}

/** A running Triton-like dynamic batcher. */
export interface TritonBatcher {
  /** Queues a request; rejects with `DEADLINE_EXCEEDED` when it times out in the queue (REJECT action). */
  submit(inputs: NamedTensors, timeoutMs: number): Promise<NamedTensors>;
  /** Rejects what is queued with `CLOSED` and stops the timer (the device is closed by its owner). */
  close(): void;
  readonly stats: { batches: number; items: number };
}

/**
 * Triton's dynamic batcher for one model instance: a FIFO queue; when the instance is free it runs
 * `max_batch_size` requests if that many wait, otherwise everything queued once the oldest request has waited
 * `max_queue_delay`. Requests that waited longer than their timeout are rejected before running (queue policy
 * `timeout_action: REJECT`); a request that started running always completes, late or not.
 */
export function createTritonBatcher(o: TritonBatcherOptions): TritonBatcher {
  const queue: Queued[] = [];
  const axes = o.axes ?? {};
  const stats = { batches: 0, items: 0 };
  let busy = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const expire = (now: number): void => {
    for (let i = queue.length - 1; i >= 0; i--) {
      const q = queue[i]!;
      if (now - q.enqueuedAt < q.timeoutMs) continue;
      queue.splice(i, 1);
      q.reject(new EparaError('DEADLINE_EXCEEDED', 'request timed out in the queue (timeout_action: REJECT)'));
    }
  };

  const run = (items: Queued[]): void => {
    busy = true;
    stats.batches++;
    stats.items += items.length;
    const feeds = stackTensors(items.map((q) => q.inputs), axes);
    o.device
      .run(o.modelKey, feeds)
      .then(
        (outputs) => splitTensors(outputs, items.length, axes).forEach((out, i) => items[i]!.resolve(out)),
        (err: unknown) => items.forEach((q) => q.reject(toEparaError(err))),
      )
      .finally(() => {
        busy = false;
        pump();
      });
  };

  const pump = (): void => {
    if (closed) return;
    const now = performance.now();
    expire(now);
    if (busy || queue.length === 0) return;
    const waited = now - queue[0]!.enqueuedAt;
    if (queue.length >= o.maxBatch || waited >= o.maxQueueDelayMs) return run(queue.splice(0, o.maxBatch));
    clearTimeout(timer);
    timer = setTimeout(pump, o.maxQueueDelayMs - waited);
  };

  return {
    stats,
    submit(inputs, timeoutMs) {
      if (closed) return Promise.reject(new EparaError('CLOSED', 'the batcher is closed'));
      return new Promise<NamedTensors>((resolve, reject) => {
        queue.push({ inputs, enqueuedAt: performance.now(), timeoutMs, resolve, reject });
        pump();
      });
    },
    close() {
      closed = true;
      clearTimeout(timer);
      for (const q of queue.splice(0)) q.reject(new EparaError('CLOSED', 'the batcher is closed'));
    },
  };
}
