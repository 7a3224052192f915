import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/** The bin as the workspace root links it (`pnpm exec epara-sim`; built packages needed). */
const bin = fileURLToPath(new URL('../../node_modules/.bin/epara-sim', import.meta.url));

describe('epara-sim from the workspace root', () => {
  it('lists experiments, and off a terminal prints a line per finished run', async () => {
    const { stdout } = await promisify(execFile)(bin, ['list']);
    expect(stdout).toMatch(/^e1 {2}/m);
    const out = await mkdtemp(join(tmpdir(), 'epara-sim-'));
    const run = await promisify(execFile)(bin, ['run', 'e1', '--quick', '--out', out], { timeout: 120_000 });
    const lines = run.stderr.split('\n').filter((l) => /^e1: run \d+\/\d+$/.test(l));
    expect(lines.length).toBeGreaterThan(1);
    // E1 stops its load sweep once the best deployable baseline collapses, so it may end before its planned total.
    const counts = lines.map((l) => l.split(' ').pop()!.split('/').map(Number) as [number, number]);
    expect(counts.map(([n]) => n)).toEqual(counts.map((_, i) => i + 1));
    expect(counts.every(([n, total]) => n <= total)).toBe(true);
    expect(run.stdout).toContain('wrote');
  }, 120_000);
});
