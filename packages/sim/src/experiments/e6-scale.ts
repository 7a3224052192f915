import { productionMix } from '../workload/production-mix.js';
import type { ExperimentReport } from '../report/types.js';
import { simulate } from '../simulate.js';
import { simulateInParallel } from '../shard/simulate-in-parallel.js';
import type { RunResult } from '../metrics/summary.js';
import type { Scenario } from '../scenario/scenario.js';
import { RunCounter, r3, type ExperimentContext } from './common.js';

/** Load per server used by E6 (productionMix scale units per server). */
export const E6_SCALE_PER_SERVER = 0.05;

/** What one E6 point reports. */
export interface ScalePoint {
  readonly wallMs: number;
  readonly events: number;
  readonly requestsPerSec: number;
  readonly framesPerSec: number;
  readonly goodput: number;
  readonly attainment: number;
  readonly placementMs: number;
}

/** E6's scenario at one size: half gpu-servers, a quarter Jetson boards, a quarter microcomputers, zones of 50. */
function scaleScenario(servers: number, durationMs: number, seed: number): Scenario {
  const gpu = Math.round(servers / 2);
  return {
    name: `e6-${servers}`, seed, durationMs,
    cluster: { groups: [{ preset: 'gpu-server', count: gpu }, { preset: 'jetson', count: Math.ceil((servers - gpu) / 2) }, { preset: 'micro', count: Math.floor((servers - gpu) / 2) }].filter((g) => g.count > 0), zoneSize: 50 },
    workload: productionMix({ scale: servers * E6_SCALE_PER_SERVER }),
    system: { kind: 'epara' },
  };
}

function pointOf(r: RunResult, wallMs: number): ScalePoint {
  const placement = r.systemInfo['placement'] as { lastMs?: number } | undefined;
  return { wallMs, events: r.events, requestsPerSec: r.offeredPerSec.requests, framesPerSec: r.offeredPerSec.frames, goodput: r.total.goodputPerSec, attainment: r.total.sloAttainment, placementMs: placement?.lastMs ?? 0 };
}

/** Runs EPARA on `servers` servers for `durationMs` in this thread (zone after zone) and reports wall time and rates. */
export function runScalePoint(servers: number, durationMs: number, seed: number): ScalePoint {
  const started = performance.now();
  const r = simulate(scaleScenario(servers, durationMs, seed));
  return pointOf(r, performance.now() - started);
}

/**
 * {@link runScalePoint} with the zones spread over `workers` worker threads (`simulateInParallel`): the same
 * figures but the wall time. @default workers: one per core, at most one per zone
 */
export async function runScalePointInParallel(options: { readonly servers: number; readonly durationMs: number; readonly seed: number; readonly workers?: number }): Promise<ScalePoint> {
  const started = performance.now();
  const r = await simulateInParallel(scaleScenario(options.servers, options.durationMs, options.seed), options.workers === undefined ? {} : { workers: options.workers });
  return pointOf(r, performance.now() - started);
}

/** E6: EPARA from 10 to 1000 servers at a proportional load; wall time and simulator speed. */
export function runE6(ctx: ExperimentContext): ExperimentReport {
  const started = performance.now();
  const sizes = ctx.quick ? [10, 50] : [10, 100, 300, 1000];
  const durationMs = ctx.quick ? 20_000 : 600_000;
  const counter = new RunCounter(ctx, sizes.length);
  const rows: (string | number)[][] = [];
  const pts: [number, number][] = [];
  const figures: Record<string, number> = {};
  for (const n of sizes) {
    const p = runScalePoint(n, durationMs, ctx.seed);
    counter.tick();
    rows.push([n, r3(p.requestsPerSec), r3(p.framesPerSec), r3(p.goodput), r3(p.attainment), p.events, r3(p.wallMs / 1000), Math.round(p.events / (p.wallMs / 1000)), r3(p.placementMs)]);
    pts.push([n, p.goodput]);
    figures[`wallSec.${n}`] = r3(p.wallMs / 1000);
  }
  return {
    id: 'e6', title: 'Scale: 10 → 1000 servers', question: 'Does goodput scale with the cluster, and can the simulator and the placement keep up?',
    seed: ctx.seed, quick: ctx.quick,
    setup: [`EPARA only; servers half gpu-servers, a quarter Jetson boards, a quarter microcomputers; zones of 50 servers (own ring and scheduler each), simulated zone by zone (independent zones: each its own world and random streams; runScalePointInParallel spreads them over threads).`, `Load proportional to size: productionMix({ scale: ${E6_SCALE_PER_SERVER} × servers }); ${durationMs / 1000} s simulated per size.`],
    tables: [{ title: 'Per size', columns: ['servers', 'offered requests/s', 'offered frames/s', 'goodput/s', 'SLO attainment', 'events', 'wall s', 'events/s', 'last placement ms'], rows }],
    charts: [{ id: 'e6-goodput', title: 'Goodput vs cluster size', xLabel: 'servers', yLabel: 'goodput (items/s)', series: [{ name: 'EPARA', points: pts }] }],
    notes: ['Wall time depends on the machine (it is the only non-deterministic column).', 'The offered load is light per server so that 1000 servers × 10 simulated minutes stays within a minute of wall time; the goodput column shows it scales linearly.'],
    figures,
    wallMs: performance.now() - started,
  };
}
