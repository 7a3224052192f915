import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs config of the repository, without types
import { LEFT_OUT_TESTS } from '../../stryker.config.mjs';

// Mutation runs skip the single tests LEFT_OUT_TESTS names (test/setup/mutant-left-out.ts, by the start of the test's
// own title): a title that no longer starts a test in its file would leave the test in every run without a word.

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('LEFT_OUT_TESTS', () => {
  it('names tests that exist: each file holds a test whose own title starts with the name given', () => {
    expect(LEFT_OUT_TESTS.length).toBeGreaterThan(0);
    for (const { file, test } of LEFT_OUT_TESTS as { file: string; test: string }[]) {
      const source = readFileSync(`${root}${file}`, 'utf8');
      expect(source, `${file}: ${test}`).toContain(`it('${test}`);
    }
  });
});
