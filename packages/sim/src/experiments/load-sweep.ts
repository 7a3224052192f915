import type { MixKind } from '../workload/production-mix.js';
import type { ExperimentReport } from '../report/types.js';
import { compare, edgeScenario, mainSystems, perServiceCell, RunCounter, r3, runContender, runsOf, UPPER_BOUND, DEPLOYABLE_BASELINES, type Comparison, type ContenderResult, type ExperimentContext } from './common.js';

/** Attainment below which the best deployable baseline counts as collapsed (the sweep stops after it). */
export const COLLAPSE_ATTAINMENT = 0.5;

/**
 * Goodput against offered load for one workload mix (E1 uses `mixed`; the bench also runs the others), in the
 * edge world, from light load up to the load where the best deployable baseline collapses.
 */
export function runLoadSweep(ctx: ExperimentContext, kind: MixKind, id = 'e1'): ExperimentReport {
  const started = performance.now();
  const scales = ctx.quick ? [1, 2, 3, 4, 6, 8, 10, 12, 16] : [1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 20];
  const durationMs = ctx.quick ? 20_000 : 90_000;
  const perPoint = mainSystems(ctx).reduce((n, c) => n + runsOf(c), 0);
  const counter = new RunCounter(ctx, scales.length * perPoint);
  const rows: (string | number)[][] = [];
  const ratioRows: (string | number)[][] = [];
  const points = new Map<string, [number, number][]>();
  const comparisons: Array<{ scale: number; offered: number; c: Comparison; bestAttainment: number; results: ContenderResult[] }> = [];
  let collapseScale: number | null = null;
  for (const scale of scales) {
    const base = edgeScenario(`${id}-${kind}-x${scale}`, ctx, scale, durationMs, kind);
    const results: ContenderResult[] = mainSystems(ctx).map((c) => runContender(base, c, counter));
    const offered = results[0]!.result.offeredPerSec.requests + results[0]!.result.offeredPerSec.frames;
    const c = compare(results);
    const best = results.find((r) => r.label === c.bestDeployable);
    const bestAttainment = best?.result.total.sloAttainment ?? 0;
    comparisons.push({ scale, offered, c, bestAttainment, results });
    for (const r of results) {
      const t = r.result.total;
      rows.push([scale, r3(offered), r.label + (r.pickedDelayMs !== undefined ? ` (delay ${r.pickedDelayMs} ms)` : ''), r3(t.goodputPerSec), r3(t.sloAttainment), perServiceCell(r.result), t.p99Ms, r3(t.meanHops), JSON.stringify(t.drops)]);
      const list = points.get(r.label) ?? [];
      list.push([offered, t.goodputPerSec]);
      points.set(r.label, list);
    }
    ratioRows.push([scale, r3(offered), ...DEPLOYABLE_BASELINES.map((b) => fmt(c.vs[b])), `${fmt(c.vsBestDeployable)} (${c.bestDeployable ?? '–'})`, fmt(c.vsUpperBound), r3(c.minService['EPARA'] ?? 0), r3(bestAttainment)]);
    counter.planned = counter.done + (scales.length - scales.indexOf(scale) - 1) * perPoint;
    if (bestAttainment < COLLAPSE_ATTAINMENT) {
      collapseScale = scale;
      break;
    }
  }
  counter.planned = counter.done;
  const ratios = comparisons.map((x) => x.c.vsBestDeployable).filter((x): x is number => x !== null);
  const maxRatio = ratios.length ? Math.max(...ratios) : null;
  const maxAt = comparisons.find((x) => x.c.vsBestDeployable === maxRatio);
  // The worst service's attainment under EPARA at the highest load where the best deployable baseline still reaches 90 %.
  const at90 = [...comparisons].reverse().find((x) => x.bestAttainment >= 0.9);
  const last = comparisons[comparisons.length - 1]!;
  const perBaselineMax = Object.fromEntries(DEPLOYABLE_BASELINES.map((b) => [b, r3(Math.max(0, ...comparisons.map((x) => x.c.vs[b] ?? 0)))]));
  return {
    id,
    title: `Goodput vs offered load (${kind} workload, edge world)`,
    question: 'How much SLO-meeting work does each system deliver as the offered load grows, up to the collapse of the best deployable baseline?',
    seed: ctx.seed,
    quick: ctx.quick,
    setup: [
      'Cluster: 4 gpu-servers (2 edge GPUs each), 4 Jetson-class boards, 4 microcomputers; sites of 3 servers 5–20 ms apart; one zone.',
      `Workload: edgeMix({ kind: '${kind}', scale }) — productionMix volumes, chat replayed from the Azure LLM trace, Zipf hot spots moving every 60 s, 4× bursts; ${durationMs / 1000} s per run, first 5 s not counted.`,
      `Scales ${scales.join(', ')}, stopping after the first point where the best deployable baseline's attainment falls below ${COLLAPSE_ATTAINMENT}.`,
      'Triton per site + LB: best of max_queue_delay ∈ {0, 1, 5, 10} ms per load point (the winner is named).',
    ],
    tables: [
      { title: 'EPARA ÷ each system per load point', columns: ['scale', 'offered items/s', ...DEPLOYABLE_BASELINES.map((b) => `÷ ${b}`), '÷ best deployable', `÷ ${UPPER_BOUND}`, 'EPARA worst service', 'best deployable attainment'], rows: ratioRows },
      { title: 'Per load point', columns: ['scale', 'offered items/s', 'system', 'goodput/s', 'SLO attainment', 'per-service attainment', 'p99 ms', 'mean hops', 'drops'], rows },
    ],
    charts: [{ id: `${id}-goodput`, title: `Goodput vs offered load (${kind})`, xLabel: 'offered items/s', yLabel: 'goodput (items/s within SLO)', series: [...points].map(([name, pts]) => ({ name, points: pts })) }],
    notes: [
      `EPARA over the best deployable baseline: up to ${fmt(maxRatio)}× (at scale ${maxAt?.scale ?? '–'}); per point in the first table.`,
      collapseScale === null ? 'The best deployable baseline did not collapse within the sweep.' : `The best deployable baseline collapsed (attainment < ${COLLAPSE_ATTAINMENT}) at scale ${collapseScale}; there EPARA ÷ it = ${fmt(last.c.vsBestDeployable)}, EPARA ÷ upper bound = ${fmt(last.c.vsUpperBound)}.`,
      at90 === undefined ? 'The best deployable baseline never reached 90 % attainment: no minServiceAttainment point.' : `At scale ${at90.scale} (the highest load where the best deployable baseline reaches 90 %), EPARA's worst service attains ${r3(at90.c.minService['EPARA'] ?? 0)}.`,
      `The ${UPPER_BOUND} is shown for reference only: exact instant state, free decisions, EPARA's placement. It is never a baseline.`,
    ],
    figures: {
      maxRatio: maxRatio === null ? null : r3(maxRatio),
      ratios: ratios.map(r3).join(','),
      vsUpperBound: last.c.vsUpperBound === null ? null : r3(last.c.vsUpperBound),
      vsUpperBoundAtMax: maxAt?.c.vsUpperBound == null ? null : r3(maxAt.c.vsUpperBound),
      minServiceAttainment: at90 === undefined ? null : r3(at90.c.minService['EPARA'] ?? 0),
      minServiceScale: at90?.scale ?? null,
      collapseScale,
      perBaselineMax: JSON.stringify(perBaselineMax),
    },
    wallMs: performance.now() - started,
  };
}

function fmt(x: number | null | undefined): string {
  return x === null || x === undefined ? 'n/a' : String(r3(x));
}
