import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs script of the repository, without types
import { strykerPlugins } from '../../scripts/stryker-typescript-checker.mjs';

// The checker checks mutants in one program when each lies in a function body that cannot change any type outside it
// (scripts/stryker-typescript-checker.mjs, `group`), of different files or of different functions of one file: each
// mutant is then judged on the diagnostics inside its own body. Here on a two-file program: the groups it forms, and
// that a group's verdicts are those of the mutants checked alone.

interface Mutant {
  id: string;
  fileName: string;
  mutatorName: string;
  replacement: string;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
}
interface Checker {
  init(): Promise<void>;
  group(mutants: Mutant[]): Promise<string[][]>;
  check(mutants: Mutant[]): Promise<Record<string, { status: string }>>;
}

const A = ['export function twice(x: number): number {', '  const y: number = x * 2;', '  return y;', '}', 'export const untyped = (x: number) => x + 1;', 'export function thrice(x: number): number {', '  return x * 3;', '}', ''].join('\n');
const B = ["import { twice, untyped } from './a';", 'export function label(n: number): string {', '  const s: string = `n=${twice(n)}`;', '  return s;', '}', 'export const one: number = untyped(0);', ''].join('\n');

let root = '';
const make = (): Checker => strykerPlugins[0].factory({ debug() {} }, { tsconfigFile: join(root, 'tsconfig.json') }) as Checker;
/** A mutant replacing the first `text` on `line` (0-based, as Stryker's locations) of `file`. */
const mutant = (id: string, file: 'a' | 'b', line: number, text: string, replacement: string, mutatorName = 'StringLiteral'): Mutant => {
  const column = (file === 'a' ? A : B).split('\n')[line]!.indexOf(text);
  return { id, fileName: join(root, `${file}.ts`), mutatorName, replacement, location: { start: { line, column }, end: { line, column: column + text.length } } };
};
let mutants: Mutant[] = [];
let checker: Checker;

// Parsing the lib files is most of the CPU: one checker serves both tests (a check leaves no state behind).
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'epara-checker-groups-'));
  writeFileSync(join(root, 'a.ts'), A);
  writeFileSync(join(root, 'b.ts'), B);
  writeFileSync(join(root, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022'], types: [], skipLibCheck: true }, include: ['*.ts'] }));
  mutants = [
    mutant('bodyA', 'a', 1, 'x * 2', "''"), // a string where a number is declared: a compile error
    mutant('bodyB', 'b', 2, '`n=${twice(n)}`', "''"), // still a string: compiles
    mutant('bodyA2', 'a', 2, 'y', "'y'"), // the same body as bodyA: another group
    // Another body of a.ts: with bodyA, its verdict from the errors inside its own body (none: it compiles).
    mutant('otherA', 'a', 6, 'x * 3', '0', 'NumberLiteral'),
    // thrice's body left without a return: an error at its return type, outside the body, still thrice's own.
    mutant('emptyA', 'a', 6, 'return x * 3;', '', 'BlockStatement'),
    mutant('swap', 'a', 1, 'x * 2', 'x / 2', 'ArithmeticOperator'), // an operator typed alike: passed without a program
    // An arrow without a written type: its export's type changes, and b.ts, which imports it, no longer compiles.
    mutant('untyped', 'a', 4, 'x + 1', "''", 'ArithmeticOperator'),
  ];
  checker = make();
  await checker.init();
}, 300_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the checker checks body mutants of different files together', () => {
  it('groups at most one mutant per body, and only mutants inside bodies with a written type', async () => {
    const groups = await checker.group(mutants);
    expect(groups.flat().sort()).toEqual(mutants.map((m) => m.id).sort());
    expect(groups).toContainEqual(['bodyA', 'otherA', 'bodyB']);
    expect(groups).toContainEqual(['bodyA2', 'emptyA']);
    expect(groups).toContainEqual(['swap']);
    expect(groups).toContainEqual(['untyped']);
  });

  it("gives each mutant of a group the verdict it gets alone, from its own file's diagnostics", async () => {
    const byId = new Map(mutants.map((m) => [m.id, m]));
    const together: Record<string, string> = {};
    for (const group of await checker.group(mutants)) {
      for (const [id, r] of Object.entries(await checker.check(group.map((id) => byId.get(id)!)))) together[id] = r.status;
    }
    const alone: Record<string, string> = {};
    for (const m of mutants) alone[m.id] = (await checker.check([m]))[m.id]!.status;
    expect(alone).toEqual({ bodyA: 'compileError', bodyB: 'passed', bodyA2: 'compileError', otherA: 'passed', emptyA: 'compileError', swap: 'passed', untyped: 'compileError' });
    expect(together).toEqual(alone);
  });
});
