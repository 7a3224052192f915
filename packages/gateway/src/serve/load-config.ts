import { readFileSync } from 'node:fs';
import { EparaError } from '@epara/core';
import { LineCounter, parseDocument } from 'yaml';
import type { ZodIssue } from 'zod';
import { serveConfigSchema } from './config-schema.js';
import type { ServeConfig } from './config-schema.js';

/** One problem of a config file, located. */
export interface ConfigProblem {
  /** Dotted path of the field, e.g. `services[0].slo.deadlineMs`. */
  readonly field: string;
  /** 1-based line and column of the field (or of its closest parent present in the file). */
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/**
 * Parses and validates a config text (YAML, or JSON — which YAML reads too).
 * @throws EparaError `INVALID_OPTIONS` whose message lists each problem as `file:line:col field: message`
 * and whose `details.problems` holds them as {@link ConfigProblem}s.
 */
export function parseServeConfig(text: string, fileName = 'config'): ServeConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e): ConfigProblem => {
      const pos = lines.linePos(e.pos[0]);
      return { field: '(syntax)', line: pos.line, column: pos.col, message: e.message.split('\n')[0]! };
    });
    throw configError(fileName, problems);
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (err) {
    // The yaml library refuses to expand aliases past a limit (an alias bomb: a few lines that expand to billions
    // of values) with a ReferenceError: a problem of the file like any other, not a crash.
    throw configError(fileName, [{ field: '(syntax)', line: 1, column: 1, message: `the document cannot be read: ${(err as Error).message}` }]);
  }
  const result = serveConfigSchema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => expand(issue)).map((issue): ConfigProblem => {
    const pos = locate(doc, lines, issue.path);
    return { field: fieldName(issue.path) || '(root)', line: pos.line, column: pos.col, message: issue.message };
  });
  throw configError(fileName, problems);
}

/** Reads, parses and validates a config file. @throws EparaError `INVALID_OPTIONS` (see {@link parseServeConfig}). */
export function loadServeConfig(path: string): ServeConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new EparaError('INVALID_OPTIONS', `cannot read config ${path}: ${(err as Error).message}`, { field: 'config' });
  }
  return parseServeConfig(text, path);
}

/** A union's issues are reported by their branches' (the branch that got furthest), so the message names a field. */
function expand(issue: ZodIssue): ZodIssue[] {
  if (issue.code !== 'invalid_union' || issue.unionErrors.length === 0) return [issue];
  const best = [...issue.unionErrors].sort((a, b) => depth(b.issues) - depth(a.issues))[0]!;
  return best.issues.flatMap(expand);
}

function depth(issues: readonly ZodIssue[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length - (i.code === 'unrecognized_keys' ? 1 : 0)));
}

function locate(doc: ReturnType<typeof parseDocument>, lines: LineCounter, path: readonly (string | number)[]): { line: number; col: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : (doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) return lines.linePos(range[0]);
  }
  return { line: 1, col: 1 };
}

function fieldName(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function configError(fileName: string, problems: readonly ConfigProblem[]): EparaError {
  const text = problems.map((p) => `${fileName}:${p.line}:${p.column} ${p.field}: ${p.message}`).join('\n');
  return new EparaError('INVALID_OPTIONS', `invalid config ${fileName}:\n${text}`, { field: problems[0]?.field ?? 'config', problems });
}
