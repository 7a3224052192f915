// A Stryker checker (`checkers: ['epara-typescript']` in stryker.config.mjs): a mutant that does not compile is a
// `CompileError`, settled without running a test. It answers what @stryker-mutator/typescript-checker answers, for a
// fraction of the CPU: that checker drives TypeScript's solution builder in watch mode, which parses and binds every
// file of the program again on each check (@types/node and the lib files included) and waits out the builder's
// 250 ms debounce; a runtime mutant cost 0.6–2 s of CPU there (docs/testing.md, "What keeps a run cheap"). Here the program's
// source files are parsed and bound once and shared by every check, as TypeScript's language service shares them:
// a check builds a new program that reuses every file but the mutated one, and type-checks that file. Like the
// builder, it then checks the files that import it (transitively) only when the file's declaration output (its
// exported types) changed; a mutant inside a function body leaves it unchanged.
import { relative, resolve } from 'node:path';
import ts from 'typescript';
import { GROUPS as MUTATION_GROUPS, GROUPS_OF_RUN, tsconfigOf } from '../stryker.config.mjs';
import { inGroup } from './mutation-shared.mjs';

/** The options the mutated program is checked with: those of the config, less the code-quality ones (as Stryker's). */
const OVERRIDES = {
  allowUnreachableCode: true,
  noUnusedLocals: false,
  noUnusedParameters: false,
  // The declaration output of a mutated file says whether its importers need checking (emitted to memory only).
  declaration: true,
  emitDeclarationOnly: true,
  noEmit: false,
  declarationMap: false,
  incremental: false,
  composite: false,
};

const posix = (fileName) => fileName.replaceAll('\\', '/');
const formatHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\n' };

class EparaTypescriptChecker {
  static inject = ['logger', 'options'];
  #log;
  #tsconfigFile;
  /**
   * The programs: one per group of the run that has a program of its own (tsconfig.mutation-<group>.json), each with
   * the `mutate` globs of the groups it checks; one, the config's `tsconfigFile`, for a single group. A mutant is checked
   * in its group's program, as in the group's own run, whatever else the run mutates.
   */
  #programs = [];
  #host;
  /** The files being checked, mutated (file → text: one mutant per file); every other file comes from the cache. */
  #mutated = new Map();
  #cache = new Map();

  constructor(log, options) {
    this.#log = log;
    this.#tsconfigFile = resolve(options.tsconfigFile ?? 'tsconfig.json');
  }

