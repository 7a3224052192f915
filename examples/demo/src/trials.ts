import type { DemoWorld } from './workload.js';
import { performance } from 'node:perf_hooks';
import type { Category } from '@epara/core';
import type { DemoServiceId, DemoServiceInfo } from './catalog.js';
import type { Child, ChildGroup } from './cluster/children.js';
import type { ClientRun, SystemName } from './cluster/client-process.js';
import type { Cluster } from './cluster/cluster.js';
import { availableParallelism } from 'node:os';
import { splitThreads, type BatchCount, type RunCpu } from './cpu-accounting.js';
import { machineBusyMs, mainThreadCpuMs, processCpuMs, threadCpuMs } from './reliability.js';
import type { EntryDecisions } from './entry-decisions.js';
import type { GcCounts } from './cluster/gc-meter.js';
import type { DeviceUsage } from './device-usage.js';
import { summarize, type SystemReport } from './report.js';
import { Tally, type ServiceTally, type TallySeries } from './tally.js';

/** What {@link runSystem} needs. */
export interface TrialContext {
  readonly cluster: Cluster;
  readonly group: ChildGroup;
  readonly nodes: number;
  /** The services as the tables read them. */
  readonly services: readonly DemoServiceInfo[];
  readonly categories: Readonly<Record<string, Category>>;
  readonly log: (line: string) => void;
  /** Seconds between two live progress lines. */
  readonly progressEverySec: number;
  /** Which world the clients replay. @default 'edge' */
  readonly world?: DemoWorld;
}

/** One system's run on one seeded workload. */
export interface SystemRun {
  readonly system: SystemName;
  readonly report: SystemReport;
  readonly series: TallySeries;
  /** Node counters over the run (EPARA: the mesh's; the baseline: forwards by its load balancers). */
  readonly counters: Readonly<Record<string, number>>;
  /** Per entry node (index), what its clients counted, service by service. */
  readonly byEntry: readonly Readonly<Record<DemoServiceId, ServiceTally>>[];
  /** CPU time each process used during the run (the system's node processes, the clients, the network), ms. */
  readonly cpuMs: Readonly<Record<string, number>>;
  /** CPU time of each node process's main thread (its event loop) during the run, ms: the rest is its device. */
  readonly mainThreadCpuMs: Readonly<Record<string, number>>;
  /** Wall time from the run's start to its last item settled, ms (what `cpuMs` was measured over). */
  readonly wallMs: number;
  /** Per node (index), requests it forwarded to another node, by service. */
  readonly nodeOffloads: readonly Readonly<Record<string, number>>[];
  /** EPARA: per node (index), what it decided for each request entering there, and how each decision fared. */
  readonly decisions?: readonly EntryDecisions[];
  /** EPARA: per node (index), the batch sizes its device ran, per service (`size → batches`). */
  readonly packs?: readonly Readonly<Record<string, Readonly<Record<string, number>>>>[];
  /** EPARA: per node (index), its device's and event loop's busy time and each service's work on the device. */
  readonly usage?: readonly DeviceUsage[];
  /** Every process's CPU over the run by thread, the demo's own and the machine's (see `cpu-accounting.ts`). */
  readonly cpu: RunCpu;
  /** Per node (index): the batches its device ran per service (chat's generation steps not counted). */
  readonly nodeBatches: readonly Readonly<Record<string, BatchCount>>[];
}

type Taken = { decisions: EntryDecisions; packs: Record<string, Record<string, number>>; usage: DeviceUsage };

type Stats = { offloads: Record<string, number> } & Record<string, unknown>;

async function nodeStats(nodes: readonly Child[]): Promise<Stats[]> {
  return Promise.all(nodes.map((n) => n.call<Stats>('stats')));
}

