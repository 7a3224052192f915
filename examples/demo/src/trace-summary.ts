import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { quantile, slackBucket } from './entry-decisions.js';
import type { TracedPeer, TracedRequest } from './cluster/request-trace.js';

/*
 * Reads the per-request traces of `EPARA_DEMO_TRACE=<dir>` (cluster/request-trace.ts) and splits, for the requests
 * each node served where they entered, the distance between what the estimate promised at the decision and
 * when the entry saw the answer into three parts: how much later the batch was **planned** to end than the
 * estimate said (work the estimate did not see: overtaking items, its own batch's size, engine steps), how much
 * later the batch **really** ended than planned (a hold longer than learned, a late start behind the host), and
 * the executor's settle to the entry's (the host's event loop). By node and by the estimate's share of the budget.
 * Then every decision of each node — served here, sent to which peer, refused with which code — with what it
 * read: the local estimate's share of the budget (raw, and as routing corrected it for a refusal), and the view's
 * most promising peer (its reported wait plus its next run, ÷ the budget; the age of its entry). Last, each run's
 * first seconds at each entry, second by second: whether a run starts by losing, and by which decisions.
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

/** The requests of one node and decision, and what the node read when it decided (shares of the budget, ms). */
export interface DecisionGroup {
  readonly node: string;
  readonly decision: string;
  n: number;
  good: number;
  /** How the others ended, by outcome (`late` or an error code). */
  readonly lost: Record<string, number>;
  /** The executor's own estimate ÷ the budget, where the node hosts the service. */
  readonly rawShare: number[];
  /** The estimate routing read (corrected for measured lateness) ÷ the budget: refusals only (from their reason). */
  readonly correctedShare: number[];
  /**
   * The view's most promising peer: (travel there and back + reported wait + next run) ÷ the budget, and its
   * entry's age, ms (routing adds the forwards sent it since, and a backlog grown since when it is overloaded).
   */
  readonly peerShare: number[];
  readonly peerAgeMs: number[];
  /** Requests whose most promising peer read past the budget: for a forward, one the view showed no room for. */
  noRoom: number;
}

