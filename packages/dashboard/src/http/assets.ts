import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EparaError } from '@epara/core';

/** The page's bundled script and styles (built into `dist/web` by the package build). */
export interface DashboardAssets {
  readonly js: Buffer;
  readonly css: Buffer;
  /** The shared worker that holds one live stream for every tab of a browser. */
  readonly worker: Buffer;
}

/**
 * Reads the bundled assets shipped in the package: next to the built module (`dist/web`), or, when running
 * from sources (tests), from the package's `dist/web`.
 *
 * @throws EparaError `INTERNAL` when the package was not built.
 */
export function loadAssets(): DashboardAssets {
  const candidates = [new URL('./web/', import.meta.url), new URL('../../dist/web/', import.meta.url)];
  for (const dir of candidates) {
    const js = fileURLToPath(new URL('app.js', dir));
    const css = fileURLToPath(new URL('app.css', dir));
    const worker = fileURLToPath(new URL('stream.js', dir));
    if (existsSync(js) && existsSync(css) && existsSync(worker)) return { js: readFileSync(js), css: readFileSync(css), worker: readFileSync(worker) };
  }
  throw new EparaError('INTERNAL', '@epara/dashboard assets are missing: build the package (pnpm --filter @epara/dashboard build)', {
    looked: candidates.map((u) => fileURLToPath(u)),
  });
}
