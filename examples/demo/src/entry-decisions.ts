/*
 * What an EPARA node decided for each request entering at its entry, and how each decision fared: served
 * here, forwarded to which peer, or refused with which code, each with the local estimate's wait at the moment
 * of the decision where the node hosts the service. Counted per decision, not inferred from wall time: a
 * reader sees where the images entering a server were served, how many were offloaded, whether the offloaded
 * ones made their deadline, and what the local estimate read when a request was sent elsewhere or refused.
 */

/** Counters of one decision (for one service, at one entry). */
export interface DecisionCount {
  n: number;
  /** Settled with outputs by the deadline. */
  good: number;
  /** Settled with outputs after the deadline. */
  late: number;
  /** Failed, by error code. */
  dropped: Record<string, number>;
  /** Time from the node's submit to its settle, ms (completed items only). */
  latenciesMs: number[];
  /**
   * The local executor's estimated completion minus the time of the decision, ms, wherever this node hosts the
   * service (for a forward or a refusal too: what made the node look elsewhere).
   */
  estimateMs: number[];
  /**
   * The same requests by the estimate's share of their budget at the decision ({@link SLACK_BUCKETS}; only where
   * the node hosts the service): whether those admitted close to their deadline are the ones that expire.
   */
  bySlack?: Record<string, SlackCount>;
}

/** Requests of one decision whose estimate read one share of their budget, and how they ended. */
export interface SlackCount {
  n: number;
  good: number;
  late: number;
  dropped: number;
}

/** Upper ends of the buckets of {@link DecisionCount.bySlack}: the estimate's wait ÷ the request's budget. */
const SLACK_BUCKETS = [0.5, 0.75, 0.9, 1] as const;

/** `<50%`, `50–75%`, `75–90%`, `90–100%`, `>100%`: the bucket of an estimate's share of the budget. */
export function slackBucket(share: number): string {
  let lo = 0;
  for (const hi of SLACK_BUCKETS) {
    if (share <= hi) return lo === 0 ? `<${100 * hi}%` : `${100 * lo}–${100 * hi}%`;
    lo = hi;
  }
  return `>${100 * lo}%`;
}

/** Per service, per decision (`local`, `forward edge-1`, `reject OVERLOADED`…). */
export type EntryDecisions = Record<string, Record<string, DecisionCount>>;

/** How one decided request ended. */
export type DecisionOutcome = { readonly ok: true; readonly latencyMs: number; readonly deadlineMet: boolean } | { readonly ok: false; readonly code: string };

/** Decisions counted since the last {@link DecisionLog.take}. */
export class DecisionLog {
  #d: EntryDecisions = {};

