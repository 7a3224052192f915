import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/*
 * Each package's root entry point exports what a host composes, at most MAX_ROOT_VALUES runtime values; the
 * rest lives behind documented subpaths (`@epara/core/scheduling`, `@epara/core/internal`, `@epara/mesh/wire`,
 * `@epara/mesh/testing`, `@epara/sim/engine`, ...). Imported through the package names (aliased to the sources),
 * so the count is what a host's `import * as m from '@epara/x'` sees.
 */
const MAX_ROOT_VALUES = 40;
const packagesDir = new URL('../../packages/', import.meta.url);

interface Manifest {
  readonly name: string;
  readonly private?: boolean;
  readonly exports?: Record<string, unknown>;
}

const manifests: Manifest[] = readdirSync(packagesDir).map(
  (dir) => JSON.parse(readFileSync(new URL(`${dir}/package.json`, packagesDir), 'utf8')) as Manifest,
);
// Vitest resolves each name through its alias, so the imports must be literal.
const roots: Record<string, () => Promise<Record<string, unknown>>> = {
  '@epara/core': () => import('@epara/core'),
  '@epara/runtime': () => import('@epara/runtime'),
  '@epara/mesh': () => import('@epara/mesh'),
  '@epara/mesh-nats': () => import('@epara/mesh-nats'),
  '@epara/gateway': () => import('@epara/gateway'),
  '@epara/dashboard': () => import('@epara/dashboard'),
  '@epara/sim': () => import('@epara/sim'),
};

describe('root entry points', () => {
  it('covers every published package', () => {
    const published = manifests.filter((m) => !m.private && m.exports?.['.'] !== undefined).map((m) => m.name);
    expect(Object.keys(roots).sort()).toEqual(published.sort());
  });

  for (const [name, load] of Object.entries(roots)) {
    it(`${name} exports at most ${MAX_ROOT_VALUES} runtime values`, async () => {
      const values = Object.keys(await load());
      expect(values.length).toBeGreaterThan(0);
      expect(values.length, `${name} exports ${values.length}: ${values.sort().join(', ')}`).toBeLessThanOrEqual(MAX_ROOT_VALUES);
    });
  }
});
