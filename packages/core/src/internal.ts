/**
 * `@epara/core/internal`: helpers that EPARA's own packages share (runtime, mesh, sim) and that a host has no
 * reason to call. No stability promise: they change with the packages that use them.
 *
 * @packageDocumentation
 */
export { loadPromClient } from './metrics/prom-client-port.js';
export type { PromClient, PromRegistry } from './metrics/prom-client-port.js';
export { attachShared, RecentUtilization } from './metrics/shared-metrics.js';
export type { SharedMetrics } from './metrics/shared-metrics.js';
export { loadOtelApi } from './tracing/otel-port.js';
export type { OtelApi, OtelSpan, OtelSpanContext, OtelTracer } from './tracing/otel-port.js';
export { createTracing, NO_TRACING } from './tracing/tracing.js';
export type { ActiveSpan, SpanKind, StartSpanOptions, Tracing } from './tracing/tracing.js';