function sumStats(before: readonly Stats[], after: readonly Stats[]): { offloads: Record<string, number>; counters: Record<string, number>; perNode: Record<string, number>[]; perNodeCounters: Record<string, number>[] } {
  const offloads: Record<string, number> = {};
  const counters: Record<string, number> = {};
  const perNode = after.map(() => ({}) as Record<string, number>);
  const perNodeCounters = after.map(() => ({}) as Record<string, number>);
  after.forEach((a, i) => {
    const b = before[i]!;
    for (const [k, v] of Object.entries(a.offloads)) {
      offloads[k] = (offloads[k] ?? 0) + v - (b.offloads[k] ?? 0);
      perNode[i]![k] = v - (b.offloads[k] ?? 0);
    }
    for (const [k, v] of Object.entries(a)) {
      if (typeof v !== 'number') continue;
      // A counter that appeared during the run (a batcher configured since) counts from zero.
      const d = v - (typeof b[k] === 'number' ? (b[k] as number) : 0);
      perNodeCounters[i]![k] = d;
      if (typeof b[k] === 'number') counters[k] = (counters[k] ?? 0) + d;
    }
  });
  return { offloads, counters, perNode, perNodeCounters };
}

/** Merges the clients' counts into one tally and one per-second series. */
export function mergeRuns(runs: readonly ClientRun[], services: readonly DemoServiceInfo[]): { tally: Tally; series: TallySeries } {
  const tally = new Tally(services);
  const series: TallySeries = { offered: [], good: [] };
  const add = (into: number[], from: readonly number[]): void =>
    from.forEach((v, k) => {
      while (into.length <= k) into.push(0);
      into[k]! += v;
    });
  for (const r of runs) {
    for (const s of services) {
      const t = tally.services[s.id];
      const x = r.services[s.id];
      t.offered += x.offered;
      t.good += x.good;
      t.late += x.late;
      t.droppedEarly += x.droppedEarly;
      t.offloads += x.offloads;
      for (const [node, n] of Object.entries(x.servedAt)) t.servedAt[node] = (t.servedAt[node] ?? 0) + n;
      t.latencies.push(...x.latencies);
      for (const [code, n] of Object.entries(x.dropped)) t.dropped[code] = (t.dropped[code] ?? 0) + n;
    }
    add(series.offered, r.series.offered);
    add(series.good, r.series.good);
  }
  return { tally, series };
}

/**
 * Runs one system on one seeded workload: every client process replays its entry's share from the same
 * start instant; live progress is printed from the clients' reports; the result merges every client's counts.
 */
