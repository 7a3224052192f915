import { productionMix } from '../workload/production-mix.js';
import type { ExperimentReport } from '../report/types.js';
import { RunCounter, TESTBED, r3, runContender, type Contender, type ExperimentContext } from './common.js';
import { runStalenessSensitivity, stalenessRuns } from './staleness-sensitivity.js';

/** EPARA and its four ablations (DESIGN.md §4). */
export const ABLATIONS: readonly Contender[] = [
  { label: 'EPARA', spec: { kind: 'epara' } },
  { label: 'no categorization', spec: { kind: 'epara', categorize: false } },
  { label: 'no offloading', spec: { kind: 'epara', offload: false } },
  { label: 'static placement', spec: { kind: 'epara', periodicPlacement: false } },
  { label: 'no sync', spec: { kind: 'epara', sync: false } },
];

/** Sensitivity (not an ablation): EPARA trusting the synced waits as reported (core `stalenessFactor` 0 instead of the core default). */
export const SENSITIVITY: readonly Contender[] = [{ label: 'EPARA, stalenessFactor 0 (sensitivity)', spec: { kind: 'epara', routeOptions: { stalenessFactor: 0 } } }];

/** E7: what each mechanism contributes. */
export function runE7(ctx: ExperimentContext): ExperimentReport {
  const started = performance.now();
  const durationMs = ctx.quick ? 20_000 : 90_000;
  const counter = new RunCounter(ctx, ABLATIONS.length + SENSITIVITY.length + stalenessRuns(ctx));
  const base = { name: 'e7', seed: ctx.seed, durationMs, warmupMs: 5000, cluster: { groups: TESTBED }, workload: productionMix({ scale: 8 }) };
  const results = [...ABLATIONS, ...SENSITIVITY].map((c) => runContender(base, c, counter));
  const full = results[0]!.result.total.goodputPerSec;
  const staleness = runStalenessSensitivity(ctx, durationMs, counter);
  return {
    id: 'e7', title: 'Ablations', question: 'How much does each EPARA mechanism contribute?',
    seed: ctx.seed, quick: ctx.quick,
    setup: ['Testbed cluster, productionMix({ scale: 8 }).', 'no categorization: every service batched, frames routed as requests; no offloading: hop limit 0; static placement: placed once from the average demand; no sync: the view is the placement\'s (no live waits or loads, never aged out).'],
    tables: [{ title: 'Ablations', columns: ['variant', 'goodput/s', 'vs EPARA', 'SLO attainment', 'p99 ms', 'mean hops', 'drops'], rows: results.map((r) => [r.label, r3(r.result.total.goodputPerSec), r3(r.result.total.goodputPerSec / Math.max(1e-9, full)), r3(r.result.total.sloAttainment), r.result.total.p99Ms, r3(r.result.total.meanHops), JSON.stringify(r.result.total.drops)]) }, staleness.table],
    charts: [],
    notes: ['The last row is a sensitivity run, not an ablation: core `routeRequest` inflates a peer\'s reported wait by `age × (max(0, ρ − 1) + stalenessFactor × ρ)` (core default factor 0 since this sweep; it was 0.1); with 500 ms sync and a positive factor and tight SLOs (50–150 ms) the hedge term excludes many busy peers, so requests entering at servers without a local instance are rejected `OVERLOADED`. Trusting the view (factor 0) still re-checks at the receiver with exact state.', 'The sensitivity table sweeps the factor with the default ring and with 500 ms extra delay per ring message (views about 0.5–1 s older); `vs factor 0` is goodput over the factor-0 run of the same row group.', 'A variant that matches EPARA means that mechanism does not matter for this workload and cluster, not that it never does (e.g. static placement loses nothing when the average demand is steady).'],
    figures: { ...Object.fromEntries(results.map((r) => [r.label, r3(r.result.total.goodputPerSec / Math.max(1e-9, full))])), ...staleness.figures },
    wallMs: performance.now() - started,
  };
}
