/*
 * Where the host's CPU went during the trials, per process role and thread, per good item: the EPARA nodes and
 * the baseline's sites (main thread: the event loop with the mesh or the load balancer; device thread: the
 * worker that runs the backend; other threads: V8's garbage collector and compiler, libuv's pool), the clients,
 * the network and the demo's own process, against the machine's busy time over the same runs. On two cores
 * shared by ten processes the system that spends less host CPU per item served has more of the cores left for
 * its devices, whatever its policy: these counts say which one does, and where.
 */
import { table } from './format.js';
import { NO_GC, addGcCounts, type GcCounts } from './cluster/gc-meter.js';
import type { TrialPair } from './summary.js';

/** CPU one process used over a run, split by thread, ms. */
export interface ThreadSplit {
  readonly main: number;
  readonly device: number;
  readonly other: number;
}

/** The CPU accounting of one run. */
export interface RunCpu {
  /** Wall time the readings span, ms. */
  readonly wallMs: number;
  readonly cores: number;
  /** Busy CPU time of the whole machine over the run (every process), ms; `null` without `/proc`. */
  readonly machineBusyMs: number | null;
  /** The demo's main process (orchestration, progress), ms. */
  readonly orchestratorMs: number;
  /** Every child process of the demo by name (`edge-0`, `triton-0`, `client-0`, `wire`), split by thread. */
  readonly processes: Readonly<Record<string, ThreadSplit>>;
  /** The serving system's nodes and the clients by name: their collections and allocations (gc-meter.ts). */
  readonly gc?: Readonly<Record<string, GcCounts>>;
}

/** Batches a node's device ran for one service over a run (chat's generation steps are not batches here). */
export interface BatchCount {
  readonly batches: number;
  readonly items: number;
}

/**
 * A process's CPU between two per-thread readings (`threadCpuMs`: thread id → ms): the main thread is the one
 * whose id is the pid; with a device, its thread is the busiest of the others (Node names every thread `node`,
 * and a node process's device worker runs the backend: no helper thread comes near it); the rest is `other`. A
 * thread that started during the run counts from zero; one that ended is lost (a small error).
 */
export function splitThreads(pid: number, before: Readonly<Record<string, number>>, after: Readonly<Record<string, number>>, hasDevice: boolean): ThreadSplit {
  let main = 0;
  const others: number[] = [];
  for (const [tid, ms] of Object.entries(after)) {
    const d = Math.max(0, ms - (before[tid] ?? 0));
    if (tid === String(pid)) main = d;
    else others.push(d);
  }
  others.sort((a, b) => b - a);
  const device = hasDevice && others.length > 0 ? others[0]! : 0;
  const other = others.reduce((a, b) => a + b, 0) - device;
  return { main, device, other };
}

/** A run of one system, as the accounting reads it. */
export interface AccountedRun {
  readonly system: 'epara' | 'triton';
  readonly cpu?: RunCpu;
  /** Items within their SLO over the run. */
  readonly good: number;
  /** Per node (index): batches and items its device ran per service. */
  readonly nodeBatches?: readonly Readonly<Record<string, BatchCount>>[];
  /** Seconds of offered load (the run's duration). */
  readonly seconds: number;
}

type Role = 'EPARA nodes' | 'baseline sites' | 'clients' | 'network' | 'demo main process';

function roleOf(name: string): Role | undefined {
  if (name.startsWith('edge-')) return 'EPARA nodes';
  if (name.startsWith('triton-')) return 'baseline sites';
  if (name.startsWith('client-')) return 'clients';
  if (name === 'wire') return 'network';
  return undefined;
}

/** Per system, per role: summed thread CPU over that system's runs. */
interface Summed {
  runs: number;
  good: number;
  wallMs: number;
  cores: number;
  machineBusyMs: number | null;
  roles: Map<string, { processes: number; split: { main: number; device: number; other: number } }>;
}

