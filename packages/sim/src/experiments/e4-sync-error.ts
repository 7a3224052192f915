import { productionMix } from '../workload/production-mix.js';
import type { ExperimentReport } from '../report/types.js';
import type { SyncOptions } from '../systems/epara-options.js';
import { simulate } from '../simulate.js';
import { perServiceCell, RunCounter, TESTBED, r3, type ExperimentContext } from './common.js';

/** E4: EPARA's goodput as ring messages are lost, delayed (stale views) or carry wrong (noisy) values. */
export function runE4(ctx: ExperimentContext): ExperimentReport {
  const started = performance.now();
  const durationMs = ctx.quick ? 20_000 : 60_000;
  const sweeps: Array<{ name: string; field: keyof SyncOptions; values: number[] }> = [
    { name: 'loss probability', field: 'lossProbability', values: ctx.quick ? [0, 0.5] : [0, 0.1, 0.3, 0.5, 0.8] },
    { name: 'extra delay (ms)', field: 'extraDelayMs', values: ctx.quick ? [0, 1000] : [0, 100, 500, 1000, 3000] },
    { name: 'noise (±fraction)', field: 'noise', values: ctx.quick ? [0, 1] : [0, 0.25, 0.5, 1, 2] },
  ];
  const counter = new RunCounter(ctx, sweeps.reduce((n, s) => n + s.values.length, 0));
  const rows: (string | number)[][] = [];
  const charts = [];
  const figures: Record<string, number> = {};
  for (const s of sweeps) {
    const pts: [number, number][] = [];
    for (const v of s.values) {
      const r = simulate({ name: 'e4', seed: ctx.seed, durationMs, warmupMs: 5000, cluster: { groups: TESTBED }, workload: productionMix({ scale: 8 }), system: { kind: 'epara', syncOptions: { [s.field]: v } } });
      counter.tick();
      rows.push([s.name, v, r3(r.total.goodputPerSec), r3(r.total.sloAttainment), perServiceCell(r), r3(r.total.meanHops), JSON.stringify(r.total.drops)]);
      pts.push([v, r.total.goodputPerSec]);
    }
    figures[`${s.field}.worstOverBest`] = r3(Math.min(...pts.map((p) => p[1])) / Math.max(...pts.map((p) => p[1])));
    charts.push({ id: `e4-${s.field}`, title: `EPARA goodput vs ${s.name}`, xLabel: s.name, yLabel: 'goodput (items/s)', series: [{ name: 'EPARA', points: pts }] });
  }
  return {
    id: 'e4', title: 'Goodput vs synchronization error', question: 'Does EPARA keep serving when the ring loses, delays or corrupts state?',
    seed: ctx.seed, quick: ctx.quick,
    setup: ['Testbed cluster, productionMix({ scale: 8 }).', 'One error kind at a time: message loss per attempt (resent after the 50 ms acknowledgement timeout, up to 2 times, then the successor is bypassed and marked dead), extra delay per ring message (older views), multiplicative noise ×(1+U[−e,e]) on reported waits, loads and rates.'],
    tables: [{ title: 'Sweeps', columns: ['error', 'level', 'goodput/s', 'SLO attainment', 'per-service attainment', 'mean hops', 'drops'], rows }],
    charts,
    notes: ['A wrong view costs a hop or a rejection, never a wrong answer: the receiving server re-checks with its exact local state, and peers older than maxEntryAgeMs are ignored. The figure `worstOverBest` is the goodput at the worst level over the best.'],
    figures,
    wallMs: performance.now() - started,
  };
}
