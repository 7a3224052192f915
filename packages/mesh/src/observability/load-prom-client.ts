import { EparaError, invalidOption } from '@epara/core';

/**
 * The part of a prom-client `Registry` that EPARA's metrics use. Structural, so that this package's published
 * types stand alone: a host without the optional peer `prom-client` (or with `skipLibCheck: false`) still
 * typechecks, and a prom-client `Registry` is accepted as it is.
 */
export interface PromRegistry {
  metrics(): Promise<string>;
  readonly contentType: string;
  getMetricsAsArray(): readonly { readonly name: string }[];
  removeSingleMetric(name: string): void;
}

/** The prom-client module (an optional peer dependency) as EPARA needs it: `import('prom-client')` fits. */
export interface PromClient {
  readonly Registry: new () => PromRegistry;
}

/** The module's full type, for this package's own use; never part of a published signature. */
export type PromClientModule = typeof import('prom-client');

/**
 * Loads prom-client lazily, so hosts that never ask for metrics do not need it installed.
 *
 * @throws EparaError `INVALID_OPTIONS` when prom-client is not installed (install `prom-client@^15`, or pass
 * the module as `client`).
 * @param importModule how to import a module by name (tests pass one that fails). @default dynamic `import()`
 */
export async function loadPromClient(client?: PromClient, importModule: (name: string) => Promise<unknown> = (name) => import(name)): Promise<PromClientModule> {
  if (client !== undefined) {
    if (typeof client.Registry !== 'function') {
      invalidOption('client', client, 'the prom-client module');
    }
    return client as unknown as PromClientModule;
  }
  // A variable specifier keeps bundlers from inlining the optional peer.
  const name = 'prom-client';
  try {
    const mod = (await importModule(name)) as PromClientModule & { default?: PromClientModule };
    const resolved = typeof mod.Registry === 'function' ? mod : mod.default;
    if (typeof resolved?.Registry !== 'function') throw new Error('the module named prom-client has no Registry');
    return resolved;
  } catch (cause) {
    throw new EparaError(
      'INVALID_OPTIONS',
      'metrics need the optional peer dependency prom-client: run `pnpm add prom-client@^15` (or pass the module as options.client)',
      { field: 'client' },
      { cause },
    );
  }
}
