import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { capacityLoad, tritonAt } from './calibrate.js';
import { bytesPerMs } from './capacity-search.js';
import { serviceInfo } from './catalog.js';
import { ChildGroup } from './cluster/children.js';
import { startCluster } from './cluster/cluster.js';
import type { SystemName } from './cluster/client-process.js';
import { profileLines, sourceMapResolver, summarizeProfile, type CpuProfile } from './cpu-profile.js';
import { buildLanguageModel } from './models.js';
import { NO_GC, addGcCounts } from './cluster/gc-meter.js';
import { NODE_DEFAULTS } from '@epara/mesh';
import { MEASURED_MAX_SHARE, linkDelayMs, resolveDemoOptions } from './options.js';
import { nodeIds, planPlacement } from './placement.js';
import { measureProfiles, type DemoProfiles } from './profiles.js';
import { demoServices } from './services.js';
import { runSystem, type TrialContext } from './trials.js';
import { buildWorkload } from './workload.js';

/*
 * CPU per item of each system's node processes at one fixed offered load: starts the demo's cluster, places
 * EPARA and configures the baseline for that load, warms both up, then runs them alternately and prints, per
 * run and node process, the CPU ms per offered item (the whole process and its event loop apart, from /proc).
 * With `--profile <dir>` it also records a V8 CPU profile of every node process's event loop over each run and
 * prints where that time went, per area of the code and per function (cpu-profile.ts); `--heap` adds a sampling
 * heap profile beside each (where the garbage collector's work comes from); `--promoted` one of the objects that
 * outlived the young generation only (what the full collections collect). CPU per item is much
 * steadier on a busy machine than wall-clock figures (a busy machine still inflates it somewhat: caches, the
 * frequency, more failure paths when items miss).
 *
 *   npx tsx examples/demo/src/cpu-per-item.ts [--load ×2] [--duration 10] [--runs 1] [--profile dir]
 *     [--heap] [--profiles profiles.json] [--seed 42] [--system both|epara|triton] [--consolidate <hand-off ms>]
 *
 * `--load` is a multiple of the base mix (not a fraction of a measured capacity, which moves with the
 * profiles); `--profiles <file>` reuses the profiles of an earlier run (written there when missing), so that two
 * runs place EPARA and configure the baseline alike (EPARA is placed on the configured link delays). The baseline
 * runs at `max_queue_delay` 0.
 */

const { values: a } = parseArgs({
  options: {
    load: { type: 'string', default: '2' },
    duration: { type: 'string', default: '10' },
    runs: { type: 'string', default: '1' },
    profile: { type: 'string' },
    heap: { type: 'boolean', default: false },
    promoted: { type: 'boolean', default: false },
    profiles: { type: 'string' },
    seed: { type: 'string', default: '42' },
    system: { type: 'string', default: 'both' },
    consolidate: { type: 'string' },
  },
});

const o = resolveDemoOptions({ seed: Number(a.seed), duration: Number(a.duration) });
const load = Number(a.load);
const runs = Number(a.runs);
const systems: SystemName[] = a.system === 'epara' ? ['epara'] : a.system === 'triton' ? ['triton'] : ['epara', 'triton'];
const group = new ChildGroup();

/**
 * CPU ms of each thread of a process so far, summed by thread name (`/proc/<pid>/task/<tid>/stat`): the event loop
 * (the first thread), the device's worker thread, V8's helper threads (garbage collection, compilation), libuv's
 * pool. Empty without `/proc`.
 */
function threadCpuMs(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = tid === String(pid) ? 'event loop' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).trim();
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[name] = (out[name] ?? 0) + ((Number(f[11]) + Number(f[12])) * 1000) / 100;
    }
  } catch {
    // gone, or no /proc
  }
  return out;
}

async function profilesFor(lm: Uint8Array): Promise<DemoProfiles> {
  if (a.profiles !== undefined && existsSync(a.profiles)) return JSON.parse(readFileSync(a.profiles, 'utf8')) as DemoProfiles;
  const p = await measureProfiles({ lm, repetitions: 3 });
  if (a.profiles !== undefined) writeFileSync(a.profiles, JSON.stringify(p));
  return p;
}