/** The corrected local estimate a refusal's reason quotes, ms from the decision (`local estimate <ms> ms, …`), or undefined. */
function correctedMs(reason: string | undefined): number | undefined {
  const m = /local estimate (-?[\d.]+) ms/.exec(reason ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Groups the requests of `service` entering each node by the node's decision. */
export function summarizeDecisions(lines: readonly TraceLine[], service: string): DecisionGroup[] {
  const groups = new Map<string, DecisionGroup>();
  for (const t of lines) {
    if (t.serviceId !== service || t.decision === undefined) continue;
    const key = `${t.node}\u0000${t.decision}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { node: t.node, decision: t.decision, n: 0, good: 0, lost: {}, rawShare: [], correctedShare: [], peerShare: [], peerAgeMs: [], noRoom: 0 }));
    g.n++;
    if (t.outcome === 'ok') g.good++;
    else g.lost[t.outcome ?? '?'] = (g.lost[t.outcome ?? '?'] ?? 0) + 1;
    const budget = t.deadline - t.decidedAt;
    if (!(budget > 0)) continue;
    if (typeof t.estimateAt === 'number' && Number.isFinite(t.estimateAt)) g.rawShare.push((t.estimateAt - t.decidedAt) / budget);
    const corrected = correctedMs(t.reason);
    if (corrected !== undefined) g.correctedShare.push(corrected / budget);
    const at = (p: TracedPeer): number => (p.travelMs ?? 0) + p.waitMs + p.runMs;
    const best = (t.peers ?? []).reduce<TracedPeer | undefined>((a, p) => (a === undefined || at(p) < at(a) ? p : a), undefined);
    if (best) {
      g.peerShare.push(at(best) / budget);
      g.peerAgeMs.push(best.ageMs);
      if (at(best) > budget) g.noRoom++;
    }
  }
  return [...groups.values()].sort((a, b) => a.node.localeCompare(b.node) || a.decision.localeCompare(b.decision));
}

/** One line per node and decision: counts, how the lost ones ended, then p50/p90 of what the node read. */
export function decisionTraceLines(groups: readonly DecisionGroup[]): string[] {
  const q = (v: readonly number[], f: (x: number) => string): string => (v.length === 0 ? '-' : `${f(quantile(v, 0.5)!)}/${f(quantile(v, 0.9)!)}`);
  const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;
  const rows = groups.map((g) => [
    g.node,
    g.decision,
    String(g.n),
    `${((100 * g.good) / g.n).toFixed(1)}%`,
    Object.entries(g.lost).map(([k, v]) => `${k}:${v}`).join(' ') || '-',
    q(g.rawShare, pct),
    q(g.correctedShare, pct),
    q(g.peerShare, pct),
    q(g.peerAgeMs, (x) => x.toFixed(0)),
    String(g.noRoom),
  ]);
  const head = ['node', 'decision', 'requests', 'good', 'lost', 'est.÷budget', 'corrected÷budget', 'best peer÷budget', 'peer entry age ms', 'peer past budget'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
}

/** The requests of one node, run and second of that run, by how they were decided and how they ended. */
export interface SecondGroup {
  readonly node: string;
  /** The run's number in the trace (the demo's runs in the order they ran). */
  readonly run: number;
  /** Whole seconds since the run's first request at this node; the last group holds every later one (`3+`). */
  readonly second: string;
  n: number;
  good: number;
  /** Decisions: served here, sent on, refused. */
  local: number;
  forwarded: number;
  refused: number;
  /** How the others ended, by outcome (`late` or an error code). */
  readonly lost: Record<string, number>;
  /** Served here: the answer's wait ÷ the wait the estimate promised (how far off the node's figures were). */
  readonly answerOverEstimate: number[];
}

/**
 * The first seconds of every run at each node, second by second, then the rest of the run together: whether a
 * run's first seconds lose more than its later ones, and how — refused or sent away (figures too cautious) or
 * admitted and then late or expired (figures too hopeful, `answer÷est` above 1).
 */
export function summarizeSeconds(lines: readonly TraceLine[], service: string, firstSeconds = 3): SecondGroup[] {
  const startOf = new Map<string, number>();
  for (const t of lines) {
    if (t.serviceId !== service) continue;
    const k = `${t.node}\u0000${t.run}`;
    startOf.set(k, Math.min(startOf.get(k) ?? Number.POSITIVE_INFINITY, t.decidedAt));
  }
  const groups = new Map<string, SecondGroup>();
  for (const t of lines) {
    if (t.serviceId !== service || t.decision === undefined) continue;
    const s = Math.floor((t.decidedAt - startOf.get(`${t.node}\u0000${t.run}`)!) / 1000);
    const second = s < firstSeconds ? String(s) : `${firstSeconds}+`;
    const key = `${t.node}\u0000${t.run}\u0000${second}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { node: t.node, run: t.run, second, n: 0, good: 0, local: 0, forwarded: 0, refused: 0, lost: {}, answerOverEstimate: [] }));
    g.n++;
    if (t.outcome === 'ok') g.good++;
    else g.lost[t.outcome ?? '?'] = (g.lost[t.outcome ?? '?'] ?? 0) + 1;
    if (t.decision.startsWith('forward')) g.forwarded++;
    else if (t.decision.startsWith('reject')) g.refused++;
    else g.local++;
    const promised = t.estimateAt - t.decidedAt;
    if (t.decision === 'local' && t.settledAt !== undefined && promised > 0) g.answerOverEstimate.push((t.settledAt - t.decidedAt) / promised);
  }
  return [...groups.values()].sort((a, b) => a.node.localeCompare(b.node) || a.run - b.run || a.second.localeCompare(b.second));
}

