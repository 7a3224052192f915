import { existsSync, readFileSync } from 'node:fs';
import { EparaError } from '@epara/core';

let cached: URL | undefined;

/**
 * Locates the built worker script `dist/device-worker.js` of `@epara/runtime`, walking up from this module to
 * the package root. Works from the built package (`dist/`) and from sources run by a test runner (`src/…`),
 * which then still need `pnpm build` to have produced the worker.
 *
 * @throws EparaError `INTERNAL` when the package root or the built worker cannot be found.
 */
export function defaultWorkerUrl(): URL {
  if (cached) return cached;
  let dir = new URL('./', import.meta.url);
  for (let i = 0; i < 6; i++) {
    const pkg = new URL('package.json', dir);
    if (existsSync(pkg) && isRuntimePackage(pkg)) {
      const worker = new URL('dist/device-worker.js', dir);
      if (!existsSync(worker)) {
        throw new EparaError('INTERNAL', `device worker not built: ${worker.pathname} is missing (run \`pnpm build\`)`, {
          path: worker.pathname,
        });
      }
      cached = worker;
      return worker;
    }
    dir = new URL('../', dir);
  }
  throw new EparaError(
    'INTERNAL',
    'cannot locate the @epara/runtime package root to find its device worker (a bundled host copies dist/device-worker.js of @epara/runtime next to its bundle and passes its URL as the device option workerUrl)',
  );
}

function isRuntimePackage(url: URL): boolean {
  try {
    return (JSON.parse(readFileSync(url, 'utf8')) as { name?: string }).name === '@epara/runtime';
  } catch {
    return false;
  }
}