async function run(): Promise<void> {
  const lm = buildLanguageModel(o.seed);
  const profiles = await profilesFor(lm);
  const networkBudgetMs = Math.ceil(2 * o.delayMs[1] + 2);
  const services = demoServices({ profiles, lm, networkBudgetMs });
  const cluster = await startCluster({ group, nodes: o.nodes, seed: o.seed, services: services.map(serviceInfo), profiles, networkBudgetMs, delayMs: (i, j) => linkDelayMs(o, i, j), bytesPerMs: bytesPerMs(o), syncPeriodMs: NODE_DEFAULTS.syncPeriodMs });
  const ids = nodeIds(o.nodes);
  const forecast = buildWorkload({ durationMs: o.durationMs, load, nodes: o.nodes, seed: o.seed });
  // Placed on the configured delays, not the measured ones (which move with the machine's load): two runs with
  // the same profiles place EPARA alike.
  const configured = ids.map((_, i) => ids.map((__, j) => linkDelayMs(o, i, j)));
  // `--consolidate <ms>`: EPARA's stream replicas consolidated at that hand-off per batch (`--plan-costs consolidate`
  // with a given figure instead of the warm-up's), every service at its profile.
  const handoffMs = a.consolidate === undefined ? undefined : Number(a.consolidate);
  const placed = planPlacement(services, forecast, o.nodes, configured, bytesPerMs(o), handoffMs === undefined ? {} : { consolidate: { handoffMs, maxShare: MEASURED_MAX_SHARE } });
  await cluster.place(placed.instances);
  await cluster.configureTriton(tritonAt({ specs: services, nodes: o.nodes, seed: o.seed, durationMs: o.durationMs }, load, 0));
  const cap = capacityLoad({ specs: services, nodes: o.nodes, seed: o.seed, durationMs: o.durationMs });
  console.log(`load ×${load} the base mix (${((100 * load) / cap).toFixed(1)}% of the measured capacity ×${cap.toFixed(2)}); EPARA placement: ${placed.instances.map((p) => `${p.serviceId}@${p.serverId}`).join(' ')}`);
  const ctx: TrialContext = { cluster, group, nodes: o.nodes, services: services.map(serviceInfo), categories: placed.categories, log: () => undefined, progressEverySec: 3600 };
  for (const system of systems) await runSystem(ctx, { system, label: 'warm-up', seed: o.seed + 999, load, durationMs: 3000 });
  if (a.profile !== undefined) mkdirSync(a.profile, { recursive: true });
  const resolve = sourceMapResolver();
  for (let r = 0; r < runs; r++) {
    for (const system of r % 2 === 0 ? systems : [...systems].reverse()) {
      const nodes = system === 'epara' ? cluster.epara : cluster.triton;
      if (a.profile !== undefined) await Promise.all(nodes.map((n) => n.call('cpuProfileStart', { heap: a.promoted ? 'promoted' : a.heap })));
      const wireBefore = await cluster.wire.call<number>('bytes');
      const threadsBefore = nodes.map((n) => threadCpuMs(n.pid));
      const res = await runSystem(ctx, { system, label: system, seed: o.seed + r, load, durationMs: o.durationMs });
      const threads: Record<string, number> = {};
      nodes.forEach((n, i) => {
        for (const [name, ms] of Object.entries(threadCpuMs(n.pid))) threads[name] = (threads[name] ?? 0) + ms - (threadsBefore[i]![name] ?? 0);
      });
      const wireBytes = (await cluster.wire.call<number>('bytes')) - wireBefore;
      const files = nodes.map((n) => join(a.profile ?? '', `${system}-${r}-${n.name}.cpuprofile`));
      type Stopped = { gc: Record<string, { count: number; ms: number }>; heapUsedBytes: number; rssBytes: number };
      const stopped = a.profile !== undefined ? await Promise.all(nodes.map((n, i) => n.call<Stopped>('cpuProfileStop', files[i]))) : [];
      const items = res.report.services.reduce((s, x) => s + x.offered, 0);
      const per = (ms: number): string => ((1000 * ms) / Math.max(1, items)).toFixed(0);
      const nodeMs = nodes.reduce((s, n) => s + (res.cpuMs[n.name] ?? 0), 0);
      const loopMs = nodes.reduce((s, n) => s + (res.mainThreadCpuMs[n.name] ?? 0), 0);
      console.log(`\n${system} run ${r + 1}: ${items} items, attainment ${(100 * res.report.overall.attainment).toFixed(1)}%, wall ${(res.wallMs / 1000).toFixed(1)} s (under load: not a figure)`);
      console.log(`  CPU µs per offered item: node processes ${per(nodeMs)} (event loops ${per(loopMs)}, devices ${per(nodeMs - loopMs)})`);
      console.log(`  by thread (all node processes): ${Object.entries(threads).filter(([, ms]) => ms > 0).sort((x, y) => y[1] - x[1]).map(([name, ms]) => `${name} ${per(ms)}`).join(', ')}`);
      for (const n of nodes) console.log(`    ${n.name.padEnd(9)} ${per(res.cpuMs[n.name] ?? 0).padStart(6)} (event loop ${per(res.mainThreadCpuMs[n.name] ?? 0)})`);
      const forwards = res.nodeOffloads.reduce((sum, o) => sum + Object.values(o).reduce((x, n) => x + n, 0), 0);
      console.log(`  between the nodes: ${(wireBytes / 2 ** 20).toFixed(1)} MiB over the links (${(wireBytes / 1024 / Math.max(1, items)).toFixed(1)} KB per item), ${forwards} requests forwarded (${Object.entries(res.nodeOffloads.reduce<Record<string, number>>((acc, o) => { for (const [k, n] of Object.entries(o)) acc[k] = (acc[k] ?? 0) + n; return acc; }, {})).map(([k, n]) => `${k} ${n}`).join(', ')})`);
      const gc = nodes.map((n) => res.cpu.gc?.[n.name] ?? NO_GC).reduce(addGcCounts, NO_GC);
      const perK = (n: number): string => ((1000 * n) / Math.max(1, items)).toFixed(1);
      const kb = (bytes: number): string => (bytes / 1024 / Math.max(1, items)).toFixed(1);
      console.log(`  GC of the node processes per 1,000 offered items: ${perK(gc.scavenges)} scavenges, ${perK(gc.markCompacts)} mark-compacts, ${perK(gc.incrementalSteps)} incremental steps, pauses ${(gc.pauseMs / Math.max(1, items)).toFixed(3)} ms per item; allocated per item: heap ${kb(gc.heapBytes)} KB, external ${kb(gc.externalBytes)} KB`);
      for (const n of nodes) {
        const g = res.cpu.gc?.[n.name] ?? NO_GC;
        console.log(`    ${n.name.padEnd(9)} scavenges ${g.scavenges}, mark-compacts ${g.markCompacts}, heap ${(g.heapBytes / 2 ** 20).toFixed(0)} MiB, external ${(g.externalBytes / 2 ** 20).toFixed(0)} MiB`);
      }
      const c = res.counters;
      // Per service: what was served, what was lost and how, and how many device runs it took (EPARA: the packs its
      // executors dispatched; the baseline: its dynamic batchers' batches, chat's generation steps not counted).
      for (const sv of res.report.services) {
        const runsOf = system === 'epara' ? (res.packs ?? []).reduce((sum, p) => sum + Object.values(p[sv.serviceId] ?? {}).reduce((x, n) => x + n, 0), 0) : (c[`batches:${sv.serviceId}`] ?? 0);
        const itemsRun = system === 'epara' ? (res.packs ?? []).reduce((sum, p) => sum + Object.entries(p[sv.serviceId] ?? {}).reduce((x, [size, n]) => x + Number(size) * n, 0), 0) : (c[`batchItems:${sv.serviceId}`] ?? 0);
        const drops = Object.entries(sv.dropped).map(([code, n]) => `${code}:${n}`).join(' ');
        console.log(`  ${sv.serviceId.padEnd(6)} offered ${String(sv.offered).padStart(5)}  good ${(100 * sv.attainment).toFixed(1).padStart(5)}%  late ${sv.late}  ${drops || 'no drops'};  ${runsOf} runs of ${itemsRun} items${runsOf > 0 ? ` (mean ${(itemsRun / runsOf).toFixed(2)})` : ''}`);
      }
      if (system === 'epara') console.log(`  mesh: ${c['syncRounds'] ?? 0} sync rounds, ${c['syncFramesSent'] ?? 0} sync frames (${(((c['syncBytesSent'] ?? 0) as number) / 1024).toFixed(0)} KiB) of ${c['bytesSent'] !== undefined ? ((c['bytesSent'] as number) / 1024).toFixed(0) : '?'} KiB sent between nodes; ${c['offloaded'] ?? 0} requests offloaded, ${c['ranLocally'] ?? 0} run where they entered`);
      const others = Object.entries(res.cpuMs).filter(([name]) => !nodes.some((n) => n.name === name));
      console.log(`  clients and network: ${others.map(([name, ms]) => `${name} ${per(ms)}`).join(', ')}`);
      if (a.profile === undefined) continue;
      for (const [i, st] of stopped.entries()) {
        const gc = Object.entries(st.gc).map(([kind, g]) => `${kind} ${g.count} (${g.ms.toFixed(0)} ms)`).join(', ');
        console.log(`  ${nodes[i]!.name}: heap ${(st.heapUsedBytes / 2 ** 20).toFixed(0)} MiB used, rss ${(st.rssBytes / 2 ** 20).toFixed(0)} MiB; GC pauses: ${gc || 'none'}`);
      }
      const summaries = files.map((f) => summarizeProfile(JSON.parse(readFileSync(f, 'utf8')) as CpuProfile, resolve));
      const merged = summaries.reduce((acc, s) => {
        const sum = (x: Readonly<Record<string, number>>, y: Readonly<Record<string, number>>): Record<string, number> => {
          const out = { ...x };
          for (const [k, v] of Object.entries(y)) out[k] = (out[k] ?? 0) + v;
          return out;
        };
        return { busyMs: acc.busyMs + s.busyMs, selfByArea: sum(acc.selfByArea, s.selfByArea), inclusiveByArea: sum(acc.inclusiveByArea, s.inclusiveByArea), selfByFunction: sum(acc.selfByFunction, s.selfByFunction), inclusiveByFunction: sum(acc.inclusiveByFunction, s.inclusiveByFunction) };
      });
      console.log(`  event loops of ${ids.length} node processes, profiled (${files.join(', ')}):`);
      for (const line of profileLines(merged, items, 30, loopMs)) console.log(`    ${line}`);
    }
  }
}

run()
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await group.closeAll();
    process.exit();
  });
