import { existsSync, readFileSync } from 'node:fs';
import { EparaError } from '@epara/core';

let cached: URL | undefined;

/**
 * Locates the built zone worker `dist/zone-worker.js` of `@epara/sim`, walking up from this module to the
 * package root. Works from the built package and from sources run by a test runner (which then still need
 * `pnpm build` to have produced the worker).
 *
 * @throws EparaError `INTERNAL` when the package root or the built worker cannot be found.
 */
export function defaultZoneWorkerUrl(): URL {
  if (cached !== undefined) return cached;
  let dir = new URL('./', import.meta.url);
  for (let i = 0; i < 6; i++) {
    const pkg = new URL('package.json', dir);
    if (existsSync(pkg) && isSimPackage(pkg)) {
      const worker = new URL('dist/zone-worker.js', dir);
      if (!existsSync(worker)) throw new EparaError('INTERNAL', `zone worker not built: ${worker.pathname} is missing (run \`pnpm build\`)`, { path: worker.pathname });
      cached = worker;
      return worker;
    }
    dir = new URL('../', dir);
  }
  throw new EparaError('INTERNAL', 'cannot locate the @epara/sim package root to find its zone worker (a bundled host copies dist/zone-worker.js of @epara/sim next to its bundle and passes its URL as the option workerUrl)');
}

function isSimPackage(url: URL): boolean {
  try {
    return (JSON.parse(readFileSync(url, 'utf8')) as { name?: string }).name === '@epara/sim';
  } catch {
    return false;
  }
}