  async init() {
    const configs = new Map();
    if (GROUPS_OF_RUN.length > 1 && process.env.MUTATION_GROUP !== undefined && process.env.MUTATION_GROUP !== 'all') {
      for (const g of GROUPS_OF_RUN) {
        const file = resolve(tsconfigOf(g));
        configs.set(file, [...(configs.get(file) ?? []), ...MUTATION_GROUPS[g]]);
      }
    } else configs.set(this.#tsconfigFile, undefined);
    for (const [file, globs] of configs) this.#programs.push({ globs, ...this.#build(file) });
    this.#log.debug(`epara-typescript: ${this.#programs.map((p) => p.files).join(' + ')} project files`);
  }

  /** One tsconfig's program, its files' importers, and its cache of declaration outputs. */
  #build(tsconfigFile) {
    const parsed = ts.getParsedCommandLineOfConfigFile(tsconfigFile, OVERRIDES, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.formatDiagnostics([d], formatHost));
      },
    });
    if (parsed.errors.length > 0) throw new Error(ts.formatDiagnostics(parsed.errors, formatHost));
    const options = parsed.options;
    const rootNames = parsed.fileNames;
    // One host for every program (their options differ only in the files they include): a file read once serves all.
    if (this.#host === undefined) {
      const host = ts.createCompilerHost(options, true);
      const read = host.getSourceFile.bind(host);
      host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
        const key = posix(fileName);
        const mutated = this.#mutated.get(key);
        if (mutated !== undefined) return ts.createSourceFile(fileName, mutated, languageVersion, true);
        if (!this.#cache.has(key)) this.#cache.set(key, read(fileName, languageVersion, onError, shouldCreate));
        return this.#cache.get(key);
      };
      host.writeFile = () => {};
      this.#host = host;
    }
    const program = ts.createProgram({ rootNames, options, host: this.#host });
    const errors = [...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics()];
    if (errors.length > 0) throw new Error(`TypeScript errors before any mutant: ${ts.formatDiagnostics(errors, formatHost)}`);
    /** Project file (posix) → the project files that import it. */
    const importers = new Map();
    const files = this.#projectFiles(program);
    for (const file of files) {
      for (const specifier of file.imports) {
        const target = program.getResolvedModuleFromModuleSpecifier(specifier, file)?.resolvedModule?.resolvedFileName;
        if (target === undefined) continue;
        const key = posix(target);
        if (!importers.has(key)) importers.set(key, new Set());
        importers.get(key).add(posix(file.fileName));
      }
    }
    return { program, rootNames, options, importers, declarations: new Map(), files: files.length };
  }

  /** The program a mutant's file is checked in: its group's. */
  #programOf(fileName) {
    if (this.#programs.length === 1) return this.#programs[0];
    const file = relative(process.cwd(), fileName).split('\\').join('/');
    return this.#programs.find((p) => inGroup(p.globs, file)) ?? this.#programs[0];
  }

  /**
   * Which mutants are checked together, in one program (Stryker calls `check` once per group). A mutant inside the body
   * of a function whose type the body cannot change (`sealedBody`: a written return type, or a setter) changes no type
   * outside that body: every error it causes lies in that function (its body, or its return type for a body that no
   * longer returns). Such mutants share a program when their bodies do not overlap — of different files, and of one
   * file in different functions — and each is judged on the diagnostics in its own function (an error in none of
   * them: each of that file's mutants is checked alone again). A check's cost was mostly the new program's type checker working out again, for the file, the
   * types it reads from the rest of the program; a group pays that once for all its mutants. A mutant in a
   * constructor (whose assignments may type the class's properties) shares a program only with other files' mutants;
   * every other mutant (one that may change its file's exported types, whose importers may then need checking) is a
   * group of its own. MUTATION_CHECKER_GROUPS=0 checks every mutant alone, MUTATION_CHECKER_GROUPS=files shares a program
   * only between files, to compare.
   */
  async group(mutants) {
    if (this.#programs.length === 1) return this.#groupIn(mutants);
    // Mutants of different programs never share one.
    const byProgram = new Map();
    for (const mutant of mutants) {
      const p = this.#programOf(resolve(mutant.fileName));
      if (!byProgram.has(p)) byProgram.set(p, []);
      byProgram.get(p).push(mutant);
    }
    const out = [];
    for (const list of byProgram.values()) out.push(...(await this.#groupIn(list)));
    return out;
  }

  async #groupIn(mutants) {
    const alone = [];
    /** Per file, its groupable mutants by the body they lie in (a constructor's mutant: a body of its own). */
    const byFile = new Map();
    for (const mutant of mutants) {
      const at = this.#locate(mutant);
      if (!GROUPS || at === undefined || at.passes || mayChangeDeclarations(at.original, at.start, at.end)) {
        alone.push([mutant.id]);
        continue;
      }
      const body = SAME_FILE ? sealedBody(at.original, at.start, at.end) : undefined;
      if (!byFile.has(at.fileName)) byFile.set(at.fileName, { bodies: new Map(), own: [] });
      const file = byFile.get(at.fileName);
      if (body === undefined) file.own.push(mutant.id);
      else {
        const key = `${body.start}:${body.end}`;
        if (!file.bodies.has(key)) file.bodies.set(key, []);
        file.bodies.get(key).push(mutant.id);
      }
    }
    const groups = [];
    for (const { bodies, own } of byFile.values()) {
      // The file's n-th slot: the n-th mutant of each of its bodies; then one slot for each mutant of its own.
      const slots = [];
      for (const ids of bodies.values()) ids.forEach((id, n) => (slots[n] ??= []).push(id));
      for (const id of own) slots.push([id]);
      slots.forEach((slot, n) => (groups[n] ??= []).push(...slot));
    }
    return [...groups, ...alone];
  }

  async check(mutants) {
    const result = {};
    const programs = new Set(mutants.map((m) => this.#programOf(resolve(m.fileName))));
    if (mutants.length === 1 || programs.size > 1) {
      for (const mutant of mutants) result[mutant.id] = this.#checkOne(mutant);
      return result;
    }
    const [p] = programs;
    // A group from `group`: per file, mutants in bodies that do not overlap, each leaving the file's exported types as
    // they are.
    const byFile = new Map();
    for (const mutant of mutants) {
      const at = this.#locate(mutant);
      if (!byFile.has(at.fileName)) byFile.set(at.fileName, []);
      byFile.get(at.fileName).push(at);
    }
    /** Files whose errors could not all be told to one of its mutants: each of their mutants is checked alone after. */
    const again = [];
    for (const [fileName, list] of byFile) {
      list.sort((a, b) => a.start - b.start);
      const original = list[0].original.text;
      let text = '';
      let from = 0;
      for (const at of list) {
        text += original.slice(from, at.start) + at.mutant.replacement;
        from = at.end;
      }
      this.#mutated.set(fileName, text + original.slice(from));
    }
    try {
      const program = ts.createProgram({ rootNames: p.rootNames, options: p.options, host: this.#host, oldProgram: p.program });
      for (const [fileName, list] of byFile) {
        const file = program.getSourceFile(fileName);
        const errors = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
        if (list.length === 1) {
          const [{ mutant }] = list;
          result[mutant.id] = errors.length === 0 ? { status: 'passed' } : { status: 'compileError', reason: ts.formatDiagnostics(errors, formatHost) };
          continue;
        }
        // Each mutant's function in the mutated text (its signature too: a body that no longer returns is an error at
        // the return type), shifted by what the replacements before it (and inside it) changed. A function whose default
        // parameter holds another's: the error goes to the innermost.
        const shift = (pos, inclusive) => list.reduce((d, at) => d + ((inclusive ? at.start < pos : at.end <= pos) ? at.mutant.replacement.length - (at.end - at.start) : 0), 0);
        const bodies = list.map((at) => {
          const body = sealedBody(at.original, at.start, at.end);
          return { at, start: body.functionStart + shift(body.functionStart, false), end: body.end + shift(body.end, true), errors: [] };
        });
        let untold = false;
        for (const error of errors) {
          const around = error.start === undefined ? [] : bodies.filter((b) => b.start <= error.start && error.start < b.end);
          const body = around.sort((a, b) => a.end - a.start - (b.end - b.start))[0];
          if (body === undefined) untold = true;
          else body.errors.push(error);
        }
        if (untold) {
          again.push(...list.map((at) => at.mutant));
          continue;
        }
        for (const b of bodies) result[b.at.mutant.id] = b.errors.length === 0 ? { status: 'passed' } : { status: 'compileError', reason: ts.formatDiagnostics(b.errors, formatHost) };
      }
    } finally {
      this.#mutated.clear();
    }
    for (const mutant of again) result[mutant.id] = this.#checkOne(mutant);
    return result;
  }

  /** Where a mutant lies in the unmutated program, and whether it passes without one (undefined: not a project file). */
  #locate(mutant) {
    const fileName = posix(resolve(mutant.fileName));
    const original = this.#programOf(fileName).program.getSourceFile(fileName);
    if (original === undefined || original.isDeclarationFile) return undefined;
    const start = original.getPositionOfLineAndCharacter(mutant.location.start.line, mutant.location.start.column);
    const end = original.getPositionOfLineAndCharacter(mutant.location.end.line, mutant.location.end.column);
    const passes = !CHECK_ALL && sameTyping(mutant.mutatorName, original.text.slice(start, end), mutant.replacement);
    return { fileName, original, start, end, passes, mutant };
  }

  #checkOne(mutant) {
    const fileName = posix(resolve(mutant.fileName));
    const p = this.#programOf(fileName);
    const original = p.program.getSourceFile(fileName);
    if (original === undefined || original.isDeclarationFile) return { status: 'passed' };
    const start = original.getPositionOfLineAndCharacter(mutant.location.start.line, mutant.location.start.column);
    const end = original.getPositionOfLineAndCharacter(mutant.location.end.line, mutant.location.end.column);
    if (!CHECK_ALL && sameTyping(mutant.mutatorName, original.text.slice(start, end), mutant.replacement)) return { status: 'passed' };
    this.#mutated.set(fileName, `${original.text.slice(0, start)}${mutant.replacement}${original.text.slice(end)}`);
    try {
      const program = ts.createProgram({ rootNames: p.rootNames, options: p.options, host: this.#host, oldProgram: p.program });
      const file = program.getSourceFile(fileName);
      let errors = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
      if (errors.length === 0 && mayChangeDeclarations(original, start, end) && this.#declarationOf(program, file) !== this.#originalDeclaration(p, fileName)) {
        for (const importer of this.#importersOf(p, fileName)) {
          errors = [...program.getSemanticDiagnostics(program.getSourceFile(importer))];
          if (errors.length > 0) break;
        }
      }
      return errors.length === 0 ? { status: 'passed' } : { status: 'compileError', reason: ts.formatDiagnostics(errors, formatHost) };
    } finally {
      this.#mutated.clear();
    }
  }

  #projectFiles(program) {
    return program.getSourceFiles().filter((f) => !f.isDeclarationFile && !f.fileName.includes('/node_modules/'));
  }

  #declarationOf(program, file) {
    let text = '';
    program.emit(file, (name, data) => {
      if (name.endsWith('.d.ts')) text = data;
    }, undefined, true);
    return text;
  }

  #originalDeclaration(p, fileName) {
    if (!p.declarations.has(fileName)) p.declarations.set(fileName, this.#declarationOf(p.program, p.program.getSourceFile(fileName)));
    return p.declarations.get(fileName);
  }

  /** Every project file that imports `fileName`, directly or through others. */
  #importersOf(p, fileName) {
    const seen = new Set();
    const queue = [fileName];
    while (queue.length > 0) {
      for (const importer of p.importers.get(queue.pop()) ?? []) {
        if (seen.has(importer)) continue;
        seen.add(importer);
        queue.push(importer);
      }
    }
    return seen;
  }
}

/**
 * Whether a change of the text from `start` to `end` may change the file's declaration output. Not when it lies inside
 * the body of a function whose type the body cannot change: a constructor, a setter, or a function, method, getter or
 * arrow with a written return type (its parameters are outside the body). Such a body is most mutants (every branch,
 * comparison and literal inside a method), and the declaration emit each of them paid for was about a third of a
 * check. `MUTATION_CHECKER_EMIT=always` emits for every mutant, to compare.
 */
function mayChangeDeclarations(sourceFile, start, end) {
  if (EMIT_ALWAYS) return true;
  let node = sourceFile;
  for (;;) {
    if (ts.isFunctionLike(node) && node.body !== undefined && node.body.getStart(sourceFile) <= start && end <= node.body.end) {
      if (ts.isConstructorDeclaration(node) || ts.isSetAccessorDeclaration(node) || node.type !== undefined) return false;
    }
    const inner = ts.forEachChild(node, (child) => (child.pos <= start && end <= child.end ? child : undefined));
    if (inner === undefined) return true;
    node = inner;
  }
}
const EMIT_ALWAYS = process.env.MUTATION_CHECKER_EMIT === 'always';

/**
 * The outermost body around the text from `start` to `end` that the text cannot change the type of anything outside:
 * that of a function, method, getter or arrow with a written return type, or of a setter (not a constructor: in a
 * class whose properties have no written type, its assignments type them). Every error a change inside causes lies
 * inside it. Undefined when there is none. Two such bodies of one file are the same or do not overlap: a body inside
 * another is not the outermost.
 */
function sealedBody(sourceFile, start, end) {
  let node = sourceFile;
  for (;;) {
    if (ts.isFunctionLike(node) && node.body !== undefined && node.body.getStart(sourceFile) <= start && end <= node.body.end) {
      if (ts.isSetAccessorDeclaration(node) || (node.type !== undefined && !ts.isConstructorDeclaration(node))) {
        return { start: node.body.getStart(sourceFile), end: node.body.end, functionStart: node.getStart(sourceFile) };
      }
    }
    const inner = ts.forEachChild(node, (child) => (child.pos <= start && end <= child.end ? child : undefined));
    if (inner === undefined) return undefined;
    node = inner;
  }
}

/**
 * Operators TypeScript types alike: the same operand types are allowed and the result type is the same (or `any`,
 * assignable anywhere), and none of them narrows. Comparisons (`<`, `<=`, `>`, `>=`: `===` and `!==` narrow, so a swap
 * can make a later line fail); the arithmetic operators but `+` (`-`, `*`, `/`, `%` take number, bigint, enum or any
 * operands, and `+` accepts every one of those; `+` itself also joins strings, which `-` does not); `++` and `--`;
 * and their compound assignments.
 */
const SAME_TYPING = [
  new Set(['<', '<=', '>', '>=']),
  new Set(['-', '*', '/', '%']),
  new Set(['++', '--']),
  new Set(['-=', '*=', '/=', '%=']),
];
/** What a non-`+` arithmetic operator may become: `+` too (same operands, number or any result). */
const MAY_BECOME = new Map([
  [SAME_TYPING[1], new Set(['+', '-', '*', '/', '%'])],
  [SAME_TYPING[3], new Set(['+=', '-=', '*=', '/=', '%='])],
]);

/**
 * Whether a mutant of `mutatorName` whose `replacement` differs from `original` (the mutated node's text) only in one operator token of the same
 * typing (SAME_TYPING): such a mutant compiles whenever the original does, so it is passed without a program. They are
 * about a sixth of the mutants checked (every relational-operator, `-`/`*`/`/` and update mutant), and none of the
 * 1,870 of them in the committed results was a compile error. `Math.min` made `Math.max` and back passes too
 * (`minMaxSwap`). `MUTATION_CHECKER_ALL=1` checks them too, to compare.
 */
export function sameTyping(mutatorName, original, replacement) {
  if (mutatorName === 'MethodExpression') return minMaxSwap(original, replacement);
  if (!BINARY_OR_UPDATE.has(mutatorName)) return false;
  const a = tokens(original);
  const b = tokens(replacement);
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  let changed = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i].text === b[i].text) continue;
    if (++changed > 1 || !a[i].operator || !b[i].operator) return false;
    const family = SAME_TYPING.find((f) => f.has(a[i].text));
    if (family === undefined || !(MAY_BECOME.get(family) ?? family).has(b[i].text)) return false;
  }
  return changed === 1;
}
/**
 * `Math.min(…)` made `Math.max(…)` or back, the arguments unchanged: both are `(...values: number[]) => number`. None of
 * the 131 in the committed results was a compile error.
 */
