import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// scripts/mutation-try.mjs writes a mutant into a source, runs test files on it and puts the source back. Here it runs
// on a fixture project: a loop, its test, and a results file naming four mutants of it.

const script = fileURLToPath(new URL('../../scripts/mutation-try.mjs', import.meta.url));
const SOURCE = `export function sumBelow(n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += i;
  return s;
}
`;
const loopAt = SOURCE.indexOf('i++');
const plusAt = SOURCE.indexOf('s += i');
const zeroAt = SOURCE.indexOf('let s = 0') + 'let s = '.length;
const lineCol = (offset: number) => {
  const before = SOURCE.slice(0, offset).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
};
const mutant = (id: string, mutatorName: string, start: number, length: number, replacement: string) => ({
  id,
  mutatorName,
  replacement,
  status: 'Survived',
  location: { start: lineCol(start), end: lineCol(start + length) },
});
const MUTANTS = [
  // i-- from 0 stays below n: the loop never ends.
  mutant('loop', 'UpdateOperator', loopAt, 3, 'i--'),
  mutant('minus', 'AssignmentOperator', plusAt, 6, 's -= i'),
  // The sum of 0…n−1 does not read the initial value's sign: 0 and −0 add alike.
  mutant('same', 'UnaryOperator', zeroAt, 1, '-0'),
  // Not a program: the file fails to load, which is not a kill.
  mutant('broken', 'BlockStatement', zeroAt, 1, '{'),
];

let root = '';
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'epara-mutation-try-'));
  mkdirSync(join(root, 'src'));
  mkdirSync(join(root, 'test/mutation'), { recursive: true });
  writeFileSync(join(root, 'src/sum.ts'), SOURCE);
  // The test writes its process id first, so the loop's process can be looked for after the timeout.
  writeFileSync(
    join(root, 'src/sum.test.ts'),
    `import { writeFileSync } from 'node:fs';
import { sumBelow } from './sum.ts';
it('sums below n', () => {
  writeFileSync(${JSON.stringify(join(root, 'test-pid'))}, String(process.pid));
  expect(sumBelow(4)).toBe(6);
});
`,
  );
  writeFileSync(join(root, 'vitest.config.mjs'), `export default { test: { projects: [{ test: { name: 'units', include: ['src/**/*.test.ts'], globals: true } }] } };\n`);
  writeFileSync(join(root, 'test/mutation/fixture.incremental.json'), JSON.stringify({ files: { 'src/sum.ts': { source: SOURCE, mutants: MUTANTS } } }));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Runs the script on the fixture; resolves with its output, and calls `onLine` for each line as it comes. */
function tryMutants(ids: string, timeoutMs: number, onLine: (line: string, child: ReturnType<typeof spawn>) => void = () => {}) {
  const child = spawn(process.execPath, [script, 'fixture', ids, 'src/sum.test.ts'], {
    cwd: root,
    env: { ...process.env, MUTATION_TRY_ROOT: root, MUTATION_TRY_TIMEOUT_MS: String(timeoutMs) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let pending = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d;
    pending += d;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) onLine(line, child);
  });
  return new Promise<{ out: string; code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ out, code, signal })));
}
const lastJson = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, string>;
/** Whether `pid` runs (on Linux: not ended, nor a zombie left for init to reap). */
const alive = (pid: number) => {
  const stat = `/proc/${pid}/stat`;
  if (existsSync('/proc/self/stat')) return existsSync(stat) && !/^\d+ \(.*\) Z/.test(readFileSync(stat, 'utf8'));
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('mutation-try', () => {
  it('tells a kill from a survivor and from a file that does not load, and puts the source back after each', async () => {
    const { out, code } = await tryMutants('minus,same,broken', 120_000);
    expect(code).toBe(0);
    expect(lastJson(out)).toEqual({ minus: 'killed', same: 'survived', broken: 'error' });
    expect(readFileSync(join(root, 'src/sum.ts'), 'utf8')).toBe(SOURCE);
    expect(existsSync(join(root, '.tmp/mutation-try/journal.json'))).toBe(false);
  }, 240_000);

  it('ends a mutant that loops at the timeout, with the process running it, and puts the source back', async () => {
    // The timeout only has to outlast vitest's start, so that the test reaches the loop (it writes its pid first).
    const { out, code } = await tryMutants('loop', 30_000);
    expect(code).toBe(0);
    expect(lastJson(out)).toEqual({ loop: 'timeout' });
    expect(readFileSync(join(root, 'src/sum.ts'), 'utf8')).toBe(SOURCE);
    const pid = Number(readFileSync(join(root, 'test-pid'), 'utf8'));
    expect(alive(pid)).toBe(false);
  }, 120_000);

  it('puts the source back when stopped (SIGTERM), and after a run killed outright the next run does', async () => {
    const mutated = (line: string) => line.startsWith('mutation-try: loop written');
    const stopped = await tryMutants('loop', 600_000, (line, child) => {
      if (mutated(line)) {
        expect(readFileSync(join(root, 'src/sum.ts'), 'utf8')).not.toBe(SOURCE);
        child.kill('SIGTERM');
      }
    });
    expect(stopped.code).toBe(143);
    expect(readFileSync(join(root, 'src/sum.ts'), 'utf8')).toBe(SOURCE);

    const killed = await tryMutants('loop', 600_000, (line, child) => mutated(line) && child.kill('SIGKILL'));
    expect(killed.signal).toBe('SIGKILL');
    expect(readFileSync(join(root, 'src/sum.ts'), 'utf8')).not.toBe(SOURCE);
    const restored = spawn(process.execPath, [script, '--restore'], { cwd: root, env: { ...process.env, MUTATION_TRY_ROOT: root }, stdio: 'ignore' });
    expect(await new Promise((resolve) => restored.on('close', resolve))).toBe(0);
    expect(readFileSync(join(root, 'src/sum.ts'), 'utf8')).toBe(SOURCE);
    expect(existsSync(join(root, '.tmp/mutation-try/journal.json'))).toBe(false);
  }, 120_000);
});