  /**
   * Counts one decision (with the local estimate's wait and the request's budget, ms, where the node hosts the
   * service); the returned function records its outcome (once).
   */
  record(serviceId: string, decision: string, estimateMs?: number, budgetMs?: number): (o: DecisionOutcome) => void {
    const byDecision = (this.#d[serviceId] ??= {});
    const c = (byDecision[decision] ??= { n: 0, good: 0, late: 0, dropped: {}, latenciesMs: [], estimateMs: [] });
    c.n++;
    let slack: SlackCount | undefined;
    if (estimateMs !== undefined) {
      c.estimateMs.push(estimateMs);
      if (budgetMs !== undefined && budgetMs > 0) slack = ((c.bySlack ??= {})[slackBucket(estimateMs / budgetMs)] ??= { n: 0, good: 0, late: 0, dropped: 0 });
    }
    if (slack) slack.n++;
    const log = this.#d;
    return (o) => {
      // A take() in between started a new log: the outcome belongs to the run that offered the request.
      if (this.#d !== log) return;
      if (!o.ok) {
        c.dropped[o.code] = (c.dropped[o.code] ?? 0) + 1;
        if (slack) slack.dropped++;
      } else {
        c.latenciesMs.push(o.latencyMs);
        if (o.deadlineMet) c.good++;
        else c.late++;
        if (slack) slack[o.deadlineMet ? 'good' : 'late']++;
      }
    };
  }

  /** The counts so far; starts a new log. */
  take(): EntryDecisions {
    const d = this.#d;
    this.#d = {};
    return d;
  }
}

export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

const ms = (v: number | null): string => (v === null ? '-' : v.toFixed(0));

/** Rows of the per-decision table: service, entry, decision, counts, outcome, latency and estimate quantiles. */
export function decisionRows(perNode: readonly EntryDecisions[], nodeIds: readonly string[]): string[][] {
  const head = ['service', 'enters at', 'decision', 'requests', 'good', 'late', 'att.', 'p50 ms', 'p90 ms', 'est. wait p50/p90 ms', 'dropped by code'];
  const rows: string[][] = [head];
  const services = [...new Set(perNode.flatMap((d) => Object.keys(d)))].sort();
  for (const s of services) {
    perNode.forEach((d, node) => {
      const order = (k: string): number => (k === 'local' ? 0 : k.startsWith('forward') ? 1 : 2);
      for (const [decision, c] of Object.entries(d[s] ?? {}).sort((a, b) => order(a[0]) - order(b[0]) || a[0].localeCompare(b[0]))) {
        const drops = Object.entries(c.dropped).map(([code, k]) => `${code}:${k}`).join(' ') || '-';
        const est = c.estimateMs.length === 0 ? '-' : `${ms(quantile(c.estimateMs, 0.5))}/${ms(quantile(c.estimateMs, 0.9))}`;
        rows.push([s, nodeIds[node] ?? String(node), decision, String(c.n), String(c.good), String(c.late), `${((100 * c.good) / Math.max(1, c.n)).toFixed(1)}%`, ms(quantile(c.latenciesMs, 0.5)), ms(quantile(c.latenciesMs, 0.9)), est, drops]);
      }
    });
  }
  return rows;
}

/**
 * Rows of the table of local decisions by the estimate's share of the budget: for each service, entry and
 * bucket, how many were served here, made their deadline, finished late or were dropped.
 */
export function slackRows(perNode: readonly EntryDecisions[], nodeIds: readonly string[]): string[][] {
  const rows: string[][] = [['service', 'enters at', 'est. wait ÷ budget', 'requests', 'good', 'late', 'dropped', 'att.']];
  const order = (k: string): number => (k.startsWith('<') ? 0 : k.startsWith('>') ? 9 : Number.parseFloat(k));
  for (const s of [...new Set(perNode.flatMap((d) => Object.keys(d)))].sort()) {
    perNode.forEach((d, node) => {
      const bySlack = d[s]?.['local']?.bySlack ?? {};
      for (const [bucket, c] of Object.entries(bySlack).sort((a, b) => order(a[0]) - order(b[0]))) {
        rows.push([s, nodeIds[node] ?? String(node), bucket, String(c.n), String(c.good), String(c.late), String(c.dropped), `${((100 * c.good) / Math.max(1, c.n)).toFixed(1)}%`]);
      }
    });
  }
  return rows;
}

/** Sums per-node decision counts over several runs (node by node). */
export function sumDecisions(runs: readonly (readonly EntryDecisions[])[]): EntryDecisions[] {
  const out: EntryDecisions[] = [];
  for (const run of runs) {
    run.forEach((d, node) => {
      const into = (out[node] ??= {});
      for (const [serviceId, byDecision] of Object.entries(d)) {
        for (const [decision, c] of Object.entries(byDecision)) {
          const t = ((into[serviceId] ??= {})[decision] ??= { n: 0, good: 0, late: 0, dropped: {}, latenciesMs: [], estimateMs: [] });
          t.n += c.n;
          t.good += c.good;
          t.late += c.late;
          for (const [code, k] of Object.entries(c.dropped)) t.dropped[code] = (t.dropped[code] ?? 0) + k;
          t.latenciesMs.push(...c.latenciesMs);
          t.estimateMs.push(...c.estimateMs);
          for (const [bucket, k] of Object.entries(c.bySlack ?? {})) {
            const u = ((t.bySlack ??= {})[bucket] ??= { n: 0, good: 0, late: 0, dropped: 0 });
            u.n += k.n;
            u.good += k.good;
            u.late += k.late;
            u.dropped += k.dropped;
          }
        }
      }
    });
  }
  return out;
}