function minMaxSwap(original, replacement) {
  const a = tokens(original);
  const b = tokens(replacement);
  if (a === undefined || b === undefined || a.length !== b.length || a.length < 5) return false;
  const head = (t) => t[0].text === 'Math' && t[1].text === '.' && (t[2].text === 'min' || t[2].text === 'max') && t[3].text === '(';
  if (!head(a) || !head(b) || a[2].text === b[2].text) return false;
  return a.every((t, i) => i === 2 || t.text === b[i].text);
}
const CHECK_ALL = process.env.MUTATION_CHECKER_ALL === '1';
const GROUPS = process.env.MUTATION_CHECKER_GROUPS !== '0';
const SAME_FILE = GROUPS && process.env.MUTATION_CHECKER_GROUPS !== 'files';
/** The mutators that change a binary, update or compound-assignment operator (a unary `-` made `+` fails on bigint). */
const BINARY_OR_UPDATE = new Set(['EqualityOperator', 'ArithmeticOperator', 'UpdateOperator', 'AssignmentOperator']);

/**
 * The tokens of a piece of code (trivia left out), or undefined when it holds a template literal (whose parts the
 * scanner splits only in context) or does not scan cleanly. `>` is rescanned as the parser does (`>=`, `>>`).
 */
function tokens(text) {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text);
  const out = [];
  let failed = false;
  scanner.setOnError(() => (failed = true));
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if (kind === ts.SyntaxKind.GreaterThanToken) kind = scanner.reScanGreaterToken();
    if (kind === ts.SyntaxKind.TemplateHead || kind === ts.SyntaxKind.NoSubstitutionTemplateLiteral || kind === ts.SyntaxKind.Unknown) return undefined;
    out.push({ text: scanner.getTokenText(), operator: kind >= ts.SyntaxKind.FirstPunctuation && kind <= ts.SyntaxKind.LastPunctuation });
  }
  return failed ? undefined : out;
}

function create(log, options) {
  return new EparaTypescriptChecker(log, options);
}
create.inject = ['logger', 'options'];

export const strykerPlugins = [{ kind: 'Checker', name: 'epara-typescript', factory: create }];

export { EparaTypescriptChecker };