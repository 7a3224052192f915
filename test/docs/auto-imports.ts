import { readFileSync } from 'node:fs';
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

/** Public names of the workspace packages, read from their curated `src/index.ts` export lists. */
export function publicNames(root: string): Map<string, Importable> {
  const names = new Map<string, Importable>();
  for (const pkg of ['core', 'runtime', 'mesh', 'sim', 'gateway']) {
    const text = readFileSync(join(root, 'packages', pkg, 'src', 'index.ts'), 'utf8');
    for (const m of text.matchAll(/export\s+(type\s+)?\{([^}]*)\}/g)) {
      for (const part of m[2]!.split(',')) {
        const spec = part.trim().replace(/^type\s+/, '');
        const name = spec.split(/\s+as\s+/).pop()!.trim();
        if (name && !names.has(name)) names.set(name, { from: `@epara/${pkg}`, typeOnly: m[1] !== undefined || /^\s*type\s/.test(part) });
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
