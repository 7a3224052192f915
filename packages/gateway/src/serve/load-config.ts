import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
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
  const problems = result.error.issues.flatMap((issue) => expand(issue, value)).map((issue): ConfigProblem => {
    const pos = locate(doc, lines, issue.path);
    return { field: fieldName(issue.path) || '(root)', line: pos.line, column: pos.col, message: explain(issue, value) };
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

/**
 * A union's issues are reported by the branch the value is closest to (so the message names a field): the one
 * whose keys the value uses (fewest unknown and missing keys), then the one that got furthest into the value. A
 * value no branch takes at all (of another type than each) is one issue at the union's path, naming what each
 * branch expects: `insecure: "true"` was reported as the other branch's missing `psk`.
 */
function expand(issue: ZodIssue, root: unknown): ZodIssue[] {
  if (issue.code !== 'invalid_union' || issue.unionErrors.length === 0) return [issue];
  const branches = issue.unionErrors.map((e) => e.issues);
  const atRoot = (i: ZodIssue): boolean => i.path.length === issue.path.length && (i.code === 'invalid_type' || i.code === 'invalid_literal');
  if (branches.every((b) => b.length > 0 && b.every(atRoot))) {
    const expected = [...new Set(branches.flatMap((b) => b.map(expectedText)))];
    const v = valueAt(root, issue.path);
    return [{ code: 'custom', path: issue.path, message: v === undefined ? `required: expected ${expected.join(' or ')}` : `expected ${expected.join(' or ')}, got ${describe(v)}` }];
  }
  const best = [...branches].sort((a, b) => distance(a) - distance(b) || depth(b) - depth(a))[0]!;
  return best.flatMap((i) => expand(i, root));
}

/** How far a value is from a branch: the keys it has that the branch does not know, and those it lacks. */
function distance(issues: readonly ZodIssue[]): number {
  let n = 0;
  for (const i of issues) {
    if (i.code === 'unrecognized_keys') n += i.keys.length;
    else if (i.code === 'invalid_type' && i.received === 'undefined') n += 1;
  }
  return n;
}

function depth(issues: readonly ZodIssue[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length - (i.code === 'unrecognized_keys' ? 1 : 0)));
}

/**
 * An issue's message as the config's author reads it: for a value of the wrong type or outside the values a
 * field takes, the type or values expected and the value given (`expected true, got string "true"`); for a
 * number or a text out of bounds, the value given after zod's message.
 */
function explain(issue: ZodIssue, root: unknown): string {
  const v = valueAt(root, issue.path);
  switch (issue.code) {
    case 'invalid_type':
      return issue.received === 'undefined' ? `required: expected ${expectedText(issue)}` : `expected ${expectedText(issue)}, got ${describe(v)}`;
    case 'invalid_literal':
    case 'invalid_enum_value':
    case 'invalid_union_discriminator':
      return `expected ${expectedText(issue)}, got ${describe(v)}`;
    case 'too_small':
    case 'too_big':
    case 'not_finite':
    case 'not_multiple_of':
    case 'invalid_string':
      return v === undefined || typeof v === 'object' ? issue.message : `${issue.message}, got ${describe(v)}`;
    default:
      return issue.message;
  }
}

/** What an issue says the field takes: a type (`number`), a literal (`true`) or the values of an enum. */
function expectedText(issue: ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      // zod names an enum's or a literal's expected values in place of a type.
      return issue.expected.includes("'") ? `one of ${issue.expected}` : issue.expected;
    case 'invalid_literal':
      return typeof issue.expected === 'string' ? `'${issue.expected}'` : String(issue.expected);
    case 'invalid_enum_value':
    case 'invalid_union_discriminator':
      return `one of ${issue.options.map((o) => `'${String(o)}'`).join(' | ')}`;
    default:
      return issue.message;
  }
}

/** A value as a message shows it: its type, and itself when it is short (`string "true"`, `number 5`). */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v)}`;
  if (v === undefined) return 'nothing';
  return `${typeof v} ${String(v)}`;
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let v = root;
  for (const p of path) v = v !== null && typeof v === 'object' && Object.hasOwn(v, p) ? (v as Record<string | number, unknown>)[p] : undefined;
  return v;
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

/** The config's folder: the relative paths in it (models, keys, TLS files) are read from there (`startServer`'s `baseDir`). */
export const configDir = (configPath: string): string => dirname(resolve(configPath));
