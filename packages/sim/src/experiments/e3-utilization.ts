import { productionMix } from '../workload/production-mix.js';
import type { ExperimentReport } from '../report/types.js';
import { mainSystems, perServiceCell, RunCounter, TESTBED, r3, runContender, runsOf, type ExperimentContext } from './common.js';

/** E3: compute (busy time) and memory utilization of the devices at a fixed load. */
export function runE3(ctx: ExperimentContext): ExperimentReport {
  const started = performance.now();
  const scale = ctx.quick ? 6 : 10;
  const durationMs = ctx.quick ? 20_000 : 90_000;
  const counter = new RunCounter(ctx, mainSystems(ctx).reduce((n, c) => n + runsOf(c), 0));
  const base = { name: 'e3', seed: ctx.seed, durationMs, warmupMs: 5000, cluster: { groups: TESTBED }, workload: productionMix({ scale }) };
  const results = mainSystems(ctx).map((c) => runContender(base, c, counter));
  return {
    id: 'e3', title: 'Compute and memory utilization', question: 'How busy are the devices, and how much of their memory holds models, at a high load?',
    seed: ctx.seed, quick: ctx.quick,
    setup: [`Testbed cluster, productionMix({ scale: ${scale} }), ${durationMs / 1000} s.`, 'Compute = device busy time ÷ device time (all devices, including boards that host little); memory = fraction of device memory held by placed instances, sampled each second.'],
    tables: [{ title: 'Utilization', columns: ['system', 'compute', 'memory', 'goodput/s', 'SLO attainment', 'per-service attainment', 'goodput per busy device-second'], rows: results.map((r) => [r.label, r3(r.result.utilization.compute), r3(r.result.utilization.memory), r3(r.result.total.goodputPerSec), r3(r.result.total.sloAttainment), perServiceCell(r.result), r3(r.result.total.goodputPerSec / Math.max(1e-9, r.result.utilization.compute * r.result.devices))]) }],
    charts: [],
    notes: ['High utilization is only good when it buys goodput: the last column is goodput per busy device-second (work that met its SLO per unit of device time spent).', 'The paper reports >95 % compute and >98 % memory utilization on its testbed; our memory figure counts only weights plus batch working memory of placed plans, not caches a real runtime would fill.'],
    figures: Object.fromEntries(results.flatMap((r) => [[`${r.label}.compute`, r3(r.result.utilization.compute)], [`${r.label}.memory`, r3(r.result.utilization.memory)]])),
    wallMs: performance.now() - started,
  };
}
