import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
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
    // E4 (six short EPARA-only runs) is the cheapest experiment with several runs: the progress lines are the CLI's,
    // the same for every experiment (E1's load sweep took three times the CPU to show them).
    const run = await promisify(execFile)(bin, ['run', 'e4', '--quick', '--out', out], { timeout: 120_000 });
    const lines = run.stderr.split('\n').filter((l) => /^e4: run \d+\/\d+$/.test(l));
    expect(lines.length).toBeGreaterThan(1);
    // An experiment may end before its planned total (E1 stops its load sweep once the best deployable baseline
    // collapses): each line counts on from the last, never past the total.
    const counts = lines.map((l) => l.split(' ').pop()!.split('/').map(Number) as [number, number]);
    expect(counts.map(([n]) => n)).toEqual(counts.map((_, i) => i + 1));
    expect(counts.every(([n, total]) => n <= total)).toBe(true);
    expect(run.stdout).toContain('wrote');
  }, 120_000);

  it('runs a scenario file with its zones on worker threads, the same result as in one thread', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'epara-sim-'));
    const file = join(dir, 'zoned.json');
    await writeFile(file, JSON.stringify({
      name: 'zoned', seed: 2, durationMs: 3000,
      cluster: { groups: [{ preset: 'gpu-server', count: 8 }, { preset: 'jetson', count: 4 }], zoneSize: 4 },
      workload: { origins: 'clients', requests: [{ service: 'classify', ratePerSec: 60 }], streams: [{ service: 'hci', concurrentStreams: 3 }] },
      system: { kind: 'epara' },
    }));
    // Placement timing (keys ending in ms under systemInfo.placement) is wall clock: everything else must match.
    const figures = (stdout: string): unknown => {
      const r = JSON.parse(stdout) as { systemInfo: { placement?: Record<string, unknown> } };
      const p = r.systemInfo.placement ?? {};
      return { ...r, systemInfo: { ...r.systemInfo, placement: Object.fromEntries(Object.entries(p).filter(([k]) => !/ms$/i.test(k))) } };
    };
    const one = await promisify(execFile)(bin, ['scenario', file, '--workers', '1'], { timeout: 120_000 });
    const three = await promisify(execFile)(bin, ['scenario', file, '--workers', '3'], { timeout: 120_000 });
    expect((JSON.parse(one.stdout) as { total: { offered: number } }).total.offered).toBeGreaterThan(100);
    expect(figures(three.stdout)).toEqual(figures(one.stdout));
    const bad = await promisify(execFile)(bin, ['scenario', file, '--workers', '0']).catch((err: { code: number; stderr: string }) => err);
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toContain('--workers must be an integer >= 1');
  }, 240_000);
});
