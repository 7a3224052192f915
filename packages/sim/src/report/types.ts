/** One line of a chart. */
export interface ChartSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

/** A simple line chart. */
export interface Chart {
  readonly id: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly ChartSeries[];
}

/** A table for the markdown report. */
export interface Table {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<ReadonlyArray<string | number>>;
}

/** The outcome of one experiment: what the report shows, plus machine-readable figures. */
export interface ExperimentReport {
  readonly id: string;
  readonly title: string;
  readonly question: string;
  readonly seed: number;
  readonly quick: boolean;
  readonly setup: readonly string[];
  readonly tables: readonly Table[];
  readonly charts: readonly Chart[];
  /** Findings and where and why they differ from the paper. */
  readonly notes: readonly string[];
  /** Headline figures (ratios, counts) for the JSON and the bench. */
  readonly figures: Readonly<Record<string, number | string | null>>;
  readonly wallMs: number;
}
