import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * The demo as a user runs it, `src/main.ts --quick` in a process of its own (it starts its node, client and
 * network processes as children), on the packages' built dist as `pnpm demo` runs it. Checks the shape and
 * sanity of its last line, that every process it started has ended, and that a crashed node or a Ctrl-C stops
 * all of them. Never a timing threshold.
 * The three runs are independent processes (each its own children, process group and report sub-folder), so
 * they run at once: the two interrupted runs end in their first seconds, while the full run mostly waits on
 * its real-time trials and probes; in sequence they added their start-up to the file's time.
 */

const MAIN = fileURLToPath(new URL('./src/main.ts', import.meta.url));
const reports = mkdtempSync(join(tmpdir(), 'epara-demo-'));
afterAll(() => rmSync(reports, { recursive: true, force: true }));

// main.ts and the demo's modules it imports, bundled once for the three runs (as the demo bundles its children:
// cluster/children.ts) and run with plain node: through tsx each run spent 2-3 s of CPU transforming the demo's
// files and, through the root tsconfig's paths, the packages' sources. Every module but the entry keeps its own
// source file's URL as `import.meta.url`: the children's bundler reads the `*-process.ts` files beside
// cluster/children.ts, models.ts resolves the model packages from there, and a module's "run directly" check must
// not match the bundle. The entry's is the bundle's own, so its check does and it runs as from the command line.
const TMP = fileURLToPath(new URL('./.tmp/', import.meta.url));
mkdirSync(TMP, { recursive: true });
const bundleDir = mkdtempSync(join(TMP, 'main-'));
afterAll(() => rmSync(bundleDir, { recursive: true, force: true }));
const BUNDLE = join(bundleDir, 'main.mjs');
const sourceUrls: Plugin = {
  name: 'source-urls',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async ({ path }) => {
      const text = await readFile(path, 'utf8');
      return { contents: path === MAIN ? text : text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(path).href)), loader: 'ts' };
    });
  },
};
beforeAll(async () => {
  await build({
    entryPoints: [MAIN],
    outfile: BUNDLE,
    bundle: true,
    packages: 'external', // @epara/* and the rest from node_modules: the packages' built dist
    tsconfigRaw: { compilerOptions: { target: 'ES2022', verbatimModuleSyntax: true } },
    platform: 'node',
    format: 'esm',
    target: 'node20',
    plugins: [sourceUrls],
    logLevel: 'silent',
  });
});

// The children run from a bundle each run writes under .tmp/ and removes once its children ended (also after a
// crash or Ctrl-C): none of the three runs may leave one behind.
const bundles = (): string[] => (existsSync(TMP) ? readdirSync(TMP).filter((f) => f.startsWith('children-')) : []);
const bundlesBefore = new Set(bundles());
afterAll(() => expect(bundles().filter((f) => !bundlesBefore.has(f))).toEqual([]));

interface Run {
  readonly cp: ChildProcess;
  readonly lines: string[];
  /** Resolves with the `name=pid` pairs of the children once the demo printed them. */
  readonly children: Promise<Map<string, number>>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startDemo(args: string[]): Run {
  const cp = spawn(process.execPath, [BUNDLE, '--report-dir', reports, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const lines: string[] = [];
  let found: (m: Map<string, number>) => void;
  const children = new Promise<Map<string, number>>((resolve) => (found = resolve));
  let buffer = '';
  cp.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      if (line.startsWith('processes:')) found(new Map([...line.matchAll(/(\S+)=(\d+)/g)].map((m) => [m[1]!, Number(m[2])])));
    }
  });
  cp.stderr!.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.split('\n').map((l) => `stderr: ${l}`)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    cp.on('exit', (code, signal) => {
      if (buffer) lines.push(buffer);
      found(new Map()); // exited before starting its children: nothing to wait for
      resolve({ code, signal });
    }),
  );
  return { cp, lines, children, exited };
}

