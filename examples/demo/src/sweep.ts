import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EparaError } from '@epara/core';
import { table } from './format.js';
import { resolveDemoOptions, type DemoOptions } from './options.js';

/** Loads of `--sweep` when `--loads` is not given: below, around and past the baseline's capacity (docs/demo.md §5). */
export const SWEEP_LOADS = [1, 2, 3, 4, 5, 6] as const;

/** Seconds per load and system of `--sweep` when `--duration` is not given. */
export const SWEEP_DURATION_SEC = 10;

/** One load of a sweep: both systems' overall goodput and attainment, and their ratio. */
export interface SweepRow {
  readonly load: number;
  readonly eparaGoodputPerSec: number;
  readonly tritonGoodputPerSec: number;
  readonly ratio: number | null;
  readonly eparaAttainment: number;
  readonly tritonAttainment: number;
  /** The machine's 1-minute load average when the load's two runs ended (how much else competed for the cores). */
  readonly machineLoad: number;
}

/** Options of {@link sweep}: the demo's options (its `load` is ignored) and the loads to run. */
export interface SweepOptions extends DemoOptions {
  /** Load multipliers to run, in order. @default {@link SWEEP_LOADS} */
  readonly loads?: readonly number[];
}

/**
 * Runs the demo's comparison at several loads, each for `duration` seconds per system (default
 * {@link SWEEP_DURATION_SEC}) in a fresh process of its own (`tsx main.ts --load <x>`), and returns one row
 * per load. A fresh process per load matters: successive runs in one process measured the baseline several
 * times worse than the same load run alone (docs/demo.md §5).
 *
 * @throws EparaError `INVALID_OPTIONS` for a bad option or load; `INTERNAL` when a run fails.
 * @example
 * ```ts
 * const rows = await sweep({ loads: [1, 4], duration: 5 });
 * for (const line of sweepTable(rows)) console.log(line);
 * ```
 */
export async function sweep(options: SweepOptions = {}): Promise<SweepRow[]> {
  const loads = options.loads ?? SWEEP_LOADS;
  const first = resolveDemoOptions({ ...options, duration: options.duration ?? SWEEP_DURATION_SEC, load: loads[0] ?? 1 });
  for (const load of loads) resolveDemoOptions({ ...options, load });
  first.log(`EPARA demo sweep: loads ${loads.join(', ')}, ${first.durationMs / 1000} s per load and system, seed ${first.seed}, one process per load`);
  const tsx = createRequire(import.meta.url).resolve('tsx/cli');
  const main = fileURLToPath(new URL('./main.ts', import.meta.url));
  const rows: SweepRow[] = [];
  for (const load of loads) {
    if (first.signal?.aborted) break;
    first.log(`\nload ×${load}…`);
    const args = [tsx, main, '--load', String(load), '--duration', String(first.durationMs / 1000), '--nodes', String(first.nodes), '--seed', String(first.seed), ...(first.quick ? ['--quick'] : [])];
    const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 64 * 1024 * 1024, ...(first.signal ? { signal: first.signal } : {}) });
    const r = sweepRow(stdout.trimEnd().split('\n').pop() ?? '');
    rows.push(r);
    first.log(`  EPARA ${r.eparaGoodputPerSec.toFixed(1)}/s (${pct(r.eparaAttainment)}), Triton-like ${r.tritonGoodputPerSec.toFixed(1)}/s (${pct(r.tritonAttainment)}); machine load average ${r.machineLoad.toFixed(1)}`);
  }
  return rows;
}

interface ResultLineFigures {
  load: number;
  ratios: { overall: { goodput: number | null } };
  epara: { goodputPerSec: number; attainment: number };
  tritonLike: { goodputPerSec: number; attainment: number };
}

/**
 * The overall figures of one run's last line (`resultLine`) as a sweep row.
 * @throws EparaError `INTERNAL` when the line is not a demo result.
 */
export function sweepRow(line: string): SweepRow {
  let r: ResultLineFigures;
  try {
    r = JSON.parse(line) as ResultLineFigures;
  } catch {
    throw new EparaError('INTERNAL', `a sweep run ended without its JSON line: ${line.slice(0, 200)}`);
  }
  return {
    load: r.load,
    eparaGoodputPerSec: r.epara.goodputPerSec,
    tritonGoodputPerSec: r.tritonLike.goodputPerSec,
    ratio: r.ratios.overall.goodput,
    eparaAttainment: r.epara.attainment,
    tritonAttainment: r.tritonLike.attainment,
    machineLoad: loadavg()[0]!,
  };
}

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;

/** The sweep as an aligned table: load × (goodput of each system, ratio, attainment of each system). */
export function sweepTable(rows: readonly SweepRow[]): string[] {
  const head = ['load', 'EPARA goodput/s', 'Triton-like goodput/s', 'ratio', 'EPARA att.', 'Triton-like att.', 'machine load avg'];
  const body = rows.map((r) => [
    `×${r.load}`,
    r.eparaGoodputPerSec.toFixed(1),
    r.tritonGoodputPerSec.toFixed(1),
    r.ratio === null ? 'inf' : `${r.ratio.toFixed(2)}x`,
    pct(r.eparaAttainment),
    pct(r.tritonAttainment),
    r.machineLoad.toFixed(1),
  ]);
  return table([head, ...body]);
}

/** The last line of a sweep: one JSON object. */
export function sweepLine(rows: readonly SweepRow[], durationSec: number): string {
  const round = (v: number | null): number | null => (v === null ? null : Math.round(v * 1000) / 1000);
  return JSON.stringify({
    demo: 'epara-sweep',
    durationSec,
    rows: rows.map((r) => ({ load: r.load, epara: round(r.eparaGoodputPerSec), tritonLike: round(r.tritonGoodputPerSec), ratio: round(r.ratio), eparaAttainment: round(r.eparaAttainment), tritonAttainment: round(r.tritonAttainment), machineLoad: round(r.machineLoad) })),
  });
}
