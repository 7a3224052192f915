#!/usr/bin/env node
// Fails on any import circle inside a package's sources (type-only imports count: a circle of declarations
// is where a factory and the interface it implements have ended up in each other's files).
// One graph of every package's sources (tests left out): each file's imports, re-exports and `import()` calls (of
// values or types) as TypeScript's import scanner finds them, each resolved as the compiler resolves it under the
// repository's tsconfig.json (a package's name to its sources); a module outside the packages' sources is no node.
// Scanning the imports only (no syntax tree) is about a tenth of the CPU a full parse of every file took.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const packagesDir = join(root, 'packages');
// Known debt, listed so that the check fails on every new circle (none today: the simulator's modules take the
// world's interface, declared apart from its class). Remove an entry when its circle is gone (the check fails on
// a stale entry too).
const KNOWN = new Set([]);
const packages = readdirSync(packagesDir);

const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
const cache = ts.createModuleResolutionCache(root, (f) => f, config.options);
const isSource = (file) => /^[^/]+\/src\/.*\.ts$/.test(file) && !file.endsWith('.test.ts') && !file.endsWith('.d.ts') && !file.includes('/node_modules/');

/** Each source file (`<pkg>/src/<file>`, relative to packages/) and the source files it imports, in import order. */
const graph = new Map();
const sources = packages.flatMap((pkg) => readdirSync(join(packagesDir, pkg, 'src'), { recursive: true, encoding: 'utf8' }).map((f) => `${pkg}/src/${f.split('\\').join('/')}`)).filter(isSource).sort();
for (const file of sources) {
  const path = join(packagesDir, file);
  const deps = new Set();
  for (const { fileName } of ts.preProcessFile(readFileSync(path, 'utf8'), true, false).importedFiles) {
    const resolved = ts.resolveModuleName(fileName, path, config.options, ts.sys, cache).resolvedModule?.resolvedFileName;
    const dep = resolved && relative(packagesDir, resolved).split('\\').join('/');
    if (dep && isSource(dep)) deps.add(dep);
  }
  graph.set(file, [...deps]);
}

/**
 * The circles a depth-first search meets: each time an import leads back to a file still on the
 * search's stack, the stack from that file on. A graph with a circle always yields one.
 */
function circles(deps) {
  const found = [];
  const done = new Set();
  const stack = [];
  const onStack = new Set();
  const visit = (file) => {
    stack.push(file);
    onStack.add(file);
    for (const dep of deps.get(file) ?? []) {
      if (done.has(dep)) continue;
      if (onStack.has(dep)) found.push(stack.slice(stack.indexOf(dep)));
      else visit(dep);
    }
    stack.pop();
    onStack.delete(file);
    done.add(file);
  };
  for (const file of deps.keys()) if (!done.has(file)) visit(file);
  return found;
}

const seen = new Set();
let count = 0;
for (const circle of circles(graph)) {
  // A circle inside one package is named by its files under that package's src/, as the list of known circles names them.
  const owners = new Set(circle.map((file) => file.split('/')[0]));
  const [pkg] = owners;
  const files = owners.size === 1 ? circle.map((file) => file.slice(`${pkg}/src/`.length)) : circle;
  const key = `${owners.size === 1 ? pkg : [...owners].join('+')}: ${files.join(' -> ')}`;
  seen.add(key);
  if (KNOWN.has(key)) continue;
  count++;
  console.error(`import circle in ${owners.size === 1 ? `packages/${pkg}/src` : 'packages/'}: ${files.join(' -> ')} -> ${files[0]}`);
}
for (const key of KNOWN) {
  if (seen.has(key)) continue;
  count++;
  console.error(`known import circle no longer found, remove it from the list: ${key}`);
}
if (count > 0) {
  console.error(`${count} import circle(s): move the declarations both sides need into a file of their own that both import`);
  process.exit(1);
}
console.log(`import circles: none new in ${packages.length} packages (${KNOWN.size} known, listed in ${relative(process.cwd(), fileURLToPath(import.meta.url))})`);
