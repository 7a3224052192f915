#!/usr/bin/env node
// Fails on any import circle inside a package's sources (type-only imports count: a circle of declarations
// is where a factory and the interface it implements have ended up in each other's files). Uses madge.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import madge from 'madge';

const root = fileURLToPath(new URL('..', import.meta.url));
// Known debt, listed so that the check fails on every new circle (none today: the simulator's modules take the
// world's interface, declared apart from its class). Remove an entry when its circle is gone (the check fails on
// a stale entry too).
const KNOWN = new Set([]);
const seen = new Set();
const packages = readdirSync(join(root, 'packages'));
let circles = 0;
// One graph of every package's sources: per package, madge followed the workspace imports into the other packages
// and read core's files seven times over (about two thirds more CPU for the same circles). A circle is the
// depth-first search's stack between a file and one it reaches again, so it lies in one strongly connected part of
// the graph, and a package with a circle shows one here as it did alone; one across packages is reported too.
const result = await madge(
  packages.map((pkg) => join(root, 'packages', pkg, 'src')),
  {
    baseDir: join(root, 'packages'),
    fileExtensions: ['ts'],
    tsConfig: join(root, 'tsconfig.json'),
    excludeRegExp: [/\.test\.ts$/, /node_modules/],
    detectiveOptions: { ts: { skipTypeImports: false } },
  },
);
for (const circle of result.circular()) {
  // Paths are relative to packages/: `<pkg>/src/<file>`. A circle inside one package is named by its files under
  // that package's src/, as the list of known circles names them.
  const owners = new Set(circle.map((file) => file.split('/')[0]));
  const [pkg] = owners;
  const files = owners.size === 1 ? circle.map((file) => file.slice(`${pkg}/src/`.length)) : circle;
  const key = `${owners.size === 1 ? pkg : [...owners].join('+')}: ${files.join(' -> ')}`;
  seen.add(key);
  if (KNOWN.has(key)) continue;
  circles++;
  console.error(`import circle in ${owners.size === 1 ? `packages/${pkg}/src` : 'packages/'}: ${files.join(' -> ')} -> ${files[0]}`);
}
for (const key of KNOWN) {
  if (seen.has(key)) continue;
  circles++;
  console.error(`known import circle no longer found, remove it from the list: ${key}`);
}
if (circles > 0) {
  console.error(`${circles} import circle(s): move the declarations both sides need into a file of their own that both import`);
  process.exit(1);
}
console.log(`import circles: none new in ${packages.length} packages (${KNOWN.size} known, listed in ${relative(process.cwd(), fileURLToPath(import.meta.url))})`);
