/**
 * `pnpm bench:sim-speed`: the simulator's speed on E6's setup at a size that iterates quickly, this build
 * against another build of it, rounds alternated in one process (so both see the same machine load).
 *
 *   pnpm bench:sim-speed --against /path/to/other/packages/sim/dist/index.js [--servers 200] [--seconds 60] [--rounds 6] [--warmup 2] [--workers N]
 *
 * `--workers N` runs each build's zones on N worker threads (`simulateInParallel`; a build without it runs
 * `simulate`): CPU seconds stay the whole process's, worker threads included, and wall seconds show the
 * spread; the bytes per event then count only this thread's allocations and are left out (0).
 *
 * The other build is any checkout's built sim (e.g. `git worktree add /tmp/base main && cd /tmp/base && pnpm
 * install --offline && pnpm build`), or one file bundled from it (`esbuild packages/sim/dist/index.js --bundle
 * --platform=node --format=esm --external:cli-progress --outfile=base.mjs`). Per round: CPU seconds of the process (`process.cpuUsage`), wall seconds,
 * events, events per CPU second, bytes allocated per event (bench/lib/alloc-meter.ts) and a hash of the whole
 * summary (wall-clock fields left out): speed work must leave it unchanged. Without `--against` the baseline
 * is this build itself (its ratio is then 1 by construction: the run only measures). Core is loaded from its
 * build (the script runs with bench/tsconfig.dist.json), as the other build's is. Last line: one JSON object.
 */
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startAllocMeter } from './lib/alloc-meter.js';

type SimModule = typeof import('../packages/sim/dist/index.js');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

const servers = Number(arg('servers', '200'));
const seconds = Number(arg('seconds', '60'));
const rounds = Number(arg('rounds', '6'));
/** Uncounted rounds per build first (a build's first two runs at 200 servers are its JIT warm-up: up to 2.5× and 1.4× the steady CPU time). */
const warmup = Number(arg('warmup', '2'));
const againstPath = arg('against', '');
const workers = arg('workers', '') === '' ? 0 : Number(arg('workers', ''));

const builds: [string, SimModule][] = [['this build', await import('../packages/sim/dist/index.js')]];
builds.push(['against', againstPath === '' ? builds[0]![1] : ((await import(pathToFileURL(resolve(againstPath)).href)) as SimModule)]);

interface Round { readonly cpuSec: number; readonly wallSec: number; readonly events: number; readonly bytesPerEvent: number; readonly hash: string }

/** E6's point at `servers`: runScalePoint's cluster mix, zones of 50 and load per server (E6_SCALE_PER_SERVER, 0.05). */
async function runOnce(sim: SimModule): Promise<Round> {
  const gpu = Math.round(servers / 2);
  const groups = [{ preset: 'gpu-server', count: gpu }, { preset: 'jetson', count: Math.ceil((servers - gpu) / 2) }, { preset: 'micro', count: Math.floor((servers - gpu) / 2) }].filter((g) => g.count > 0);
  const stop = startAllocMeter();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const scenario = { name: `speed-${servers}`, seed: 1, durationMs: seconds * 1000, cluster: { groups, zoneSize: 50 }, workload: sim.productionMix({ scale: servers * 0.05 }), system: { kind: 'epara' as const } };
  const parallel = (sim as Partial<SimModule>).simulateInParallel;
  const r = workers > 0 && parallel !== undefined ? await parallel(scenario, { workers }) : sim.simulate(scenario);
  const wallSec = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const bytes = stop();
  const placement = r.systemInfo['placement'] as Record<string, unknown> | undefined;
  const rest = placement === undefined ? undefined : Object.fromEntries(Object.entries(placement).filter(([k]) => !/ms$/i.test(k)));
  const hash = createHash('sha256').update(JSON.stringify({ ...r, systemInfo: { ...r.systemInfo, placement: rest } })).digest('hex').slice(0, 16);
  return { cpuSec: (cpu.user + cpu.system) / 1e6, wallSec, events: r.events, bytesPerEvent: workers > 0 ? 0 : bytes / r.events, hash };
}

const results = new Map<string, Round[]>(builds.map(([name]) => [name, []]));
console.log(`${servers} servers × ${seconds} s simulated, ${workers > 0 ? `${workers} worker thread(s)` : 'this thread'}, ${rounds} rounds per build after ${warmup} uncounted, alternated; load (uptime) ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
for (let i = 0; i < warmup; i++) for (const [, sim] of builds) await runOnce(sim);
for (let i = 0; i < rounds; i++) {
  for (const [name, sim] of i % 2 === 0 ? builds : [...builds].reverse()) {
    const x = await runOnce(sim);
    results.get(name)!.push(x);
    console.log(`${name.padEnd(10)} round ${i}: ${x.cpuSec.toFixed(2)} CPU s, ${x.wallSec.toFixed(2)} s wall, ${x.events} events, ${(x.events / x.cpuSec / 1e6).toFixed(3)} M events per CPU s, ${Math.round(x.bytesPerEvent)} bytes per event, summary ${x.hash}, load ${loadavg()[0]!.toFixed(1)}`);
  }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const stats = (rs: readonly Round[]): { medianCpuSec: number; minCpuSec: number; eventsPerCpuSec: number; bytesPerEvent: number } => ({
  medianCpuSec: Math.round(median(rs.map((r) => r.cpuSec)) * 100) / 100,
  minCpuSec: Math.round(Math.min(...rs.map((r) => r.cpuSec)) * 100) / 100,
  eventsPerCpuSec: Math.round(rs[0]!.events / median(rs.map((r) => r.cpuSec))),
  bytesPerEvent: Math.round(median(rs.map((r) => r.bytesPerEvent))),
});
const mine = stats(results.get('this build')!);
const base = stats(results.get('against')!);
const hashes = new Set([...results.values()].flat().map((r) => `${r.events}/${r.hash}`));
console.log(`this build: median ${mine.medianCpuSec} CPU s (min ${mine.minCpuSec}), ${mine.eventsPerCpuSec.toLocaleString()} events per CPU s, ${mine.bytesPerEvent} bytes per event`);
console.log(`against:    median ${base.medianCpuSec} CPU s (min ${base.minCpuSec}), ${base.eventsPerCpuSec.toLocaleString()} events per CPU s, ${base.bytesPerEvent} bytes per event`);
console.log(`this build ÷ against, CPU s: median ${(mine.medianCpuSec / base.medianCpuSec).toFixed(3)}, min ${(mine.minCpuSec / base.minCpuSec).toFixed(3)}; same events and summary in every round: ${hashes.size === 1}`);
console.log(JSON.stringify({
  servers, seconds, rounds, workers, against: againstPath === '' ? null : againstPath, load: loadavg()[0],
  events: results.get('this build')![0]!.events, sameSummary: hashes.size === 1,
  thisBuild: mine, againstBuild: base,
  cpuRatioMedian: Math.round((mine.medianCpuSec / base.medianCpuSec) * 1000) / 1000,
  cpuRatioMin: Math.round((mine.minCpuSec / base.minCpuSec) * 1000) / 1000,
}));
