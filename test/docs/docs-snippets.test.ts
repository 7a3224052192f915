import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkGuides } from './check-snippets.js';
import type { SnippetReport } from './check-snippets.js';
import { extractSnippets } from './extract-snippets.js';
import { KNOWN_ISSUES } from './known-issues.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const guides = [...readdirSync(new URL('../../docs', import.meta.url)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`), 'README.md'];

describe('docs snippet extraction', () => {
  it('extracts ts blocks with their guide line and flags, ignoring other languages', () => {
    const md = ['# t', '```ts', 'const a = 1;', '```', 'text', '```ts no-check', 'a.b', '```', '```json', '{}', '```'].join('\n');
    expect(extractSnippets('docs/t.md', md)).toEqual([
      { guide: 'docs/t.md', line: 3, flags: [], code: 'const a = 1;', prelude: '' },
      { guide: 'docs/t.md', line: 7, flags: ['no-check'], code: 'a.b', prelude: '' },
    ]);
  });

  it('finds a doc-prelude above other stacked comments', () => {
    const md = ['<!-- doc-prelude: declare const a: number; -->', '<!-- snippet: x -->', '```ts', 'a;', '```'].join('\n');
    expect(extractSnippets('docs/t.md', md)[0]?.prelude).toBe('declare const a: number;');
  });

  it('reads a doc-prelude comment above a fence as hidden lines', () => {
    const md = ['<!-- doc-prelude:', 'declare const n: number;', '-->', '', '```ts continued', 'n + 1;', '```'].join('\n');
    expect(extractSnippets('docs/t.md', md)).toEqual([{ guide: 'docs/t.md', line: 6, flags: ['continued'], code: 'n + 1;', prelude: 'declare const n: number;' }]);
  });
});

describe('docs: every TypeScript block of every guide compiles against the packages\' built declarations', () => {
  let report: SnippetReport;
  beforeAll(() => {
    report = checkGuides(root); // one compiler program for every block of every guide
  }, 60_000);

  it('checks the blocks of every guide', () => {
    expect(report.checked).toBeGreaterThan(20);
  });

  it('runs the blocks flagged `run` (they finish without throwing)', async () => {
    expect(report.runnable.length).toBeGreaterThan(0);
    for (const { file } of report.runnable) await import(/* @vite-ignore */ pathToFileURL(file).href);
  }, 30_000);

  it.each(guides)('%s', (guide) => {
    const errors = report.errors.filter((e) => e.where.startsWith(`${guide}:`) || e.where.startsWith(`${guide} `));
    const known = KNOWN_ISSUES[guide] ?? [];
    const unexpected = errors.filter((e) => !known.some((k) => e.message.includes(k))).map((e) => `${e.where}: ${e.message}`);
    expect(unexpected, 'errors in the guide (file:line)').toEqual([]);
    const fixed = known.filter((k) => !errors.some((e) => e.message.includes(k)));
    expect(fixed, 'known issues that no longer occur: delete them from test/docs/known-issues.ts').toEqual([]);
  });
});

describe('docs/index.md', () => {
  it('links every guide in docs/ and the API reference', async () => {
    const { readFileSync } = await import('node:fs');
    const index = readFileSync(new URL('../../docs/index.md', import.meta.url), 'utf8');
    const missing = guides.filter((g) => g.startsWith('docs/') && g !== 'docs/index.md' && !index.includes(`](${g.slice('docs/'.length)})`));
    expect(missing, 'guides missing from docs/index.md').toEqual([]);
    expect(index).toContain('](api/index.html)');
  });
});
