import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
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
 * Typechecks every ```ts block of every `docs/*.md` guide in one compiler program against the workspace
 * sources (`@epara/*` → `packages/*\/src`). Each block (plus its `continued` blocks) becomes a module in
 * `.tmp/doc-snippets/`; errors are mapped back to the guide's file and line.
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
  const program = ts.createProgram(units.map((u) => u.file), compilerOptions(root));
  const errors: SnippetError[] = [];
  for (const unit of units) {
    const source = program.getSourceFile(unit.file)!;
    for (const d of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
      const line = d.start === undefined ? 0 : source.getLineAndCharacterOfPosition(d.start).line;
      errors.push({ where: unit.origin[line] ?? relative(root, unit.file), message: ts.flattenDiagnosticMessageText(d.messageText, '\n') });
    }
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

function compilerOptions(root: string): ts.CompilerOptions {
  const base = ts.readConfigFile(join(root, 'tsconfig.base.json'), (p) => readFileSync(p, 'utf8'));
  const { options } = ts.parseJsonConfigFileContent(base.config, ts.sys, root);
  const src = (pkg: string) => [join(root, 'packages', pkg, 'src', 'index.ts')];
  return {
    ...options,
    noEmit: true,
    types: ['node'],
    // A guide may name a value only to show it; unused names are not errors in prose.
    noUnusedLocals: false,
    noUnusedParameters: false,
    paths: { '@epara/core': src('core'), '@epara/runtime': src('runtime'), '@epara/mesh': src('mesh'), '@epara/sim': src('sim'), '@epara/gateway': src('gateway') },
  };
}
