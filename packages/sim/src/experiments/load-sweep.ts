import { productionMix, type MixKind } from '../workload/production-mix.js';
import type { ExperimentReport } from '../report/types.js';
import { mainSystems, RunCounter, TESTBED, r3, ratioOverBest, runContender, runsOf, type ContenderResult, type ExperimentContext } from './common.js';

/** Goodput against offered load for one workload mix (E1 uses `mixed`; the bench also runs the others). */
export function runLoadSweep(ctx: ExperimentContext, kind: MixKind, id = 'e1'): ExperimentReport {
  const started = performance.now();
  const scales = ctx.quick ? [3, 6, 9] : [2, 4, 6, 8, 10, 12];
  const durationMs = ctx.quick ? 20_000 : 90_000;
  const counter = new RunCounter(ctx, scales.length * mainSystems(ctx).reduce((n, c) => n + runsOf(c), 0));
  const rows: (string | number)[][] = [];
  const points = new Map<string, [number, number][]>();
  const ratios: number[] = [];
  let offeredAtMax = { requests: 0, frames: 0 };
  for (const scale of scales) {
    const base = { name: `${id}-${kind}-x${scale}`, seed: ctx.seed, durationMs, warmupMs: 5000, cluster: { groups: TESTBED }, workload: productionMix({ scale, kind }) };
    const results: ContenderResult[] = mainSystems(ctx).map((c) => runContender(base, c, counter));
    const offered = results[0]!.result.offeredPerSec;
    offeredAtMax = offered;
    const ratio = ratioOverBest(results);
    if (ratio !== null) ratios.push(ratio);
    for (const r of results) {
      const t = r.result.total;
      rows.push([scale, r3(offered.requests + offered.frames), r.label + (r.pickedDelayMs !== undefined ? ` (delay ${r.pickedDelayMs} ms)` : ''), r3(t.goodputPerSec), r3(t.sloAttainment), t.p50Ms, t.p99Ms, r3(t.meanHops), JSON.stringify(t.drops)]);
      const list = points.get(r.label) ?? [];
      list.push([offered.requests + offered.frames, t.goodputPerSec]);
      points.set(r.label, list);
    }
    rows.push([scale, '', 'EPARA ÷ best baseline', ratio === null ? '' : r3(ratio), '', '', '', '', '']);
  }
  const maxRatio = ratios.length ? Math.max(...ratios) : null;
  return {
    id,
    title: `Goodput vs offered load (${kind} workload)`,
    question: 'How much SLO-meeting work does each system deliver as the offered load grows on the same testbed?',
    seed: ctx.seed,
    quick: ctx.quick,
    setup: [
      `Cluster: 4 gpu-servers (2 edge GPUs each), 4 Jetson-class boards, 4 microcomputers; one zone.`,
      `Workload: productionMix({ kind: '${kind}', scale }) for scale in ${scales.join(', ')}; ${durationMs / 1000} s per run, first 5 s not counted.`,
      'Triton-like: best of max_queue_delay ∈ {0, 1, 5, 10} ms per load point (the winner is named).',
    ],
    tables: [{ title: 'Per load point', columns: ['scale', 'offered items/s', 'system', 'goodput/s', 'SLO attainment', 'p50 ms', 'p99 ms', 'mean hops', 'drops'], rows }],
    charts: [{ id: `${id}-goodput`, title: `Goodput vs offered load (${kind})`, xLabel: 'offered items/s', yLabel: 'goodput (items/s within SLO)', series: [...points].map(([name, pts]) => ({ name, points: pts })) }],
    notes: [
      `EPARA over the best baseline: up to ${maxRatio === null ? 'n/a' : r3(maxRatio)}× across the sweep (per point in the table).`,
      `At the highest load: ${r3(offeredAtMax.requests)} requests/s and ${r3(offeredAtMax.frames)} frames/s offered.`,
    ],
    figures: { maxRatio: maxRatio === null ? null : r3(maxRatio), ratios: ratios.map(r3).join(',') },
    wallMs: performance.now() - started,
  };
}
