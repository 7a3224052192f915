/** A {@link LatencyHistogram}'s buckets, count and sum as plain data. */
export interface HistogramSnapshot {
  readonly counts: Float64Array;
  readonly n: number;
  readonly sum: number;
}

/**
 * A log-bucketed latency histogram (about 1 % relative resolution from 0.01 ms to ~30 min): fixed memory
 * however many samples, exact enough for p50/p99.
 */
export class LatencyHistogram {
  static readonly #BASE = Math.log(1.01);
  static readonly #MIN = 0.01;
  static readonly #SIZE = 2000;
  readonly #counts = new Float64Array(LatencyHistogram.#SIZE);
  #n = 0;
  #sum = 0;

  add(ms: number): void {
    this.addAt(LatencyHistogram.bucketOf(ms), ms);
  }

  /** The bucket a latency of `ms` falls in (to add one sample to several histograms with one logarithm). */
  static bucketOf(ms: number): number {
    const v = ms < LatencyHistogram.#MIN ? LatencyHistogram.#MIN : ms;
    const i = Math.floor(Math.log(v / LatencyHistogram.#MIN) / LatencyHistogram.#BASE);
    return i >= LatencyHistogram.#SIZE ? LatencyHistogram.#SIZE - 1 : i;
  }

  /** Adds a sample of `ms` whose bucket {@link LatencyHistogram.bucketOf} computed. */
  addAt(bucket: number, ms: number): void {
    this.#counts[bucket]!++;
    this.#n++;
    this.#sum += ms;
  }

  get count(): number {
    return this.#n;
  }

  get mean(): number {
    return this.#n === 0 ? 0 : this.#sum / this.#n;
  }

  /** The `q`-quantile (0..1), the upper edge of its bucket; 0 when empty. */
  quantile(q: number): number {
    if (this.#n === 0) return 0;
    const target = q * this.#n;
    let acc = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      acc += this.#counts[i]!;
      if (acc >= target) return LatencyHistogram.#MIN * Math.exp((i + 1) * LatencyHistogram.#BASE);
    }
    return LatencyHistogram.#MIN * Math.exp(this.#counts.length * LatencyHistogram.#BASE);
  }

  /** The histogram as plain data (it crosses a worker boundary by structured clone). */
  snapshot(): HistogramSnapshot {
    return { counts: this.#counts.slice(), n: this.#n, sum: this.#sum };
  }

  /** Adds every sample of a {@link LatencyHistogram.snapshot} (the same sums as merging the histogram itself). */
  mergeSnapshot(s: HistogramSnapshot): void {
    for (let i = 0; i < this.#counts.length; i++) this.#counts[i]! += s.counts[i]!;
    this.#n += s.n;
    this.#sum += s.sum;
  }

  /** Adds every sample of another histogram. */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < this.#counts.length; i++) this.#counts[i]! += other.#counts[i]!;
    this.#n += other.#n;
    this.#sum += other.#sum;
  }
}
