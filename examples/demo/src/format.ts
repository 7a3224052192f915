import type { PlacedInstance } from '@epara/core';
import type { DemoServiceInfo } from './catalog.js';
import type { ServiceTally } from './tally.js';
import { ratio, type SystemReport } from './report.js';
import type { TritonConfig } from './baseline/triton-config.js';
import type { Workload } from './workload.js';

const ms = (v: number | null): string => (v === null ? '-' : v < 10 ? v.toFixed(1) : v.toFixed(0));
const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
const x = (v: number | null): string => (v === null ? 'inf' : `${v.toFixed(2)}x`);
const drops = (d: Readonly<Record<string, number>>): string =>
  Object.entries(d)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code}:${n}`)
    .join(' ') || '-';

/** Lays rows out in aligned columns. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd());
}

/** The per-service table of one system. */
export function serviceTable(r: SystemReport, catalog: readonly DemoServiceInfo[]): string[] {
  const head = ['service', 'category', 'offered', 'good', 'late', 'est. drops', 'expired', 'goodput/s', 'SLO att.', 'p50 ms', 'p99 ms', 'offloads', 'dropped by code'];
  const rows = r.services.map((s) => {
    const title = catalog.find((c) => c.id === s.serviceId)!.title;
    return [`${s.serviceId} (${title})`, s.category, String(s.offered), String(s.good), String(s.late), String(s.droppedEarly), String(s.expired), s.goodputPerSec.toFixed(1), pct(s.attainment), ms(s.p50Ms), ms(s.p99Ms), String(s.offloads), drops(s.dropped)];
  });
  return table([head, ...rows]);
}

/** The four categories of docs/concepts.md (sensitivity × device demand), in the order the tables list them. */
const ALL_CATEGORIES = ['latency/single', 'latency/multi', 'frequency/single', 'frequency/multi'] as const;

/** Per-category and overall comparison with ratios; a category no service falls in is listed as such. */
export function comparisonTable(epara: SystemReport, triton: SystemReport): string[] {
  const head = ['category', 'EPARA goodput/s', 'Triton-like goodput/s', 'ratio', 'EPARA att.', 'Triton-like att.', 'ratio'];
  const keys = [...new Set([...ALL_CATEGORIES, ...Object.keys(epara.categories), ...Object.keys(triton.categories)])];
  const row = (name: string, a: SystemReport['overall'], b: SystemReport['overall']): string[] => [
    name,
    a.goodputPerSec.toFixed(1),
    b.goodputPerSec.toFixed(1),
    x(ratio(a.goodputPerSec, b.goodputPerSec)),
    pct(a.attainment),
    pct(b.attainment),
    x(ratio(a.attainment, b.attainment)),
  ];
  const rows = keys.map((k) => {
    const a = epara.categories[k];
    const b = triton.categories[k];
    return a && b ? row(k, a, b) : [k, '-', '-', '-', '-', '-', 'no service in this category at this load'];
  });
  return table([head, ...rows, row('overall', epara.overall, triton.overall)]);
}

/** The EPARA placement: one line per instance. */
export function placementLines(instances: readonly PlacedInstance[]): string[] {
  const rows = [...instances]
    .sort((a, b) => a.serverId.localeCompare(b.serverId) || a.serviceId.localeCompare(b.serviceId))
    .map((p) => [p.serverId, p.serviceId, `${p.plan.requestStrategy}/${p.plan.serviceStrategy}`, `batch ${p.plan.batchSize}`, `${p.plan.capacityPerSec.toFixed(0)} items/s`, p.deviceIds.join(',')]);
  return table([['server', 'service', 'strategy', 'batch', 'capacity', 'devices'], ...rows]);
}

/** The Triton-like configuration: one line per model. */
export function tritonLines(config: TritonConfig, nodeIds: readonly string[]): string[] {
  const rows = config.models.map((m) => [m.serviceId, `max_batch_size ${m.maxBatch}`, `max_queue_delay ${config.maxQueueDelayMs} ms`, m.nodes.map((n) => nodeIds[n]).join(', ') || '(none)']);
  return table([['model', 'batching', 'queue delay', 'instances on'], ...rows]);
}

/**
 * Where a system lost, per service and entry node: what the clients near each node offered, how much was good,
 * refusals and drops by code, the requests that node forwarded (the node's own count) or the stream frames served
 * elsewhere (the larger of the client's count and the node's, which counts relayed sequences once), and which nodes served the streams entering there.
 */
export function entryTable(run: { byEntry: readonly Readonly<Record<string, ServiceTally>>[]; nodeOffloads: readonly Readonly<Record<string, number>>[] }, catalog: readonly DemoServiceInfo[], nodeIds: readonly string[]): string[] {
  const head = ['service', 'enters at', 'offered', 'good', 'late', 'SLO att.', 'offloads', 'streams served at', 'dropped by code'];
  const rows: string[][] = [];
  for (const s of catalog) {
    run.byEntry.forEach((services, node) => {
      const t = services[s.id];
      if (t === undefined || t.offered === 0) return;
      // Streams: frames served elsewhere as the client saw them, or (frames sent as plain requests) the node's forwards.
      const offloads = Math.max(s.traffic === 'stream' ? t.offloads : 0, run.nodeOffloads[node]?.[s.id] ?? 0);
      const served = Object.entries(t.servedAt)
        .sort((a, b) => Number(a[0]) - Number(b[0]))
        .map(([at, n]) => `${nodeIds[Number(at)] ?? at}:${n}`)
        .join(' ');
      rows.push([s.id, nodeIds[node] ?? String(node), String(t.offered), String(t.good), String(t.late), pct(t.good / t.offered), String(offloads), served || '-', drops(t.dropped)]);
    });
  }
  return table([head, ...rows]);
}

/** CPU time per process during a run: the processes that competed for the cores, and what each item cost. */
export function cpuLine(run: { cpuMs: Readonly<Record<string, number>>; mainThreadCpuMs?: Readonly<Record<string, number>>; wallMs: number; report: SystemReport }): string {
  const share = (ms: number): string => `${((100 * ms) / run.wallMs).toFixed(0)}%`;
  const parts = Object.entries(run.cpuMs).map(([name, ms]) => {
    const main = run.mainThreadCpuMs?.[name];
    return main === undefined ? `${name} ${share(ms)}` : `${name} ${share(ms)} (event loop ${share(main)})`;
  });
  const total = Object.values(run.cpuMs).reduce((a, b) => a + b, 0);
  const items = run.report.services.reduce((a, s) => a + s.offered, 0);
  return `CPU (share of one core): ${parts.join(', ')}; ${(total / Math.max(1, items)).toFixed(2)} ms of CPU per offered item`;
}

/**
 * How the stream frames fared by where their stream was served, per service and entry node: a stream admitted
 * away from its entry pays the link's round trip (`2 × measured one-way delay`) out of its staleness budget on
 * every frame, next to the serving device's queue; this puts the two side by side with the attainment.
 */
export function streamServingTable(run: { byEntry: readonly Readonly<Record<string, ServiceTally>>[] }, catalog: readonly DemoServiceInfo[], nodeIds: readonly string[], delaysMs: readonly (readonly number[])[]): string[] {
  const head = ['service', 'enters at', 'served at', 'link RTT ms', 'staleness ms', 'frames', 'fresh', 'late', 'dropped', 'att.', 'p50 ms', 'p90 ms'];
  const rows: string[][] = [];
  for (const s of catalog) {
    if (s.slo.kind !== 'frequency') continue;
    const stalenessMs = s.slo.stalenessMs;
    run.byEntry.forEach((services, entry) => {
      const t = services[s.id];
      for (const [at, c] of Object.entries(t?.servedOutcome ?? {}).sort((a, b) => Number(a[0]) - Number(b[0]))) {
        const frames = c.good + c.late + c.dropped;
        const served = Number(at);
        const rtt = served === entry ? 0 : 2 * (delaysMs[entry]?.[served] ?? Number.NaN);
        const sorted = [...c.latencies].sort((a, b) => a - b);
        const q = (p: number): number | null => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!);
        rows.push([s.id, nodeIds[entry] ?? String(entry), nodeIds[served] ?? at, rtt.toFixed(1), String(stalenessMs), String(frames), String(c.good), String(c.late), String(c.dropped), pct(c.good / Math.max(1, frames)), ms(q(0.5)), ms(q(0.9))]);
      }
    });
  }
  return table([head, ...rows]);
}

/** Batches (packs, for streams) sent to each node's device by size: `size×count`, and the mean size. */
export function packLines(packs: readonly Readonly<Record<string, Readonly<Record<string, number>>>>[], nodeIds: readonly string[]): string[] {
  const rows: string[][] = [['node', 'service', 'batches', 'mean size', 'size×batches']];
  packs.forEach((byService, node) => {
    for (const [serviceId, bySize] of Object.entries(byService).sort((a, b) => a[0].localeCompare(b[0]))) {
      const entries = Object.entries(bySize).sort((a, b) => Number(a[0]) - Number(b[0]));
      const batches = entries.reduce((a, [, n]) => a + n, 0);
      const items = entries.reduce((a, [size, n]) => a + Number(size) * n, 0);
      rows.push([nodeIds[node] ?? String(node), serviceId, String(batches), (items / Math.max(1, batches)).toFixed(2), entries.map(([size, n]) => `${size}×${n}`).join(' ')]);
    }
  });
  return table(rows);
}

/** Sums the stream frames' outcomes by entry and serving node over several runs (for {@link streamServingTable}). */
export function sumServed(runs: readonly { byEntry: readonly Readonly<Record<string, ServiceTally>>[] }[]): { byEntry: Record<string, ServiceTally>[] } {
  const byEntry: Record<string, ServiceTally>[] = [];
  for (const run of runs) {
    run.byEntry.forEach((services, entry) => {
      const into = (byEntry[entry] ??= {});
      for (const [id, t] of Object.entries(services)) {
        const s = (into[id] ??= { offered: 0, good: 0, late: 0, dropped: {}, droppedEarly: 0, latencies: [], offloads: 0, servedAt: {}, servedOutcome: {} });
        for (const [at, c] of Object.entries(t.servedOutcome)) {
          const x = (s.servedOutcome[at] ??= { good: 0, late: 0, dropped: 0, latencies: [] });
          x.good += c.good;
          x.late += c.late;
          x.dropped += c.dropped;
          x.latencies.push(...c.latencies);
        }
      }
    });
  }
  return { byEntry };
}

/** Sums pack-size counts over several runs, node by node. */
export function sumPacks(runs: readonly (readonly Readonly<Record<string, Readonly<Record<string, number>>>>[])[]): Record<string, Record<string, number>>[] {
  const out: Record<string, Record<string, number>>[] = [];
  for (const run of runs) {
    run.forEach((byService, node) => {
      const into = (out[node] ??= {});
      for (const [id, bySize] of Object.entries(byService)) {
        const t = (into[id] ??= {});
        for (const [size, n] of Object.entries(bySize)) t[size] = (t[size] ?? 0) + n;
      }
    });
  }
  return out;
}

/** The forecast the systems place from beside the mean it estimates, items/s per service and entry node. */
export function forecastLines(w: Pick<Workload, 'demand' | 'meanDemand'>, ids: readonly string[]): string[] {
  const row = (v: readonly number[]): string => v.map((x, i) => `${ids[i]} ${x.toFixed(1)}`).join(', ');
  return (Object.keys(w.demand) as (keyof Workload['demand'])[]).map((id) => `${id.padEnd(6)} forecast ${row(w.demand[id])}  (mean ${row(w.meanDemand[id])})`);
}
