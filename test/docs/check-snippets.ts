import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { autoImports, publicNames } from './auto-imports.js';
import { extractSnippets } from './extract-snippets.js';
import type { Snippet } from './extract-snippets.js';

/** A compiler error located in a guide. */
export interface SnippetError {
  /** `docs/runtime.md:123` (guide line of the offending code). */
  readonly where: string;
  readonly message: string;
}

/** What {@link checkGuides} checked and found. */
export interface SnippetReport {
  readonly checked: number;
  readonly skipped: number;
  readonly errors: readonly SnippetError[];
  /** Written modules of blocks flagged `run` (with their `continued` blocks), for the test to import and execute. */
  readonly runnable: readonly { readonly where: string; readonly file: string }[];
}

interface Unit {
  readonly file: string;
  /** Guide line of each line of the file (0-based file line → 1-based guide location). */
  readonly origin: string[];
  readonly run: boolean;
}

/**
 * Typechecks every ```ts block of every `docs/*.md` guide in one compiler program against the packages' built
 * declarations (`@epara/*` → `packages/*\/dist`, see {@link compile}). Each block (plus its `continued` blocks)
 * becomes a module in `.tmp/doc-snippets/`; errors are mapped back to the guide's file and line.
 */
export function checkGuides(root: string): SnippetReport {
  const docs = join(root, 'docs');
  const outDir = join(root, '.tmp', 'doc-snippets');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const units: Unit[] = [];
  const names = publicNames(root);
  let skipped = 0;
  for (const name of readdirSync(docs).filter((f) => f.endsWith('.md')).sort()) {
    const guide = `docs/${name}`;
    let current: { lines: string[]; origin: string[]; run: boolean } | undefined;
    const flush = () => {
      if (!current) return;
      const file = join(outDir, `${name.replace(/\.md$/, '')}-${units.length}.ts`);
      const imports = autoImports(current.lines.join('\n'), names);
      // Relative imports in a guide are relative to the repository root (where its commands run).
      const lines = current.lines.map((l) => l.replace(/(from\s+|import\()(['"])\.\//g, '$1$2../../'));
      writeFileSync(file, [...imports, ...lines, 'export {};', ''].join('\n'));
      units.push({ file, origin: [...imports.map(() => `${guide} (auto-import)`), ...current.origin], run: current.run });
      current = undefined;
    };
    for (const s of extractSnippets(guide, readFileSync(join(docs, name), 'utf8'))) {
      if (s.flags.includes('no-check')) {
        skipped++;
        continue;
      }
      if (!s.flags.includes('continued')) flush();
      current ??= { lines: [], origin: [], run: false };
      current.run ||= s.flags.includes('run');
      append(current, s);
    }
    flush();
  }
  const errors: SnippetError[] = [];
  const byFile = new Map(units.map((u) => [u.file, u]));
  for (const d of compile(root, outDir, units.map((u) => u.file))) {
    const unit = byFile.get(d.file);
    // Any other error (the config, a declaration file) is no guide's: the check cannot be trusted, so it fails whole.
    if (!unit) throw new Error(`docs check: the compiler failed outside the guides' blocks: ${d.file}(${d.line + 1}): ${d.message}`);
    errors.push({ where: unit.origin[d.line] ?? relative(root, unit.file), message: d.message });
  }
  const runnable = units.filter((u) => u.run).map((u) => ({ where: u.origin.find((o) => /:\d+$/.test(o)) ?? u.file, file: u.file }));
  return { checked: units.length, skipped, errors, runnable };
}

function append(target: { lines: string[]; origin: string[] }, s: Snippet): void {
  for (const text of s.prelude === '' ? [] : s.prelude.split('\n')) {
    target.lines.push(text);
    target.origin.push(`${s.guide}:${s.line - 1} (doc-prelude)`);
  }
  s.code.split('\n').forEach((text, k) => {
    target.lines.push(text);
    target.origin.push(`${s.guide}:${s.line + k}`);
  });
}

/** A compiler error: the file (absolute), its 0-based line, the message (a chained message's lines joined). */
interface Diagnostic {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/**
 * Typechecks `files` in one program with TypeScript 7's compiler (the repository's typecheck compiler, `typescript7`),
 * under the repository's base options, each `@epara/*` entry point mapped to its built declaration file (what a
 * user compiles against: run `pnpm build` first). Returns every error it reports.
 */
function compile(root: string, outDir: string, files: readonly string[]): Diagnostic[] {
  const config = join(outDir, 'tsconfig.json');
  writeFileSync(
    config,
    JSON.stringify({
      extends: relative(outDir, join(root, 'tsconfig.base.json')),
      compilerOptions: {
        noEmit: true,
        types: ['node'],
        // A guide may name a value only to show it; unused names are not errors in prose.
        noUnusedLocals: false,
        noUnusedParameters: false,
        paths: Object.fromEntries([...workspaceDeclarations(root)].map(([specifier, file]) => [specifier, [file]])),
      },
      files: files.map((f) => relative(outDir, f)),
    }),
  );
  const tsc = join(root, 'node_modules', 'typescript7', 'bin', 'tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', config, '--pretty', 'false', '--singleThreaded'], { cwd: root, encoding: 'utf8' });
  if (run.error) throw run.error;
  const diagnostics: Diagnostic[] = [];
  for (const line of run.stdout.split('\n')) {
    const at = /^(.+)\((\d+),\d+\): error TS\d+: (.*)$/.exec(line);
    if (at) diagnostics.push({ file: resolve(root, at[1]!), line: Number(at[2]) - 1, message: at[3]! });
    else if (/^\s+\S/.test(line) && diagnostics.length > 0) {
      const last = diagnostics.pop()!;
      diagnostics.push({ ...last, message: `${last.message}\n${line.trim()}` });
    } else if (line.trim() !== '') diagnostics.push({ file: config, line: 0, message: line });
  }
  // An exit code without an error line (a crash, an unreadable config) is a failure of the check itself.
  if (run.status !== 0 && diagnostics.length === 0) throw new Error(`docs check: the compiler exited with ${String(run.status ?? run.signal)}: ${run.stderr}`);
  return diagnostics;
}

/** Each published `@epara/*` entry point and its built declaration file (the `types` of its `exports` entry). */
function workspaceDeclarations(root: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const dir of readdirSync(join(root, 'packages'))) {
    const manifestPath = join(root, 'packages', dir, 'package.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { name: string; exports?: Record<string, { types?: string }> };
    for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
      if (target.types === undefined) continue;
      const file = join(root, 'packages', dir, target.types);
      if (!existsSync(file)) throw new Error(`docs check: ${relative(root, file)} is missing: run pnpm build first`);
      entries.set(subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`, file);
    }
  }
  return entries;
}
