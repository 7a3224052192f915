import { EparaError, invalidOption } from '../errors/epara-error.js';

/**
 * The part of a prom-client `Registry` that EPARA's metrics use. Structural, so that the packages' published
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

/**
 * Loads prom-client lazily, so hosts that never ask for metrics do not need it installed. The package that
 * declares the optional peer passes its own `import`, so the module resolves from where it is declared.
 *
 * @typeParam M the module's full type, as the calling package knows it.
 * @throws EparaError `INVALID_OPTIONS` when prom-client is not installed (install `prom-client@^15`, or pass
 * the module as `client`).
 */
export async function loadPromClient<M extends PromClient>(client: PromClient | undefined, importModule: (name: string) => Promise<unknown>): Promise<M> {
  if (client !== undefined) {
    if (typeof client.Registry !== 'function') invalidOption('client', client, 'the prom-client module');
    return client as M;
  }
  // A variable specifier keeps bundlers from inlining the optional peer.
  const name = 'prom-client';
  try {
    const mod = (await importModule(name)) as Partial<M> & { default?: M };
    const resolved = typeof mod.Registry === 'function' ? (mod as M) : mod.default;
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
