import type { MetricValues } from './snapshot-types.js';

/** One settled request, as `requestCompleted` reports it. */
export interface SettledRequest {
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly deadlineMet: boolean;
  readonly code?: string;
}

interface Bucket {
  settled: number;
  good: number;
  latencies: number[];
  drops: Map<string, number>;
}

/**
 * Counts settled requests per series key over one interval and turns them into rates, SLO attainment and
 * latency percentiles when the interval ends. A request that succeeded after its deadline counts as a
 * `LATE` drop: it is not goodput.
 */
export class RequestMeter {
  readonly #buckets = new Map<string, Bucket>();

  record(key: string, r: SettledRequest): void {
    let b = this.#buckets.get(key);
    if (!b) this.#buckets.set(key, (b = { settled: 0, good: 0, latencies: [], drops: new Map() }));
    b.settled += 1;
    if (r.ok && r.deadlineMet) b.good += 1;
    if (r.ok) b.latencies.push(r.latencyMs);
    const drop = !r.ok ? (r.code ?? 'ERROR') : r.deadlineMet ? undefined : 'LATE';
    if (drop !== undefined) b.drops.set(drop, (b.drops.get(drop) ?? 0) + 1);
  }

  /**
   * Ends the interval: the metrics of every key seen in it or listed in `offeredCluster`, then starts a new
   * interval. `seconds` is the interval's length.
   */
  take(seconds: number, offeredCluster: ReadonlyMap<string, number>): Map<string, MetricValues> {
    const out = new Map<string, MetricValues>();
    const keys = new Set([...this.#buckets.keys(), ...offeredCluster.keys()]);
    for (const key of keys) {
      const b = this.#buckets.get(key);
      const rate = (n: number): number => round(n / seconds, 2);
      const drops: Record<string, number> = {};
      for (const [code, n] of b?.drops ?? []) drops[code] = rate(n);
      const sorted = (b?.latencies ?? []).sort((x, y) => x - y);
      out.set(key, {
        offeredCluster: round(offeredCluster.get(key) ?? 0, 2),
        offered: rate(b?.settled ?? 0),
        goodput: rate(b?.good ?? 0),
        attainment: b && b.settled > 0 ? round(b.good / b.settled, 4) : null,
        p50Ms: percentile(sorted, 0.5),
        p99Ms: percentile(sorted, 0.99),
        drops,
      });
    }
    this.#buckets.clear();
    return out;
  }
}

/** Nearest-rank percentile of sorted values; `null` when there are none. */
export function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return round(sorted[rank]!, 2);
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
