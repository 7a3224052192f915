#!/usr/bin/env node
// Fails when code reaches into another package's sources: a `packages/<name>/src/...` path imported from outside
// that package. Tests, benchmarks, examples and the other packages go through the published entry points
// (`@epara/mesh`, `@epara/mesh/testing`, ...), which vitest and tsconfig alias to the sources.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SCANNED = ['packages', 'test', 'bench', 'examples', 'scripts'];
const SKIP_DIRS = new Set(['node_modules', 'dist', '.stryker-tmp', 'coverage']);
const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
// Static imports and re-exports, side-effect imports, dynamic import() and `new URL('…', import.meta.url)`.
const SPECIFIERS = [
  /\bfrom\s+['"]([^'"]+)['"]/g,
  /\bimport\s+['"]([^'"]+)['"]/g,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  /\bnew\s+URL\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url/g,
];

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (SOURCE.test(name)) yield p;
  }
}

/** The package folder name whose `src/` holds `path`, or undefined. */
function srcPackageOf(path) {
  const parts = relative(root, path).split(sep);
  return parts[0] === 'packages' && parts[2] === 'src' ? parts[1] : undefined;
}

/** The package folder name that owns `file` (anywhere inside `packages/<name>/`), or undefined. */
function ownerOf(file) {
  const parts = relative(root, file).split(sep);
  return parts[0] === 'packages' ? parts[1] : undefined;
}

// Examples are what a host copies: they import only what the packages publish (a subpath in `exports`), never
// `@epara/core/internal` (helpers shared between our own packages), and nothing outside `examples/` — except
// their tests, which may use the repository's test helpers.
const published = new Map();
for (const dir of readdirSync(join(root, 'packages'))) {
  try {
    const manifest = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));
    published.set(manifest.name, new Set(Object.keys(manifest.exports ?? {})));
  } catch {
    // not a package folder
  }
}
const NOT_FOR_HOSTS = new Set(['@epara/core/internal']);

/** Why an example's import `spec` is not allowed, or undefined. */
function exampleImportProblem(file, spec) {
  if (spec.startsWith('.')) {
    const target = relative(root, resolve(dirname(file), spec)).split(sep);
    if (target[0] === 'examples' || (target[0] === 'test' && /\.test\.ts$/.test(file))) return undefined;
    return `reaches outside examples/ (${target.join('/')})`;
  }
  const match = /^(@epara\/[^/]+)(\/.*)?$/.exec(spec);
  if (!match) return undefined;
  if (NOT_FOR_HOSTS.has(spec)) return 'is shared between EPARA packages only, not for hosts';
  const subpaths = published.get(match[1]);
  if (!subpaths) return 'is not a published package';
  return subpaths.has(`.${match[2] ?? ''}`) ? undefined : `is not in ${match[1]}'s exports (${[...subpaths].join(', ')})`;
}

const problems = [];
for (const top of SCANNED) {
  let stat;
  try {
    stat = statSync(join(root, top));
  } catch {
    continue;
  }
  if (!stat.isDirectory()) continue;
  for (const file of walk(join(root, top))) {
    const text = readFileSync(file, 'utf8');
    const owner = ownerOf(file);
    for (const re of SPECIFIERS) {
      for (const match of text.matchAll(re)) {
        const spec = match[1];
        if (top === 'examples') {
          const why = exampleImportProblem(file, spec);
          if (why) problems.push(`${relative(root, file)}:${text.slice(0, match.index).split('\n').length} imports ${spec}, which ${why}`);
        }
        if (!spec.startsWith('.')) continue;
        const target = srcPackageOf(resolve(dirname(file), spec));
        if (target === undefined || target === owner) continue;
        const line = text.slice(0, match.index).split('\n').length;
        problems.push(`${relative(root, file)}:${line} imports ${spec} — use the @epara/${target} entry points`);
      }
    }
  }
}
if (problems.length > 0) {
  console.error(`package boundaries: ${problems.length} import(s) of another package's sources or unpublished entry points\n${problems.join('\n')}`);
  process.exit(1);
}
console.log('package boundaries: no imports of another package\'s sources; examples use published entry points only');
