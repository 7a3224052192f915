import type { EparaErrorCode, TraceContext } from '@epara/core';
import type { ItemDone } from '../batching/work-item.js';
import type { RequestCompletedEvent } from '../executor/executor-events.js';
import { runtimeTracing } from './runtime-tracing.js';

/** One settled request as the executor knows it at the moment it settles. */
export interface Completion {
  readonly serviceId: string;
  readonly enqueuedAt: number;
  readonly finishedAt: number;
  readonly outcome: 'ok' | EparaErrorCode;
  readonly done?: ItemDone | undefined;
  readonly trace?: TraceContext | undefined;
}

/**
 * Reports one settled request: the `requestCompleted` event (only built when something listens) and, when the
 * request carries a `traceparent` and a tracer provider records, its queue-wait and device-run spans, placed
 * after the fact from the executor clock's timestamps.
 *
 * @param listening whether `requestCompleted` has listeners.
 * @param nowMs the executor clock now, to convert its timestamps to epoch ms for the spans.
 */
export function reportCompletion(c: Completion, listening: boolean, emit: (e: RequestCompletedEvent) => void, nowMs: number): void {
  if (listening) {
    const d = c.done;
    emit({
      serviceId: c.serviceId,
      outcome: c.outcome,
      enqueuedAt: c.enqueuedAt,
      finishedAt: c.finishedAt,
      ...(d ? { startedAt: d.startedAt, batchSize: d.batchSize, deviceId: d.deviceId } : {}),
      ...(c.trace ? { trace: c.trace } : {}),
    });
  }
  if (c.trace?.traceparent !== undefined) traceCompletion(c, nowMs);
}

function traceCompletion(c: Completion, nowMs: number): void {
  const tracing = runtimeTracing();
  if (!tracing.enabled) return;
  const epoch = Date.now() - nowMs; // executor clock → epoch ms
  const d = c.done;
  const queuedUntil = d ? d.startedAt : c.finishedAt;
  const attributes = { 'epara.service': c.serviceId };
  const queue = tracing.start('epara.queue', { parent: c.trace, startTime: epoch + c.enqueuedAt, attributes });
  queue?.end({ endTime: epoch + queuedUntil, ...(c.outcome === 'ok' || d ? {} : { error: c.outcome }) });
  if (!d) return;
  const run = tracing.start('epara.run', {
    parent: c.trace,
    startTime: epoch + d.startedAt,
    attributes: { ...attributes, 'epara.device': d.deviceId, 'epara.batch_size': d.batchSize },
  });
  run?.end({ endTime: epoch + d.finishedAt, ...(c.outcome === 'ok' ? {} : { error: c.outcome }) });
}
