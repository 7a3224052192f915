import type { PlacedInstance } from '@epara/core';
import { TARGET_ATTAINMENT, probeSeed, tritonAt, type Calibration } from './calibrate.js';
import { formatKnee, measureCapacity, type CapacityResult } from './capacity.js';
import type { Cluster } from './cluster/cluster.js';
import type { ResolvedDemoOptions } from './options.js';
import { demandOf, nodeIds, planPlacement, type ReplicaPolicy } from './placement.js';
import type { DemoService } from './services.js';
import { runSystem, type TrialContext } from './trials.js';
import { buildWorkload } from './workload.js';

/**
 * The second verdict: each system's highest offered load at ≥ 90% attainment (the baseline's from the
 * calibration, EPARA's searched the same way, re-placed for each load), on the calibration's probe workload.
 */
export async function capacitySearch(
  o: ResolvedDemoOptions,
  ctx: TrialContext,
  c: {
    calibration: Calibration;
    services: readonly DemoService[];
    cluster: Cluster;
    bytes: number;
    placed: readonly PlacedInstance[];
    /** What the replica rule plans with at each load (measured costs and their cap); the profiles when empty. */
    replicas: ReplicaPolicy;
  },
): Promise<CapacityResult> {
  const { calibration, services, cluster } = c;
  let placedKey = placementKey(c.placed);
  o.log(`\ncapacity at the SLO: the highest offered load at which each system keeps ${(100 * TARGET_ATTAINMENT).toFixed(0)}% attainment (runs of ${(calibrationMs(o) / 1000).toFixed(0)} s, the calibration's workload):`);
  const result = await measureCapacity(ctx, {
    calibration,
    seed: o.seed,
    durationMs: calibrationMs(o),
    // The calibration's search, step for step (searchShape).
    ...searchShape(o),
    confirmRuns: confirmRuns(o),
    placeEpara: async (load) => {
      const forecast = buildWorkload({ durationMs: o.durationMs, load, nodes: o.nodes, seed: o.seed, world: o.world });
      if (o.eparaPlacement === 'online') return void (await cluster.setForecast(demandOf(forecast, services, nodeIds(o.nodes))));
      const instances = planPlacement(services, forecast, o.nodes, cluster.measuredDelayMs, c.bytes, c.replicas).instances;
      await cluster.place(instances);
      // A node loads a new or re-planned instance cold (its sessions' first runs, its learned run times); the
      // baseline's sites load each model once and keep it warm across configurations. Give EPARA the same.
      const key = placementKey(instances);
      if (key === placedKey) return;
      placedKey = key;
      await runSystem(ctx, { system: 'epara', label: 'EPARA warm-up (new placement)', seed: o.seed + 999, load, durationMs: o.quick ? 1000 : 2000 });
    },
    baselineProbe: async (fraction, repeat) => {
      const load = calibration.capacityLoad * fraction;
      await cluster.configureTriton(tritonAt({ specs: services, nodes: o.nodes, seed: o.seed, durationMs: o.durationMs, world: o.world }, load, calibration.maxQueueDelayMs));
      const r = await runSystem(ctx, { system: 'triton', label: `capacity ${(100 * fraction).toFixed(1)}% Triton-like`, seed: probeSeed(o.seed, repeat), load, durationMs: calibrationMs(o) });
      return r.report.overall.attainment;
    },
  });
  const r = (v: number | null): string => (v === null ? '-' : `${v.toFixed(2)}x`);
  o.log(`  Triton-like: ${formatKnee(result.baseline)}`);
  o.log(`  EPARA:       ${formatKnee(result.epara)}`);
  o.log(`  capacity ratio (EPARA ÷ Triton-like, highest passing loads): ${r(result.ratio)} (bracket ${r(result.ratioMin)}–${r(result.ratioMax)})`);
  return result;
}

/** What a node's `place` compares: each instance's id, server, devices and plan. */
function placementKey(instances: readonly PlacedInstance[]): string {
  return JSON.stringify(instances.map((p) => [p.instanceId, p.serverId, p.deviceIds, p.plan]).sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)));
}

/** Link bandwidth in bytes per ms. */
export function bytesPerMs(o: ResolvedDemoOptions): number {
  return (o.bandwidthMbps * 1e6) / 8 / 1000;
}

/**
 * Readings that decide each end of a search's final bracket (the calibration's and EPARA's capacity search, by a
 * monotone fit of every reading): two by default, one with `--quick` (its bracket as the search found it). Three
 * cost two to five more probes per search; in the seeded model of `calibration-search.test.ts` the third changed
 * how often the search lands within a grid step of its median load by less than the model's own run-to-run noise.
 */
export function confirmRuns(o: ResolvedDemoOptions): number {
  return o.quick ? 1 : 2;
}

/**
 * How both searches step (the calibration's and EPARA's capacity search alike): ×√2 steps from the start, at most
 * five, then one geometric bisection — a bracket of ×2^(1/4), the grid's step, as ×2 steps and two bisections
 * gave, one probe sooner when the knee lies within a ×√2 step of the start (where the calibration's start and
 * EPARA's, the baseline's knee, put it). `--quick` (CI's check of the path): one ×2 step, no bisection.
 */
export function searchShape(o: ResolvedDemoOptions): { factor: number; maxSteps: number; bisections: number } {
  return o.quick ? { factor: 2, maxSteps: 1, bisections: 0 } : { factor: Math.SQRT2, maxSteps: 5, bisections: 1 };
}

/**
 * Length of a calibration or capacity probe, ms: a trial's, so that the knee is defined the way the verdict is
 * measured. With 5 s probes against 10 s trials the two disagreed in quiet runs (the baseline attained 60–62 % in
 * the trials at a load its probes had put at the knee), and a 10 s reading has about 1/√2 the noise of a 5 s one.
 */
export function calibrationMs(o: ResolvedDemoOptions): number {
  return o.durationMs;
}

/**
 * Length of a system's unmeasured warm-up before its first measured run, ms: the baseline's before the
 * calibration's first probe (the first reading of a run read low), EPARA's before the trials.
 */
export function warmupMs(o: ResolvedDemoOptions): number {
  return o.quick ? 2000 : 5000;
}

