import { edgeMix } from '../workload/edge-mix.js';
import type { ExperimentReport } from '../report/types.js';
import { DEPLOYABLE_BASELINES, mainSystems, perServiceCell, RunCounter, r3, runContender, UPPER_BOUND, type ExperimentContext } from './common.js';

/** Attainment targets E2 searches for. */
export const E2_TARGETS = [0.9, 0.99] as const;

/** E2: the fewest edge GPUs at which each system keeps SLO attainment ≥ 90 % and ≥ 99 % at a fixed load (search). */
export function runE2(ctx: ExperimentContext): ExperimentReport {
  const started = performance.now();
  const scale = ctx.quick ? 3 : 6;
  const maxServers = ctx.quick ? 8 : 16;
  const durationMs = ctx.quick ? 20_000 : 60_000;
  const systems = mainSystems(ctx).filter((c) => c.label !== UPPER_BOUND);
  const counter = new RunCounter(ctx, systems.length * 10);
  const rows: (string | number)[][] = [];
  const needed: Record<string, Record<number, number | null>> = {};
  for (const c of systems) {
    const att = new Map<number, number>();
    const per = new Map<number, string>();
    const attain = (n: number): number => {
      if (!att.has(n)) {
        const base = { name: `e2-${n}`, seed: ctx.seed, durationMs, warmupMs: 5000, cluster: { groups: [{ preset: 'gpu-server', count: n }, { preset: 'micro', count: 4 }] }, workload: edgeMix({ scale, durationMs }) };
        const r = runContender(base, c, counter).result;
        att.set(n, r.total.sloAttainment);
        per.set(n, perServiceCell(r));
      }
      return att.get(n)!;
    };
    needed[c.label] = {};
    for (const target of E2_TARGETS) {
      // Binary search for the smallest server count meeting the target (attainment grows with devices).
      let lo = 1;
      let hi = maxServers;
      if (attain(hi) < target) {
        needed[c.label]![target] = null;
        continue;
      }
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (attain(mid) >= target) hi = mid;
        else lo = mid + 1;
      }
      needed[c.label]![target] = 2 * lo;
    }
    for (const [n, a] of [...att].sort((x, y) => x[0] - y[0])) rows.push([c.label, 2 * n, r3(a), per.get(n) ?? '']);
  }
  const figures: Record<string, number | null> = {};
  const notes: string[] = [];
  for (const target of E2_TARGETS) {
    const pct = Math.round(target * 100);
    const e = needed['EPARA']?.[target] ?? null;
    const finite = DEPLOYABLE_BASELINES.map((b) => needed[b]?.[target]).filter((x): x is number => x !== null && x !== undefined);
    const best = finite.length ? Math.min(...finite) : null;
    const saving = e !== null && best !== null ? best / e : null;
    figures[`eparaGpus${pct}`] = e;
    figures[`bestDeployableGpus${pct}`] = best;
    figures[`deviceSaving${pct}`] = saving === null ? null : r3(saving);
    notes.push(saving === null ? `${pct} %: a system did not reach the target within ${2 * maxServers} GPUs (or EPARA did not); no saving ratio.` : `${pct} %: the best deployable baseline needs ${best} GPUs, EPARA ${e}: ${r3(saving)}×.`);
  }
  return {
    id: 'e2', title: 'Devices needed for ≥ 90 % and ≥ 99 % SLO attainment', question: 'How many edge GPUs does each system need to serve the same load within SLO?',
    seed: ctx.seed, quick: ctx.quick,
    setup: [`Workload edgeMix({ scale: ${scale} }), ${durationMs / 1000} s, same seed for every run.`, `Cluster: n gpu-servers (2 GPUs each, n ≤ ${maxServers}) + 4 microcomputer clients; binary search on n per target.`, 'Triton per site + LB runs its max_queue_delay sweep at every n.'],
    tables: [
      { title: 'Attainment at the server counts the search visited', columns: ['system', 'edge GPUs', 'SLO attainment', 'per-service attainment'], rows },
      { title: 'GPUs needed', columns: ['system', ...E2_TARGETS.map((t) => `GPUs for ${Math.round(t * 100)} %`)], rows: Object.entries(needed).map(([k, v]) => [k, ...E2_TARGETS.map((t) => v[t] ?? `> ${2 * maxServers}`)]) },
    ],
    charts: [],
    notes,
    figures: { ...figures, eparaGpus: figures['eparaGpus99'] ?? null, bestBaselineGpus: figures['bestDeployableGpus99'] ?? null, deviceSavingRatio: figures['deviceSaving99'] ?? null },
    wallMs: performance.now() - started,
  };
}
