import { createTracing, loadOtelApi, NO_TRACING } from '@epara/core/internal';
import type { Tracing } from '@epara/core/internal';

let current: Tracing = NO_TRACING;
let loading: Promise<Tracing> | undefined;

/** The runtime's tracing now: {@link NO_TRACING} until `@opentelemetry/api` has loaded, or when it is not installed. */
export function runtimeTracing(): Tracing {
  return current;
}

/**
 * Loads `@opentelemetry/api` once (resolved from this package, which declares it as an optional peer). An
 * executor starts this when it is created and waits for it in `start()`.
 */
export function loadRuntimeTracing(): Promise<Tracing> {
  loading ??= loadOtelApi((name) => import(name)).then((api) => (current = createTracing(api, '@epara/runtime')));
  return loading;
}
