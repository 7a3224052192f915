import { EparaError, invalidOption } from '@epara/core';

/** The prom-client module (an optional peer dependency), as `import('prom-client')` returns it. */
export type PromClient = typeof import('prom-client');

/**
 * Loads prom-client lazily, so hosts that never ask for metrics do not need it installed.
 *
 * @throws EparaError `INVALID_OPTIONS` when prom-client is not installed (install `prom-client@^15`, or pass
 * the module as `client`).
 * @param importModule how to import a module by name (tests pass one that fails). @default dynamic `import()`
 */
export async function loadPromClient(client?: PromClient, importModule: (name: string) => Promise<unknown> = (name) => import(name)): Promise<PromClient> {
  if (client !== undefined) {
    if (typeof client.Registry !== 'function') {
      invalidOption('client', client, 'the prom-client module');
    }
    return client;
  }
  // A variable specifier keeps bundlers from inlining the optional peer.
  const name = 'prom-client';
  try {
    const mod = (await importModule(name)) as PromClient & { default?: PromClient };
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
