import { productionMix } from '../workload/production-mix.js';
import type { ExperimentReport } from '../report/types.js';
import { mainSystems, RunCounter, r3, runContender, type ExperimentContext } from './common.js';

/** E2: the fewest edge GPUs at which each system keeps SLO attainment ≥ target at a fixed load (search). */
export function runE2(ctx: ExperimentContext): ExperimentReport {
  const started = performance.now();
  const scale = ctx.quick ? 3 : 6;
  const target = 0.99;
  const maxServers = ctx.quick ? 8 : 16;
  const durationMs = ctx.quick ? 20_000 : 60_000;
  const counter = new RunCounter(ctx, mainSystems(ctx).length * 5 * 4);
  const rows: (string | number)[][] = [];
  const needed: Record<string, number | null> = {};
  for (const c of mainSystems(ctx)) {
    const att = new Map<number, number>();
    const attain = (n: number): number => {
      if (!att.has(n)) {
        const base = { name: `e2-${n}`, seed: ctx.seed, durationMs, warmupMs: 5000, cluster: { groups: [{ preset: 'gpu-server', count: n }, { preset: 'micro', count: 4 }] }, workload: productionMix({ scale }) };
        att.set(n, runContender(base, c, counter).result.total.sloAttainment);
      }
      return att.get(n)!;
    };
    // Binary search for the smallest server count meeting the target (attainment grows with devices).
    let lo = 1;
    let hi = maxServers;
    if (attain(hi) < target) needed[c.label] = null;
    else {
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (attain(mid) >= target) hi = mid;
        else lo = mid + 1;
      }
      needed[c.label] = 2 * lo;
    }
    for (const [n, a] of [...att].sort((x, y) => x[0] - y[0])) rows.push([c.label, 2 * n, r3(a)]);
  }
  const e = needed['EPARA'];
  const bases = mainSystems(ctx).filter((c) => c.label !== 'EPARA').map((c) => needed[c.label]);
  const finite = bases.filter((x): x is number => x !== null && x !== undefined);
  const bestBaseline = finite.length ? Math.min(...finite) : null;
  const saving = e !== null && e !== undefined && bestBaseline !== null ? bestBaseline / e : null;
  return {
    id: 'e2', title: 'Devices needed for ≥ 99 % SLO attainment', question: 'How many edge GPUs does each system need to serve the same load within SLO?',
    seed: ctx.seed, quick: ctx.quick,
    setup: [`Workload productionMix({ scale: ${scale} }), ${durationMs / 1000} s, same seed for every run.`, `Cluster: n gpu-servers (2 GPUs each, n ≤ ${maxServers}) + 4 microcomputer clients; binary search on n.`, 'Triton-like runs its max_queue_delay sweep at every n.'],
    tables: [{ title: 'Attainment at the server counts the search visited', columns: ['system', 'edge GPUs', 'SLO attainment'], rows }, { title: 'GPUs needed', columns: ['system', 'GPUs'], rows: Object.entries(needed).map(([k, v]) => [k, v === null ? `> ${2 * maxServers}` : v]) }],
    charts: [],
    notes: [saving === null ? 'A system did not reach the target within the search range; no saving ratio.' : `Best baseline needs ${bestBaseline} GPUs, EPARA ${e}: ${r3(saving)}× fewer.`],
    figures: { eparaGpus: e ?? null, bestBaselineGpus: bestBaseline, deviceSavingRatio: saving === null ? null : r3(saving) },
    wallMs: performance.now() - started,
  };
}
