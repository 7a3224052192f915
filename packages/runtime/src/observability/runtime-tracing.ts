import { createLazyTracing } from '@epara/core/internal';
import type { Tracing } from '@epara/core/internal';

// `@opentelemetry/api` resolves from this package, which declares it as an optional peer.
const tracing = createLazyTracing('@epara/runtime', (name) => import(name));

/** The runtime's tracing now: `NO_TRACING` until `@opentelemetry/api` has loaded, or when it is not installed. */
export function runtimeTracing(): Tracing {
  return tracing.current();
}

/** Loads `@opentelemetry/api` once. An executor starts this when it is created and waits for it in `start()`. */
export function loadRuntimeTracing(): Promise<Tracing> {
  return tracing.load();
}