function sum(runs: readonly AccountedRun[]): Summed | undefined {
  const measured = runs.filter((r) => r.cpu !== undefined);
  if (measured.length === 0) return undefined;
  const s: Summed = { runs: measured.length, good: 0, wallMs: 0, cores: measured[0]!.cpu!.cores, machineBusyMs: 0, roles: new Map() };
  for (const r of measured) {
    const c = r.cpu!;
    s.good += r.good;
    s.wallMs += c.wallMs;
    s.machineBusyMs = s.machineBusyMs === null || c.machineBusyMs === null ? null : s.machineBusyMs + c.machineBusyMs;
    const add = (role: string, t: ThreadSplit, processes: number): void => {
      const into = s.roles.get(role) ?? { processes, split: { main: 0, device: 0, other: 0 } };
      into.split.main += t.main;
      into.split.device += t.device;
      into.split.other += t.other;
      s.roles.set(role, into);
    };
    const serving = r.system === 'epara' ? 'EPARA nodes' : 'baseline sites';
    const names = Object.keys(c.processes);
    for (const [name, t] of Object.entries(c.processes)) {
      const role = roleOf(name);
      if (role === undefined) continue;
      // The other system's nodes sit idle during this run, but not at no cost (ring sync, timers).
      const label = role === 'EPARA nodes' || role === 'baseline sites' ? (role === serving ? role : `${role} (idle)`) : role;
      add(label, t, names.filter((n) => roleOf(n) === role).length);
    }
    add('demo main process', { main: c.orchestratorMs, device: 0, other: 0 }, 1);
  }
  return s;
}

const ROLE_ORDER = ['EPARA nodes', 'baseline sites', 'clients', 'network', 'EPARA nodes (idle)', 'baseline sites (idle)', 'demo main process'];

const total = (t: { main: number; device: number; other: number }): number => t.main + t.device + t.other;

/**
 * The report's table: per system and process role, CPU ms per good item by thread, and each role's share of the
 * machine (of `cores` × the runs' wall time); then, per system, the machine's busy time against the demo's
 * processes and the rest (other processes: what the demo did not run).
 */
export function cpuAccountingRows(runs: readonly AccountedRun[]): { rows: string[]; check: string[] } {
  const head = ['system', 'role', 'processes', 'main thread', 'device thread', 'other threads', 'total ms / good item', 'share of the machine'];
  const rows: string[][] = [];
  const check: string[] = [];
  for (const system of ['epara', 'triton'] as const) {
    const s = sum(runs.filter((r) => r.system === system));
    if (!s) continue;
    const name = system === 'epara' ? 'EPARA' : 'Triton-like';
    const capacity = s.cores * s.wallMs;
    const per = (ms: number): string => (s.good > 0 ? (ms / s.good).toFixed(2) : '-');
    let ours = 0;
    for (const role of ROLE_ORDER) {
      const r = s.roles.get(role);
      if (!r) continue;
      ours += total(r.split);
      rows.push([name, role, String(r.processes), per(r.split.main), per(r.split.device), per(r.split.other), per(total(r.split)), `${((100 * total(r.split)) / capacity).toFixed(1)}%`]);
    }
    const busy = s.machineBusyMs;
    const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} core-s`;
    check.push(
      busy === null
        ? `${name}: ${s.runs} runs, ${s.good} good items; the demo's processes used ${secs(ours)} (no /proc: the machine's total is not known)`
        : `${name}: ${s.runs} runs over ${(s.wallMs / 1000).toFixed(1)} s, ${s.good} good items; the machine was busy ${secs(busy)} of ${secs(capacity)} (${((100 * busy) / capacity).toFixed(0)}%): the demo's processes ${secs(ours)} (the rows above), other processes ${secs(Math.max(0, busy - ours))}${ours > busy * 1.02 ? ' (the rows exceed the machine: a thread read twice?)' : ''}`,
    );
  }
  return { rows: rows.length ? table([head, ...rows]) : [], check };
}

/**
 * The report's table of collections: per system and process role (the serving nodes, the clients), per 1,000
 * good items, the young-generation collections (scavenges) and full ones (mark-compact), the pauses they took on
 * the main thread, and per good item the V8 heap bytes and the external (ArrayBuffer) bytes allocated: the work
 * behind the `other threads` column of the CPU table.
 */