/** One line per node, run and second: counts by decision, how the lost ones ended, p50/p90 of answer ÷ estimate. */
export function secondTraceLines(groups: readonly SecondGroup[]): string[] {
  const q = (v: readonly number[]): string => (v.length === 0 ? '-' : `${quantile(v, 0.5)!.toFixed(2)}/${quantile(v, 0.9)!.toFixed(2)}`);
  const rows = groups.map((g) => [
    g.node,
    String(g.run),
    g.second,
    String(g.n),
    `${((100 * g.good) / g.n).toFixed(1)}%`,
    `${g.local}/${g.forwarded}/${g.refused}`,
    Object.entries(g.lost).map(([k, v]) => `${k}:${v}`).join(' ') || '-',
    q(g.answerOverEstimate),
  ]);
  const head = ['node', 'run', 'second', 'requests', 'good', 'here/sent/refused', 'lost', 'answer÷est (here)'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
}

/** The forwards from one entry to one peer that the peer refused: what the entry read of it, what the peer saw. */
export interface RefusalGroup {
  readonly node: string;
  readonly peer: string;
  /** Forwards from `node` whose first ask went to `peer`, and how many of all of them `peer` refused. */
  forwards: number;
  refused: number;
  /** The peer's wait as the entry's routing read it: reported, grown by the entry's age when the peer was past capacity, ms. */
  readonly viewWaitMs: number[];
  /** The peer's own estimate at the request's arrival there, less its next run (its refusal quotes it), ms. */
  readonly peerWaitMs: number[];
  /** The budget the peer had left (quoted), ms. */
  readonly peerBudgetMs: number[];
  /** The age of the peer's entry in the entry's view at the decision, ms. */
  readonly ageMs: number[];
}

/**
 * Per entry and peer, the forwards of `service` and the refusals among them, with the peer's wait as the entry's
 * view showed it (routing's figure: `waitMs + age × max(0, ρ − 1)`, before the forwards the entry sent it since)
 * against the wait the peer's own routing read on arrival: a refusal on a view that showed room is a view that was
 * wrong by the time the request arrived.
 */
export function summarizeRefusals(lines: readonly TraceLine[], service: string): RefusalGroup[] {
  const groups = new Map<string, RefusalGroup>();
  const group = (node: string, peer: string): RefusalGroup => {
    const key = `${node}\u0000${peer}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { node, peer, forwards: 0, refused: 0, viewWaitMs: [], peerWaitMs: [], peerBudgetMs: [], ageMs: [] }));
    return g;
  };
  for (const t of lines) {
    if (t.serviceId !== service || t.decision === undefined) continue;
    if (t.decision.startsWith('forward ')) group(t.node, t.decision.slice('forward '.length)).forwards++;
    for (const r of t.refusals ?? []) {
      const g = group(t.node, r.peer);
      g.refused++;
      const p = t.peers?.find((x) => x.serverId === r.peer);
      const quoted = correctedMs(r.reason);
      const budget = /past the (-?[\d.]+) ms budget/.exec(r.reason);
      if (budget) g.peerBudgetMs.push(Number(budget[1]));
      if (p === undefined) continue;
      const rho = p.capacityPerSec > 0 ? p.loadPerSec / p.capacityPerSec : 2;
      g.viewWaitMs.push(p.waitMs + Math.max(0, p.ageMs) * Math.max(0, rho - 1));
      g.ageMs.push(p.ageMs);
      if (quoted !== undefined) g.peerWaitMs.push(quoted - p.runMs);
    }
  }
  return [...groups.values()].sort((a, b) => a.node.localeCompare(b.node) || a.peer.localeCompare(b.peer));
}

/** One line per entry and peer: forwards, refusals, then p50/p90 of the wait each side read, the budget and the age. */
export function refusalTraceLines(groups: readonly RefusalGroup[]): string[] {
  const q = (v: readonly number[]): string => (v.length === 0 ? '-' : `${quantile(v, 0.5)!.toFixed(0)}/${quantile(v, 0.9)!.toFixed(0)}`);
  const rows = groups.map((g) => [g.node, g.peer, String(g.forwards), String(g.refused), q(g.viewWaitMs), q(g.peerWaitMs), q(g.peerBudgetMs), q(g.ageMs)]);
  const head = ['entry', 'peer', 'forwards', 'refused', 'view wait ms', 'peer wait ms', 'peer budget ms', 'entry age ms'];
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
  const lines = readTraces(dir);
  for (const line of traceLines(summarizeTraces(lines, service))) console.log(line);
  console.log(`\n${service}, every decision at its entry: what the node read (p50/p90; peer: travel + the view's reported wait + next run)`);
  for (const line of decisionTraceLines(summarizeDecisions(lines, service))) console.log(line);
  console.log(`\n${service}, refusals of forwards: the peer's wait as the entry's view read it against the peer's own at arrival (p50/p90)`);
  for (const line of refusalTraceLines(summarizeRefusals(lines, service))) console.log(line);
  console.log(`\n${service}, each run's first seconds at each entry (run: the demo's runs in order; answer÷est: the wait seen ÷ the wait promised, p50/p90)`);
  for (const line of secondTraceLines(summarizeSeconds(lines, service))) console.log(line);
}
