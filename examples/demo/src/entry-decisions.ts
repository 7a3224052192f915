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
}

/** Per service, per decision (`local`, `forward edge-1`, `reject OVERLOADED`…). */
export type EntryDecisions = Record<string, Record<string, DecisionCount>>;

/** How one decided request ended. */
export type DecisionOutcome = { readonly ok: true; readonly latencyMs: number; readonly deadlineMet: boolean } | { readonly ok: false; readonly code: string };

/** Decisions counted since the last {@link DecisionLog.take}. */
export class DecisionLog {
  #d: EntryDecisions = {};

  /** Counts one decision; the returned function records its outcome (once). */
  record(serviceId: string, decision: string, estimateMs?: number): (o: DecisionOutcome) => void {
    const byDecision = (this.#d[serviceId] ??= {});
    const c = (byDecision[decision] ??= { n: 0, good: 0, late: 0, dropped: {}, latenciesMs: [], estimateMs: [] });
    c.n++;
    if (estimateMs !== undefined) c.estimateMs.push(estimateMs);
    const log = this.#d;
    return (o) => {
      // A take() in between started a new log: the outcome belongs to the run that offered the request.
      if (this.#d !== log) return;
      if (!o.ok) c.dropped[o.code] = (c.dropped[o.code] ?? 0) + 1;
      else {
        c.latenciesMs.push(o.latencyMs);
        if (o.deadlineMet) c.good++;
        else c.late++;
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

function quantile(values: readonly number[], q: number): number | null {
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
        }
      }
    });
  }
  return out;
}
