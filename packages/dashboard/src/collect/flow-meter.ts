import type { FlowCell } from './snapshot-types.js';

/**
 * Requests between servers as this node sees them: what it forwards (`requestOffloaded`) and what peers
 * forward to it (`requestReceived`). Rates are averaged over the last `intervals` intervals.
 */
export class FlowMeter {
  readonly #intervals: number;
  readonly #history: Map<string, number>[] = [];
  #current = new Map<string, number>();

  constructor(intervals: number) {
    this.#intervals = intervals;
  }

  record(from: string, to: string): void {
    const key = `${from}\u0000${to}`;
    this.#current.set(key, (this.#current.get(key) ?? 0) + 1);
  }

  /** Ends an interval of `seconds` and returns every flow with a non-zero rate over the retained intervals. */
  take(seconds: number): FlowCell[] {
    this.#history.push(this.#current);
    this.#current = new Map();
    while (this.#history.length > this.#intervals) this.#history.shift();
    const sum = new Map<string, number>();
    for (const h of this.#history) for (const [k, n] of h) sum.set(k, (sum.get(k) ?? 0) + n);
    const span = seconds * this.#history.length;
    const cells: FlowCell[] = [];
    for (const [k, n] of sum) {
      const [from = '', to = ''] = k.split('\u0000');
      cells.push({ from, to, ratePerSec: Math.round((n / span) * 100) / 100 });
    }
    return cells.sort((a, b) => (a.from + a.to < b.from + b.to ? -1 : 1));
  }
}
