import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs script of the repository, without types
import { sameTyping } from '../../scripts/stryker-typescript-checker.mjs';

// The checker passes a mutant without building a program when the mutant only swaps an operator for one TypeScript
// types alike (scripts/stryker-typescript-checker.mjs, `sameTyping`). A wrong "alike" would turn a compile error into
// a test run, so both the rule's cases and every committed result are checked.

const same = (mutator: string, original: string, replacement: string): boolean => sameTyping(mutator, original, replacement);

describe('the checker passes operator swaps TypeScript types alike', () => {
  it('comparisons, non-`+` arithmetic (also to `+`), updates and their compound assignments', () => {
    expect(same('EqualityOperator', 'a.gap > options.epsilon', 'a.gap >= options.epsilon')).toBe(true);
    expect(same('EqualityOperator', 'x >= b * (1 + M)', 'x < b * (1 + M)')).toBe(true);
    expect(same('EqualityOperator', 'items <= LIMIT', 'items > LIMIT')).toBe(true);
    expect(same('ArithmeticOperator', 'b.gap - a.gap', 'b.gap + a.gap')).toBe(true);
    expect(same('ArithmeticOperator', 'b.net / b.cost', 'b.net * b.cost')).toBe(true);
    expect(same('ArithmeticOperator', 'n % k', 'n * k')).toBe(true);
    expect(same('UpdateOperator', 'round++', 'round--')).toBe(true);
    expect(same('AssignmentOperator', 'items -= p.length', 'items += p.length')).toBe(true);
  });

  it('Math.min made Math.max and back, the arguments unchanged', () => {
    expect(same('MethodExpression', 'Math.min(a, b.c)', 'Math.max(a, b.c)')).toBe(true);
    expect(same('MethodExpression', 'Math.max(...xs)', 'Math.min(...xs)')).toBe(true);
    // Another method, another object, other arguments.
    expect(same('MethodExpression', 'xs.min(a)', 'xs.max(a)')).toBe(false);
    expect(same('MethodExpression', 'Math.min(a, b)', 'Math.max(a, c)')).toBe(false);
    expect(same('MethodExpression', 'Math.floor(a)', 'Math.ceil(a)')).toBe(false);
  });

  it('checks everything else with a program', () => {
    // `===` and `!==` narrow: a swap can make a later line fail.
    expect(same('EqualityOperator', 'x === undefined', 'x !== undefined')).toBe(false);
    // `+` also joins strings; a unary `+` fails on bigint.
    expect(same('ArithmeticOperator', 'a + b', 'a - b')).toBe(false);
    expect(same('AssignmentOperator', 's += "x"', 's -= "x"')).toBe(false);
    expect(same('UnaryOperator', '-x', '+x')).toBe(false);
    // More than one token changed, a token that is not an operator, another mutator.
    expect(same('EqualityOperator', 'a < b && c < d', 'a <= b && c <= d')).toBe(false);
    expect(same('ConditionalExpression', 'a < b', 'true')).toBe(false);
    expect(same('MethodExpression', 'xs.some(f)', 'xs.every(f)')).toBe(false);
    expect(same('ArithmeticOperator', '`${a}` - b', '`${a}` + b')).toBe(false);
  });

  it('no mutant it passes was a compile error in the committed results', () => {
    const dir = new URL('./', import.meta.url);
    let passed = 0;
    for (const name of readdirSync(dir).filter((f) => f.endsWith('.incremental.json'))) {
      const report = JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as {
        files: Record<string, { source: string; mutants: { status: string; mutatorName: string; replacement: string; location: { start: { line: number; column: number }; end: { line: number; column: number } } }[] }>;
      };
      for (const { source, mutants } of Object.values(report.files)) {
        const lines = source.split('\n');
        const at = (p: { line: number; column: number }): number => lines.slice(0, p.line - 1).reduce((s, l) => s + l.length + 1, 0) + p.column - 1;
        for (const m of mutants) {
          if (!same(m.mutatorName, source.slice(at(m.location.start), at(m.location.end)), m.replacement)) continue;
          passed++;
          expect(m.status, `${m.mutatorName} ${m.replacement}`).not.toBe('CompileError');
        }
      }
    }
    // The rule reaches most of the operator mutants (about 1,870 of them) and the 131 Math.min/max swaps: a rule that
    // matched nothing would pass above.
    expect(passed).toBeGreaterThan(1600);
  });
});
