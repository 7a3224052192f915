import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { quantile, slackBucket } from './entry-decisions.js';
import type { TracedRequest } from './cluster/request-trace.js';

/*
 * Reads the per-request traces of `EPARA_DEMO_TRACE=<dir>` (cluster/request-trace.ts) and splits, for the requests
 * each node served where they entered, the distance between what the estimate promised at the decision and
 * when the entry saw the answer into three parts: how much later the batch was **planned** to end than the
 * estimate said (work the estimate did not see: overtaking items, its own batch's size, engine steps), how much
 * later the batch **really** ended than planned (a hold longer than learned, a late start behind the host), and
 * the executor's settle to the entry's (the host's event loop). By node and by the estimate's share of the budget.
 *
 *   npx tsx examples/demo/src/trace-summary.ts <dir> [service]
 */

/** One traced line as written: the request, its run, and its batch when it ran. */
export interface TraceLine extends TracedRequest {
  readonly node: string;
  readonly run: number;
  readonly batchAt?: number;
  readonly batchExpectedMs?: number;
  readonly batchDurationMs?: number;
  readonly batchRunMs?: number;
}

/** The requests of one node and slack bucket, and where their time went (ms, one entry per request that ran). */
export interface TraceGroup {
  readonly node: string;
  readonly bucket: string;
  n: number;
  good: number;
  /** Settled without running (expired in the queue, refused by the executor). */
  notRun: number;
  /** Batch's planned end − the estimate. */
  readonly plannedMs: number[];
  /** Batch's actual end − its planned end. */
  readonly overrunMs: number[];
  /** Entry's settle − the executor's. */
  readonly hostMs: number[];
  /** Entry's settle − the estimate (every request). */
  readonly missMs: number[];
}

/** Groups the locally served requests of `service` by node and by the estimate's share of their budget. */
export function summarizeTraces(lines: readonly TraceLine[], service: string): TraceGroup[] {
  const groups = new Map<string, TraceGroup>();
  for (const t of lines) {
    if (t.serviceId !== service || t.decision !== 'local' || typeof t.estimateAt !== 'number' || t.settledAt === undefined) continue;
    const bucket = slackBucket((t.estimateAt - t.decidedAt) / (t.deadline - t.decidedAt));
    const key = `${t.node}\u0000${bucket}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { node: t.node, bucket, n: 0, good: 0, notRun: 0, plannedMs: [], overrunMs: [], hostMs: [], missMs: [] }));
    g.n++;
    if (t.outcome === 'ok') g.good++;
    g.missMs.push(t.settledAt - t.estimateAt);
    if (t.startedAt === undefined || t.batchExpectedMs === undefined || t.batchDurationMs === undefined || t.finishedAt === undefined) {
      g.notRun++;
      continue;
    }
    const plannedEnd = t.startedAt + t.batchExpectedMs;
    g.plannedMs.push(plannedEnd - t.estimateAt);
    g.overrunMs.push(t.startedAt + t.batchDurationMs - plannedEnd);
    g.hostMs.push(t.settledAt - t.finishedAt);
  }
  return [...groups.values()].sort((a, b) => (a.node === b.node ? a.bucket.localeCompare(b.bucket) : a.node.localeCompare(b.node)));
}

/** One line per group: counts, then p50/p90 of each part. */
export function traceLines(groups: readonly TraceGroup[]): string[] {
  const q = (v: readonly number[]): string => (v.length === 0 ? '-' : `${quantile(v, 0.5)!.toFixed(1)}/${quantile(v, 0.9)!.toFixed(1)}`);
  const rows = groups.map((g) => [g.node, g.bucket, String(g.n), `${((100 * g.good) / g.n).toFixed(1)}%`, String(g.notRun), q(g.plannedMs), q(g.overrunMs), q(g.hostMs), q(g.missMs)]);
  const head = ['node', 'est÷budget', 'requests', 'good', 'not run', 'planned−est', 'ran−planned', 'entry−executor', 'answer−est'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
}

/** Reads every `<node>.jsonl` of `dir`. */
export function readTraces(dir: string): TraceLine[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => ({ ...(JSON.parse(l) as Omit<TraceLine, 'node'>), node: f.slice(0, -'.jsonl'.length) })),
    );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [dir, service = 'image'] = process.argv.slice(2);
  if (dir === undefined) {
    console.error('usage: trace-summary <dir written by EPARA_DEMO_TRACE> [service]');
    process.exit(2);
  }
  console.log(`${service}, served where it entered: p50/p90 ms of each part`);
  for (const line of traceLines(summarizeTraces(readTraces(dir), service))) console.log(line);
}