const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.concurrent('pnpm demo --quick (a real edge cloud of processes)', () => {
  it('ends with one JSON line of sane figures, writes its report folder, and leaves no process behind', async () => {
    // Two seconds a trial and probe (three with --quick alone): the shape and the paths are what is checked here,
    // not a measurement, and the run's CPU is CI's on two cores shared with the rest of the suite.
    const run = startDemo(['--quick', '--duration', '2']);
    const { code } = await run.exited;
    expect(code, run.lines.slice(-30).join('\n')).toBe(0);
    const children = await run.children;
    expect(children.size).toBe(10); // 3 EPARA nodes, 3 baseline sites, 3 clients, the network
    for (const [name, pid] of children) expect(isRunning(pid), `${name} (${pid}) still running`).toBe(false);

    const last = JSON.parse(run.lines.filter((l) => l.trim() !== '').pop()!) as Record<string, unknown>;
    for (const k of ['ratioMedian', 'ratioMin', 'ratioMax', 'latencyRatioMedian', 'frequencyRatioMedian']) {
      const v = last[k];
      expect(v === null || (typeof v === 'number' && Number.isFinite(v) && v >= 0), `${k} = ${String(v)}`).toBe(true);
    }
    if (typeof last['ratioMedian'] === 'number' && typeof last['ratioMin'] === 'number' && typeof last['ratioMax'] === 'number') {
      expect(last['ratioMin']).toBeLessThanOrEqual(last['ratioMedian']);
      expect(last['ratioMedian']).toBeLessThanOrEqual(last['ratioMax']);
    }
    for (const k of ['eparaAttainment', 'baselineAttainment']) {
      const v = last[k];
      expect(typeof v === 'number' && v >= 0 && v <= 1, `${k} = ${String(v)}`).toBe(true);
    }
    expect(last['trials']).toBe(2);
    expect(last['nodeProcesses']).toBe(3);
    expect(typeof last['reliable']).toBe('boolean');
    expect(last['interNodeDelayMs']).toBeGreaterThan(0); // the links delay for real (5–20 ms configured)
    // The capacity verdict: each system's highest passing load (a fraction of capacity, or null when it never
    // passed), and their ratio within its bracket.
    for (const k of ['capacityRatio', 'capacityRatioMin', 'capacityRatioMax', 'eparaCapacity', 'baselineCapacity']) {
      const v = last[k];
      expect(k in last && (v === null || (typeof v === 'number' && Number.isFinite(v) && v > 0)), `${k} = ${String(v)}`).toBe(true);
    }
    if (typeof last['capacityRatio'] === 'number') {
      const fromFractions = Number(last['eparaCapacity']) / Number(last['baselineCapacity']); // both rounded to 3 decimals
      expect(Math.abs(last['capacityRatio'] / fromFractions - 1)).toBeLessThan(0.05);
      if (typeof last['capacityRatioMin'] === 'number') expect(last['capacityRatioMin']).toBeLessThanOrEqual(last['capacityRatio']);
      if (typeof last['capacityRatioMax'] === 'number') expect(last['capacityRatio']).toBeLessThanOrEqual(last['capacityRatioMax']);
    }
    expect(run.lines.some((l) => l.startsWith('capacity at the SLO'))).toBe(true);
    // Which figure answers the question: the capacity verdict, read from the two brackets; and the ceiling of
    // the trials' goodput ratio at that load (1 ÷ the baseline's attainment), which the ratio never exceeds.
    expect(['more', 'less', 'within resolution', 'not measured']).toContain(last['capacityVerdict']);
    if (last['capacityRatio'] === null) expect(last['capacityVerdict']).toBe('not measured');
    const ceiling = last['ratioCeiling'];
    expect(ceiling === null || (typeof ceiling === 'number' && ceiling >= 1), `ratioCeiling = ${String(ceiling)}`).toBe(true);
    expect(run.lines.some((l) => l.startsWith('Does EPARA carry more load at the SLO'))).toBe(true);
    // Where each system lost: per service and entry node.
    expect(run.lines.filter((l) => l.includes('per service and entry node'))).toHaveLength(2);
    const folder = String(last['report']);
    expect(run.lines.some((l) => l.includes(`report: ${folder}`))).toBe(true);
    expect(existsSync(join(folder, 'report.md')) && existsSync(join(folder, 'chart.svg'))).toBe(true);
    expect(run.lines.some((l) => l.includes('EPARA vs Triton-like over 2 interleaved trials'))).toBe(true);
    // Each EPARA node's live dashboard is printed while it runs.
    expect(run.lines.filter((l) => /edge-\d: http:\/\/127\.0\.0\.1:\d+\/dashboard\?token=/.test(l))).toHaveLength(3);
  }, 600_000);

  // Two nodes suffice to interrupt a run (seven processes instead of ten): the interrupt paths do not depend on
  // the cluster's size, and CI's two cores are shared with the rest of the suite.
  it('stops every process when one node process crashes', async () => {
    const run = startDemo(['--quick', '--nodes', '2']);
    const children = await run.children;
    expect(children.size).toBe(7); // 2 EPARA nodes, 2 baseline sites, 2 clients, the network
    process.kill(children.get('edge-1')!, 'SIGKILL');
    const { code } = await run.exited;
    expect(code).not.toBe(0);
    expect(run.lines.join('\n')).toMatch(/edge-1 .*exited unexpectedly/);
    for (const [name, pid] of children) expect(isRunning(pid), `${name} (${pid}) still running`).toBe(false);
  }, 300_000);

  it('stops every process on Ctrl-C (SIGINT to the whole process group)', async () => {
    const run = startDemo(['--quick', '--nodes', '2']);
    const children = await run.children;
    process.kill(-run.cp.pid!, 'SIGINT');
    const { code } = await run.exited;
    expect(code).toBe(130);
    for (const [name, pid] of children) expect(isRunning(pid), `${name} (${pid}) still running`).toBe(false);
  }, 300_000);
});
