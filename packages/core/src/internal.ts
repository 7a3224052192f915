/**
 * `@epara/core/internal`: helpers that EPARA's own packages share (runtime, mesh, mesh-nats, sim) and that a host
 * composing EPARA has no reason to call: view merging, stamps and deltas (for view syncs), the duty-cycle rule,
 * abort-signal and error plumbing, metrics glue. No stability promise: they change with the packages that use them.
 *
 * @packageDocumentation
 */
export { loadPromClient } from './metrics/prom-client-port.js';
export type { PromClient, PromRegistry } from './metrics/prom-client-port.js';
export { attachShared, RecentUtilization } from './metrics/shared-metrics.js';
export type { SharedMetrics } from './metrics/shared-metrics.js';
export { scrapeMetricFactories } from './metrics/scrape-metrics.js';
export type { LabelSetter, ScrapeMetricClient, ScrapeMetricFactories } from './metrics/scrape-metrics.js';
export { compareEntries, mergeEntry, mergeView, upsertEntry, entryAge, markDead } from './view/merge-view.js';
export { listView, slotsOf } from './view/entry-list.js';
export { stampOf, versionVector, viewDelta, applyDelta } from './view/view-delta.js';
export type { EntryStamp, VersionVector } from './view/view-delta.js';
export { dutyCycleFits, cycleLimitMs, timeShare } from './placement/duty-cycle.js';
export type { CycleItem } from './placement/duty-cycle.js';
export { checkSignal, isAbortSignalLike, signalError } from './errors/check-signal.js';
export { stacklessError } from './errors/stackless-error.js';
export { throughputAt } from './profiles/latency-profile.js';
export { isLogger } from './ports/logger.js';
export { tensorsByteLength } from './model/tensor.js';
export { usableMemoryBytes } from './allocation/strategy-options.js';
// The placement policy EPARA deploys: the mesh's coordinator and the simulator's EPARA run placeServices with it.
export { EPARA_PLACEMENT_OPTIONS } from './placement/options.js';
export { singleCapacity } from './categories/classify.js';
export { comparePlans } from './allocation/allocate.js';
export { inflateWait, routeRequestInto } from './routing/route-request.js';
export { RoutePlan } from './routing/route-plan.js';
export { indexedNetwork } from './routing/indexed-network.js';
export type { IndexedNetwork, IndexedNetworkInit } from './routing/indexed-network.js';
export type { RouteRejectCode } from './routing/route-plan.js';
export { parseTraceparent, formatTraceparent, sanitizeTraceContext } from './tracing/trace-context.js';
export { loadOtelApi } from './tracing/otel-port.js';
export type { OtelApi, OtelSpan, OtelSpanContext, OtelTracer } from './tracing/otel-port.js';
export { createTracing, NO_TRACING } from './tracing/tracing.js';
export { createLazyTracing } from './tracing/lazy-tracing.js';
export type { LazyTracing } from './tracing/lazy-tracing.js';
export type { ActiveSpan, SpanKind, StartSpanOptions, Tracing } from './tracing/tracing.js';
export { isStringTensor, tensorByteLength, utf8ByteLength } from './model/tensor.js';
export { floatToHalf, halfToFloat } from './model/half-float.js';
export { BATCH_DIM_NAME, LENGTH_DIM_NAME, mayBeBatchDim } from './model/dim-names.js';
export { decodeStringElements, encodeStringElements } from './model/string-elements.js';
export type { StringElementsFault } from './model/string-elements.js';