export function gcRows(runs: readonly AccountedRun[]): string[] {
  const head = ['system', 'role', 'scavenges / 1k good', 'mark-compacts / 1k good', 'GC pause ms / good item', 'heap KB / good item', 'external KB / good item'];
  const rows: string[][] = [];
  for (const system of ['epara', 'triton'] as const) {
    const of = runs.filter((r) => r.system === system && r.cpu?.gc !== undefined);
    const good = of.reduce((a, r) => a + r.good, 0);
    if (of.length === 0 || good === 0) continue;
    const byRole = new Map<string, GcCounts>();
    for (const r of of) {
      for (const [name, g] of Object.entries(r.cpu!.gc!)) {
        const role = roleOf(name);
        if (role === undefined) continue;
        byRole.set(role, addGcCounts(byRole.get(role) ?? NO_GC, g));
      }
    }
    for (const role of ROLE_ORDER) {
      const g = byRole.get(role);
      if (!g) continue;
      const k = (n: number): string => ((1000 * n) / good).toFixed(1);
      const kb = (bytes: number): string => (bytes / 1024 / good).toFixed(1);
      rows.push([system === 'epara' ? 'EPARA' : 'Triton-like', role, k(g.scavenges), k(g.markCompacts), (g.pauseMs / good).toFixed(3), kb(g.heapBytes), kb(g.externalBytes)]);
    }
  }
  return rows.length ? table([head, ...rows]) : [];
}

/** The report's second table: per system, node and service, batches per second and the mean batch over the runs. */
export function batchRows(runs: readonly AccountedRun[], nodeIds: readonly string[]): string[] {
  const rows: string[][] = [];
  for (const system of ['epara', 'triton'] as const) {
    const of = runs.filter((r) => r.system === system && r.nodeBatches !== undefined);
    const seconds = of.reduce((a, r) => a + r.seconds, 0);
    const by = new Map<string, { batches: number; items: number }>();
    for (const r of of) {
      r.nodeBatches!.forEach((services, node) => {
        for (const [service, b] of Object.entries(services)) {
          const key = `${node}\u0000${service}`;
          const into = by.get(key) ?? { batches: 0, items: 0 };
          into.batches += b.batches;
          into.items += b.items;
          by.set(key, into);
        }
      });
    }
    for (const [key, b] of [...by].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
      if (b.batches === 0) continue;
      const [node, service] = key.split('\u0000');
      rows.push([system === 'epara' ? 'EPARA' : 'Triton-like', nodeIds[Number(node)] ?? node!, service!, (b.batches / Math.max(1e-9, seconds)).toFixed(1), (b.items / b.batches).toFixed(2)]);
    }
  }
  return rows.length ? table([['system', 'node', 'service', 'batches / s', 'mean batch'], ...rows]) : [];
}

/**
 * One line for the final table: CPU ms per good item of each system's serving nodes (main thread / device
 * thread) and clients, over the runs given.
 */
export function cpuPerItemLine(runs: readonly AccountedRun[]): string | undefined {
  const parts: string[] = [];
  for (const system of ['epara', 'triton'] as const) {
    const s = sum(runs.filter((r) => r.system === system));
    if (!s || s.good === 0) continue;
    const nodes = s.roles.get(system === 'epara' ? 'EPARA nodes' : 'baseline sites');
    const clients = s.roles.get('clients');
    if (!nodes) continue;
    const per = (ms: number): string => (ms / s.good).toFixed(2);
    parts.push(`${system === 'epara' ? 'EPARA nodes' : 'baseline sites'} ${per(total(nodes.split))} (main ${per(nodes.split.main)}, device ${per(nodes.split.device)})${clients ? `, its clients ${per(total(clients.split))}` : ''}`);
  }
  return parts.length ? `CPU ms per good item over the trials: ${parts.join('; ')}` : undefined;
}

/** Both systems' trial runs as the accounting reads them. */
export function trialRuns(pairs: readonly TrialPair[], seconds: number): AccountedRun[] {
  return pairs.flatMap((p) => [p.epara, p.triton].map((r) => ({ system: r.system, cpu: r.cpu, good: r.report.services.reduce((a, x) => a + x.good, 0), nodeBatches: r.nodeBatches, seconds })));
}
