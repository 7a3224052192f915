import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/** A name a snippet may use without importing it, and where it comes from. */
interface Importable {
  readonly from: string;
  readonly typeOnly: boolean;
}

/** Node built-ins guides commonly use; everything else must be imported in the snippet. */
const NODE_NAMES: Record<string, string> = {
  readFileSync: 'node:fs',
  writeFileSync: 'node:fs',
  existsSync: 'node:fs',
  createServer: 'node:http',
  join: 'node:path',
  dirname: 'node:path',
  fileURLToPath: 'node:url',
};

/**
 * Every published entry point of the workspace packages (`@epara/mesh`, `@epara/mesh/wire`, …) and its source
 * file, read from each package's `exports` map: `./dist/x.js` is built from `./src/x.ts`.
 */
export function workspaceEntryPoints(root: string): Map<string, string> {
  const entries = new Map<string, string>();
  const packagesDir = join(root, 'packages');
  for (const dir of readdirSync(packagesDir)) {
    const manifestPath = join(packagesDir, dir, 'package.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { name: string; exports?: Record<string, { import?: string }> };
    for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
      const built = target.import?.match(/^\.\/dist\/(.+)\.js$/);
      const source = built && join(packagesDir, dir, 'src', `${built[1]}.ts`);
      if (source && existsSync(source)) entries.set(subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`, source);
    }
  }
  return entries;
}

/** Public names of the workspace packages, read from the curated export lists of their entry points (the root entry wins a clash). */
export function publicNames(root: string): Map<string, Importable> {
  const names = new Map<string, Importable>();
  const entries = [...workspaceEntryPoints(root)].sort(([a], [b]) => a.split('/').length - b.split('/').length);
  for (const [specifier, file] of entries) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/export\s+(type\s+)?\{([^}]*)\}/g)) {
      for (const part of m[2]!.split(',')) {
        const spec = part.trim().replace(/^type\s+/, '');
        const name = spec.split(/\s+as\s+/).pop()!.trim();
        if (name && !names.has(name)) names.set(name, { from: specifier, typeOnly: m[1] !== undefined || /^\s*type\s/.test(part) });
      }
    }
  }
  for (const [name, from] of Object.entries(NODE_NAMES)) if (!names.has(name)) names.set(name, { from, typeOnly: false });
  return names;
}

/**
 * The import lines a snippet needs for the public names it uses but neither imports nor declares (like the
 * hidden lines of a Rust doc-test): guides stay short, and a wrong name or signature still fails the check.
 */
export function autoImports(code: string, names: ReadonlyMap<string, Importable>): string[] {
  const source = ts.createSourceFile('snippet.ts', code, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const declared = new Set<string>();
  for (const st of source.statements) {
    if (ts.isImportDeclaration(st)) {
      const b = st.importClause;
      if (b?.name) declared.add(b.name.text);
      if (b?.namedBindings && ts.isNamedImports(b.namedBindings)) b.namedBindings.elements.forEach((e) => declared.add(e.name.text));
      if (b?.namedBindings && ts.isNamespaceImport(b.namedBindings)) declared.add(b.namedBindings.name.text);
    } else if (ts.isVariableStatement(st)) {
      st.declarationList.declarations.forEach((d) => bindingNames(d.name, declared));
    } else if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st) || ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) && st.name) {
      declared.add(st.name.text);
    }
  }
  const used = new Set<string>();
  const visit = (n: ts.Node): void => {
    if (ts.isIdentifier(n)) used.add(n.text);
    n.forEachChild(visit);
  };
  source.forEachChild(visit);
  const byModule = new Map<string, { values: string[]; types: string[] }>();
  for (const name of used) {
    const found = names.get(name);
    if (!found || declared.has(name)) continue;
    const entry = byModule.get(found.from) ?? { values: [], types: [] };
    (found.typeOnly ? entry.types : entry.values).push(name);
    byModule.set(found.from, entry);
  }
  const lines: string[] = [];
  for (const [from, { values, types }] of byModule) {
    if (values.length > 0) lines.push(`import { ${values.sort().join(', ')} } from '${from}';`);
    if (types.length > 0) lines.push(`import type { ${types.sort().join(', ')} } from '${from}';`);
  }
  return lines;
}

function bindingNames(name: ts.BindingName, into: Set<string>): void {
  if (ts.isIdentifier(name)) into.add(name.text);
  else name.elements.forEach((e) => !ts.isOmittedExpression(e) && bindingNames(e.name, into));
}
