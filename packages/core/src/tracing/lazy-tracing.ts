import { loadOtelApi } from './otel-port.js';
import { createTracing, NO_TRACING, type Tracing } from './tracing.js';

/** A package's tracing, loaded once on demand: {@link NO_TRACING} until then, or for good without the peer. */
export interface LazyTracing {
  /** The tracing now. */
  current(): Tracing;
  /** Loads `@opentelemetry/api` once; later calls return the same promise. */
  load(): Promise<Tracing>;
}

/**
 * The lazy loader each package keeps for its spans. `importModule` must be the package's own dynamic
 * `import()`, so that the optional peer resolves from the package that declares it.
 *
 * @example
 * ```ts
 * const tracing = createLazyTracing('@epara/mesh', (name) => import(name));
 * ```
 */
export function createLazyTracing(packageName: string, importModule: (name: string) => Promise<unknown>): LazyTracing {
  let current: Tracing = NO_TRACING;
  let loading: Promise<Tracing> | undefined;
  return {
    current: () => current,
    load: () => (loading ??= loadOtelApi(importModule).then((api) => (current = createTracing(api, packageName)))),
  };
}
