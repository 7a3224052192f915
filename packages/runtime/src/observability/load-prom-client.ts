import { loadPromClient as load } from '@epara/core/internal';
import type { PromClient } from '@epara/core/internal';

export type { PromClient, PromRegistry } from '@epara/core/internal';

/** The module's full type, for this package's own use; never part of a published signature. */
export type PromClientModule = typeof import('prom-client');

/**
 * Loads prom-client, resolved from this package (which declares it as an optional peer).
 *
 * @throws EparaError `INVALID_OPTIONS` when prom-client is not installed.
 * @param importModule how to import a module by name (tests pass one that fails). @default dynamic `import()`
 */
export function loadPromClient(client?: PromClient, importModule: (name: string) => Promise<unknown> = (name) => import(name)): Promise<PromClientModule> {
  return load<PromClientModule>(client, importModule);
}
