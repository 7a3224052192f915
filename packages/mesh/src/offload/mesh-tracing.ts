import { createTracing, loadOtelApi, NO_TRACING } from '@epara/core/internal';
import type { Tracing } from '@epara/core/internal';

let current: Tracing = NO_TRACING;
let loading: Promise<Tracing> | undefined;

/** The mesh's tracing now: {@link NO_TRACING} until `@opentelemetry/api` has loaded, or when it is not installed. */
export function meshTracing(): Tracing {
  return current;
}

/** Loads `@opentelemetry/api` once (resolved from this package, which declares it as an optional peer); `node.start()` waits for it. */
export function loadMeshTracing(): Promise<Tracing> {
  loading ??= loadOtelApi((name) => import(name)).then((api) => (current = createTracing(api, '@epara/mesh')));
  return loading;
}
