/** What a scrape-time fill writes: one value per label set. */
export interface LabelSetter {
  set(labels: Record<string, string>, value: number): void;
}

/** A metric's configuration as far as scrape-time metrics need it (prom-client's configurations fit). */
interface ScrapeMetricConfig<M, R> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: string[];
  readonly registers: R[];
  collect(this: M): void;
}

/** The part of prom-client's `Gauge` and `Counter` classes that scrape-time metrics use (structural; `R` is its `Registry`). */
export interface ScrapeMetricClient<R> {
  readonly Gauge: new (config: ScrapeMetricConfig<{ reset(): void; set(labels: Record<string, string>, value: number): void }, R>) => unknown;
  readonly Counter: new (config: ScrapeMetricConfig<{ reset(): void; inc(labels: Record<string, string>, value: number): void }, R>) => unknown;
}

/** The two kinds of metric read from the sources at every scrape (see {@link scrapeMetricFactories}). */
export interface ScrapeMetricFactories<F> {
  /** A gauge refilled at every scrape. */
  gauge(name: string, help: string, labelNames: string[], fill: F): unknown;
  /** A running total a source keeps (stats), exposed with counter semantics: equal to it at every scrape. */
  mirror(name: string, help: string, labelNames: string[], fill: F): unknown;
}

/**
 * Factories of metrics that read every attached source when scraped, each series under its source's `node`
 * label (the runtime's and the mesh's metrics share them). `each` calls `fill` once per source, writing through
 * the setter it is given.
 */
export function scrapeMetricFactories<F, R>(client: ScrapeMetricClient<R>, registers: R[], prefix: string, each: (set: LabelSetter, fill: F) => void): ScrapeMetricFactories<F> {
  return {
    gauge: (name, help, labelNames, fill) =>
      new client.Gauge({
        name: prefix + name,
        help,
        labelNames: ['node', ...labelNames],
        registers,
        collect() {
          this.reset();
          each(this, fill);
        },
      }),
    mirror: (name, help, labelNames, fill) =>
      new client.Counter({
        name: prefix + name,
        help,
        labelNames: ['node', ...labelNames],
        registers,
        collect() {
          this.reset();
          each({ set: (labels, v) => this.inc(labels, v) }, fill);
        },
      }),
  };
}
