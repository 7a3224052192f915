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

/** A gauge as its `collect` sees it. */
type Gauge = { reset(): void; set(labels: Record<string, string>, value: number): void };
/** A counter as its `collect` sees it. */
type Counter = { reset(): void; inc(labels: Record<string, string>, value: number): void };

/** The part of prom-client's `Gauge` and `Counter` classes that scrape-time metrics use (structural; `R` is its `Registry`). */
export interface ScrapeMetricClient<R> {
  readonly Gauge: new (config: ScrapeMetricConfig<Gauge, R>) => unknown;
  readonly Counter: new (config: ScrapeMetricConfig<Counter, R>) => unknown;
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
  const config = <M>(name: string, help: string, labelNames: string[], collect: (this: M) => void): ScrapeMetricConfig<M, R> => ({
    name: prefix + name,
    help,
    labelNames: ['node', ...labelNames],
    registers,
    collect,
  });
  return {
    gauge: (name, help, labelNames, fill) =>
      new client.Gauge(
        config<Gauge>(name, help, labelNames, function () {
          this.reset();
          each(this, fill);
        }),
      ),
    mirror: (name, help, labelNames, fill) =>
      new client.Counter(
        config<Counter>(name, help, labelNames, function () {
          this.reset();
          each({ set: (labels, v) => this.inc(labels, v) }, fill);
        }),
      ),
  };
}
