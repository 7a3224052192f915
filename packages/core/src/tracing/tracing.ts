import type { OtelApi, OtelSpan, OtelTracer } from './otel-port.js';
import { formatTraceparent, parseTraceparent, type TraceContext } from './trace-context.js';

/** What kind of step a span is (OpenTelemetry's `SpanKind`). */
export type SpanKind = 'internal' | 'server' | 'client' | 'consumer';

const KIND: Readonly<Record<SpanKind, number>> = { internal: 0, server: 1, client: 2, consumer: 4 };
/** OpenTelemetry's `SpanStatusCode.ERROR`. */
const STATUS_ERROR = 2;

/** Options of {@link Tracing.start}. */
export interface StartSpanOptions {
  /** The request's context: the span becomes a child of its `traceparent` (else of the active context). */
  readonly parent?: TraceContext | undefined;
  readonly kind?: SpanKind;
  /** Start time, epoch ms. @default now */
  readonly startTime?: number;
  readonly attributes?: Readonly<Record<string, string | number | boolean>>;
}

/** A span that is recording. */
export interface ActiveSpan {
  /** The context to hand to the next hop: the parent's, with this span as its `traceparent`. */
  readonly context: TraceContext;
  setAttribute(key: string, value: string | number | boolean): void;
  /** Ends the span (at `endTime`, epoch ms, else now), marked as failed with `error` (an error code). */
  end(options?: { readonly endTime?: number; readonly error?: string }): void;
}

/**
 * Spans through OpenTelemetry's API. With no API module, or no tracer provider registered by the host,
 * `start` returns `undefined` and callers pass the request's context on unchanged: tracing costs nothing when
 * it is off.
 */
export interface Tracing {
  /** False when `@opentelemetry/api` is not installed: callers may skip all tracing work. */
  readonly enabled: boolean;
  /** Starts a span; `undefined` when nothing records it. */
  start(name: string, options?: StartSpanOptions): ActiveSpan | undefined;
}

/** Tracing that never records (no API module). */
export const NO_TRACING: Tracing = { enabled: false, start: () => undefined };

/**
 * Creates the tracing of one instrumentation scope (a package) over the OpenTelemetry API module.
 *
 * @param api `await loadOtelApi(...)`; `undefined` gives {@link NO_TRACING}.
 * @param scope the instrumentation scope's name, e.g. `@epara/runtime`.
 */
export function createTracing(api: OtelApi | undefined, scope: string): Tracing {
  if (api === undefined) return NO_TRACING;
  // The tracer follows the global provider, looked up at each span: the host may register it after we loaded
  // (and another copy of the API module registers it globally, not in this copy's own proxy).
  let provider: unknown;
  let tracer: OtelTracer | undefined;
  const current = (): OtelTracer => {
    const p = api.trace.getTracerProvider();
    if (p !== provider || tracer === undefined) [provider, tracer] = [p, p.getTracer(scope)];
    return tracer;
  };
  return { enabled: true, start: (name, options = {}) => startSpan(api, current(), name, options) };
}

function startSpan(api: OtelApi, tracer: OtelTracer, name: string, o: StartSpanOptions): ActiveSpan | undefined {
  const parent = parseTraceparent(o.parent?.traceparent);
  const ctx = parent ? api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId: parent.traceId, spanId: parent.spanId, traceFlags: parent.flags, isRemote: true }) : api.context.active();
  const span = tracer.startSpan(
    name,
    { kind: KIND[o.kind ?? 'internal'], ...(o.startTime !== undefined ? { startTime: o.startTime } : {}), ...(o.attributes ? { attributes: { ...o.attributes } } : {}) },
    ctx,
  );
  if (!span.isRecording()) return undefined;
  if (o.parent?.requestId !== undefined) span.setAttribute('epara.request_id', o.parent.requestId);
  return activeSpan(span, o.parent);
}

function activeSpan(span: OtelSpan, parent: TraceContext | undefined): ActiveSpan {
  const sc = span.spanContext();
  const context: TraceContext = { ...parent, traceparent: formatTraceparent({ traceId: sc.traceId, spanId: sc.spanId, flags: sc.traceFlags }) };
  return {
    context,
    setAttribute: (key, value) => void span.setAttribute(key, value),
    end(options = {}) {
      if (options.error !== undefined) {
        span.setAttribute('epara.error_code', options.error);
        span.setStatus({ code: STATUS_ERROR, message: options.error });
      }
      span.end(options.endTime);
    },
  };
}
