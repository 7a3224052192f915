import { productionMix } from '../workload/production-mix.js';
import type { Table } from '../report/types.js';
import { simulate } from '../simulate.js';
import { RunCounter, TESTBED, r3, type ExperimentContext } from './common.js';

/** Core `routeRequest` `stalenessFactor` values the sensitivity runs (core default: 1). */
export const STALENESS_FACTORS = [0, 0.05, 0.1, 0.25, 0.5, 1] as const;

/** Ring conditions of the sensitivity: the default ring, and views made ~0.5 s staler per message. */
const SYNC_CASES = [
  { label: 'ring 500 ms', sync: {} },
  { label: 'ring 500 ms + 500 ms extra delay per message', sync: { extraDelayMs: 500 } },
] as const;

/** Runs the sensitivity needs. */
export function stalenessRuns(ctx: ExperimentContext): number {
  return STALENESS_FACTORS.length * SYNC_CASES.length * (ctx.quick ? 1 : 2);
}

/**
 * EPARA with core `routeRequest`'s `stalenessFactor` swept (sensitivity, not an ablation): on the testbed with
 * the production mix at scale 8 (and 12 in full mode), with the default ring and with a staler one. Returns
 * the table and figures `staleness.<scale>.<case>.<factor>` = goodput over the factor-0 run's.
 */
export function runStalenessSensitivity(ctx: ExperimentContext, durationMs: number, counter: RunCounter): { table: Table; figures: Record<string, number> } {
  const rows: (string | number)[][] = [];
  const figures: Record<string, number> = {};
  for (const scale of ctx.quick ? [8] : [8, 12]) {
    SYNC_CASES.forEach((c, ci) => {
      let reference = 0;
      for (const f of STALENESS_FACTORS) {
        const r = simulate({ name: 'e7-staleness', seed: ctx.seed, durationMs, warmupMs: 5000, cluster: { groups: TESTBED }, workload: productionMix({ scale }), system: { kind: 'epara', routeOptions: { stalenessFactor: f }, syncOptions: c.sync } });
        counter.tick();
        const t = r.total;
        if (f === 0) reference = t.goodputPerSec;
        const rel = t.goodputPerSec / Math.max(1e-9, reference);
        figures[`staleness.${scale}.${ci}.${f}`] = r3(rel);
        rows.push([scale, c.label, f, r3(t.goodputPerSec), r3(rel), r3(t.sloAttainment), t.p99Ms, r3(t.meanHops), t.drops['OVERLOADED'] ?? 0, JSON.stringify(t.drops)]);
      }
    });
  }
  return {
    table: { title: 'Sensitivity: core routeRequest stalenessFactor', columns: ['mix scale', 'sync', 'stalenessFactor', 'goodput/s', 'vs factor 0', 'SLO attainment', 'p99 ms', 'mean hops', 'OVERLOADED', 'drops'], rows },
    figures,
  };
}
