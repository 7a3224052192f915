import { createLazyTracing } from '@epara/core/internal';
import type { Tracing } from '@epara/core/internal';

// `@opentelemetry/api` resolves from this package, which declares it as an optional peer.
const tracing = createLazyTracing('@epara/mesh', (name) => import(name));

/** The mesh's tracing now: `NO_TRACING` until `@opentelemetry/api` has loaded, or when it is not installed. */
export function meshTracing(): Tracing {
  return tracing.current();
}

/** Loads `@opentelemetry/api` once; `node.start()` waits for it. */
export function loadMeshTracing(): Promise<Tracing> {
  return tracing.load();
}
