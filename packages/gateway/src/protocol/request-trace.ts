import { randomUUID } from 'node:crypto';
import { sanitizeTraceContext } from '@epara/core/internal';
import type { TraceContext } from '@epara/core';
import { createLazyTracing } from '@epara/core/internal';

/** Header (and gRPC metadata key) of the request id, accepted from the client and always answered. */
export const REQUEST_ID_HEADER = 'x-request-id';
/** W3C trace context headers. */
export const TRACEPARENT_HEADER = 'traceparent';
export const TRACESTATE_HEADER = 'tracestate';

// `@opentelemetry/api` resolves from this package, which declares it as an optional peer.
const lazyTracing = createLazyTracing('@epara/gateway', (name) => import(name));

/** Loads `@opentelemetry/api` once, if installed (an optional peer); the gateway's `start()` waits for it. */
export async function loadGatewayTracing(): Promise<void> {
  await lazyTracing.load();
}

/** One front-door request's trace: the context to submit with, the headers to answer with, and its span's end. */
export interface RequestTrace {
  /** Passed to `node.submit`: the gateway span as parent when recording, else the client's context. */
  readonly context: TraceContext;
  /** `x-request-id` and, when there is one, `traceparent` for the response. */
  readonly responseHeaders: Readonly<Record<string, string>>;
  /** Ends the gateway span (no-op when tracing is off), with the error code when the request failed; only the first call counts. */
  end(error?: string): void;
}

/**
 * Reads the client's `x-request-id`, `traceparent` and `tracestate` (malformed values are ignored; a missing
 * request id is generated) and starts the `epara.gateway` server span when a tracer provider records. With
 * tracing off this is a header lookup and, without a client id, one `randomUUID()`.
 *
 * @param header reads one request header or metadata value by lowercase name.
 */
export function beginRequestTrace(header: (name: string) => string | undefined, model: string): RequestTrace {
  const incoming = sanitizeTraceContext({ traceparent: header(TRACEPARENT_HEADER), tracestate: header(TRACESTATE_HEADER), requestId: header(REQUEST_ID_HEADER) });
  const parent: TraceContext = incoming?.requestId !== undefined ? incoming : { ...incoming, requestId: randomUUID() };
  const tracing = lazyTracing.current();
  const span = tracing.enabled ? tracing.start('epara.gateway', { parent, kind: 'server', attributes: { 'epara.model': model } }) : undefined;
  const context = span?.context ?? parent;
  const responseHeaders: Record<string, string> = { [REQUEST_ID_HEADER]: context.requestId! };
  if (context.traceparent !== undefined) responseHeaders[TRACEPARENT_HEADER] = context.traceparent;
  let ended = false;
  const end = (error?: string): void => {
    if (ended) return;
    ended = true;
    span?.end(error === undefined ? {} : { error });
  };
  return { context, responseHeaders, end: span ? end : () => undefined };
}