export async function runSystem(ctx: TrialContext, o: { system: SystemName; label: string; seed: number; load: number; durationMs: number }): Promise<SystemRun> {
  const nodes = o.system === 'epara' ? ctx.cluster.epara : ctx.cluster.triton;
  const before = await nodeStats(nodes);
  // EPARA's nodes count decisions and pack sizes since their last take: start this run's counts from zero.
  if (o.system === 'epara') await Promise.all(nodes.map((n) => n.call<Taken>('take')));
  const measured = [...nodes, ...ctx.cluster.clients, ctx.cluster.wire];
  // Every child's threads (the other system's idle nodes too), this process and the machine: the accounting.
  const everyChild = [...ctx.cluster.epara, ...ctx.cluster.triton, ...ctx.cluster.clients, ctx.cluster.wire];
  // Collections and allocations of the serving nodes and the clients over the run (gc-meter.ts).
  const metered = [...nodes, ...ctx.cluster.clients];
  await Promise.all(metered.map((c) => c.call('gcStart')));
  const threadsBefore = everyChild.map((c) => threadCpuMs(c.pid));
  const machineBefore = machineBusyMs();
  const selfBefore = process.cpuUsage();
  const cpuBefore = measured.map((c) => processCpuMs(c.pid));
  const mainBefore = nodes.map((c) => mainThreadCpuMs(c.pid));
  const wallStart = performance.now();
  const live = new Map<string, { offered: number; settled: number; good: number; dropped: number }>();
  const onEvent = (e: { child: string; name: string; value: unknown }): void => {
    if (e.name === 'progress') live.set(e.child, e.value as { offered: number; settled: number; good: number; dropped: number });
  };
  ctx.group.on('event', onEvent);
  const startAt = Date.now() + 300;
  const t0 = performance.now() + 300;
  const timer = setInterval(() => {
    const sum = (k: 'offered' | 'settled' | 'good' | 'dropped'): number => [...live.values()].reduce((a, v) => a + v[k], 0);
    const secs = Math.max(0, (performance.now() - t0) / 1000);
    ctx.log(`  ${o.label.padEnd(24)} ${Math.min(secs, o.durationMs / 1000).toFixed(0).padStart(3)}/${(o.durationMs / 1000).toFixed(0)} s  done ${sum('settled')}/${sum('offered')}  goodput ${(sum('good') / Math.max(secs, 0.001)).toFixed(0)}/s  drops ${sum('dropped')}`);
  }, ctx.progressEverySec * 1000);
  let runs: ClientRun[];
  try {
    runs = await Promise.all(ctx.cluster.clients.map((c) => c.call<ClientRun>('run', { system: o.system, seed: o.seed, load: o.load, nodes: ctx.nodes, durationMs: o.durationMs, world: ctx.world ?? 'edge', startAt })));
  } finally {
    clearInterval(timer);
    ctx.group.off('event', onEvent);
  }
  const cpuMs = Object.fromEntries(measured.map((c, i) => [c.name, processCpuMs(c.pid) - cpuBefore[i]!]));
  const mainMs = Object.fromEntries(nodes.map((c, i) => [c.name, mainThreadCpuMs(c.pid) - mainBefore[i]!]));
  const machineAfter = machineBusyMs();
  const self = process.cpuUsage(selfBefore);
  const hasDevice = new Set([...ctx.cluster.epara, ...ctx.cluster.triton]);
  const gc = await Promise.all(metered.map((c) => c.call<GcCounts>('gcStop')));
  const cpu: RunCpu = {
    wallMs: performance.now() - wallStart,
    cores: availableParallelism(),
    machineBusyMs: machineBefore === null || machineAfter === null ? null : machineAfter - machineBefore,
    orchestratorMs: (self.user + self.system) / 1000,
    processes: Object.fromEntries(everyChild.map((c, i) => [c.name, splitThreads(c.pid, threadsBefore[i]!, threadCpuMs(c.pid), hasDevice.has(c))])),
    gc: Object.fromEntries(metered.map((c, i) => [c.name, gc[i]!])),
  };
  const { offloads, counters, perNode, perNodeCounters } = sumStats(before, await nodeStats(nodes));
  const taken = o.system === 'epara' ? await Promise.all(nodes.map((n) => n.call<Taken>('take'))) : undefined;
  const { tally, series } = mergeRuns(runs, ctx.services);
  const name = o.system === 'epara' ? 'EPARA' : 'Triton-like';
  const report = summarize({ system: name, catalog: ctx.services, categories: ctx.categories, tally, offloads, seconds: o.durationMs / 1000 });
  // Batches per node and service: EPARA's from its device usage, the baseline's from its batchers' counters.
  const nodeBatches = taken
    ? taken.map((t) => Object.fromEntries(Object.entries(t.usage.services).map(([id, u]) => [id, { batches: u.batches, items: u.items }])))
    : perNodeCounters.map((c) => Object.fromEntries(Object.entries(c).filter(([k]) => k.startsWith('batches:')).map(([k, n]) => [k.slice('batches:'.length), { batches: n, items: c[`batchItems:${k.slice('batches:'.length)}`] ?? 0 }])));
  return { system: o.system, report, series, counters, byEntry: runs.map((r) => r.services), nodeOffloads: perNode, cpuMs, mainThreadCpuMs: mainMs, wallMs: performance.now() - wallStart, cpu, nodeBatches, ...(taken ? { decisions: taken.map((t) => t.decisions), packs: taken.map((t) => t.packs), usage: taken.map((t) => t.usage) } : {}) };
}
