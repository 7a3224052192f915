import { productionMix } from '../workload/production-mix.js';
import type { ExperimentReport } from '../report/types.js';
import { mainSystems, perServiceCell, RunCounter, TESTBED, r3, runContender, runsOf, type ExperimentContext } from './common.js';

/** E5: goodput timeline through a server failure, a device failure and the server's return. */
export function runE5(ctx: ExperimentContext): ExperimentReport {
  const started = performance.now();
  const t = ctx.quick ? 20_000 : 40_000;
  const durationMs = 3 * t;
  const failures = [
    { atMs: t, server: 0 },
    { atMs: t + 5000, server: 3, device: 1 },
    { atMs: 2 * t, server: 0, recover: true },
  ];
  const counter = new RunCounter(ctx, mainSystems(ctx).reduce((n, c) => n + runsOf(c), 0));
  const base = { name: 'e5', seed: ctx.seed, durationMs, cluster: { groups: TESTBED }, workload: productionMix({ scale: 6 }), failures };
  const results = mainSystems(ctx).map((c) => runContender(base, c, counter));
  const window = (r: (typeof results)[number], from: number, to: number): number => {
    const g = r.result.timeline.good.slice(from / 1000, to / 1000);
    return g.reduce((a, b) => a + b, 0) / Math.max(1, g.length);
  };
  return {
    id: 'e5', title: 'Recovery after failures', question: 'How much goodput is lost when a server and a device fail, and how fast does it come back?',
    seed: ctx.seed, quick: ctx.quick,
    setup: [`Testbed cluster, productionMix({ scale: 6 }), ${durationMs / 1000} s.`, `Server s00 (a gpu-server) fails at ${t / 1000} s; device g1 of server s03 (a gpu-server) fails at ${(t + 5000) / 1000} s; s00 returns (empty) at ${(2 * t) / 1000} s.`, 'EPARA detects through the ring (bypass) and re-places after failureDetectionMs; the centralized scheduler re-places after the same detection time, and as its controller runs on s00 a standby at the next server takes over 1 s after the failure with no state (requests sent to the dead controller meanwhile are lost; it decides nothing until its servers\' reports reach it); the oracle re-places at once; Ray Serve\'s controller also runs on s00, so nothing is scaled or restarted until s00 returns (its proxies route on the replicas they last heard of); Triton keeps its static placement (its balancer drops the dead server after a readiness probe).'],
    tables: [{ title: 'Mean goodput per second', columns: ['system', 'before', 'during failure', 'after return', 'per-service attainment (whole run)'], rows: results.map((r) => [r.label, r3(window(r, 5000, t)), r3(window(r, t, 2 * t)), r3(window(r, 2 * t + 5000, durationMs)), perServiceCell(r.result)]) }],
    charts: [{ id: 'e5-timeline', title: 'Goodput per second through failures', xLabel: 'time (s)', yLabel: 'good items per second', series: results.map((r) => ({ name: r.label, points: r.result.timeline.good.map((g, i) => [i, g] as [number, number]) })) }],
    notes: ['Items emitted in each second and completed within SLO, by emission time; the dips show what each system lost and how quickly placement restored capacity (new instances pay their model load time).'],
    figures: Object.fromEntries(results.map((r) => [`${r.label}.duringOverBefore`, r3(window(r, t, 2 * t) / Math.max(1e-9, window(r, 5000, t)))])),
    wallMs: performance.now() - started,
  };
}
