import { latencyAt, type ServiceSpec } from '@epara/core';
import { DEFAULT_TRITON_OPTIONS } from '@epara/sim';
import { tritonConfig, type TritonConfig } from './baseline/triton-config.js';
import { searchCalibration } from './calibration-search.js';
import type { Knee } from './knee.js';
import { serviceLine } from './report.js';
import { runSystem, type TrialContext } from './trials.js';
import { gridLoad, gridLoadAtLeast, stepsPerDoubling } from './load-grid.js';
import { MIN_LOAD, buildWorkload, type DemoWorld } from './workload.js';

/** One short baseline run of the calibration. */
export interface Probe {
  readonly fraction: number;
  readonly load: number;
  readonly maxQueueDelayMs: number;
  /** Workload seed of the run (a marginal reading is repeated on a second seed, see `confirmedProbe`). */
  readonly seed: number;
  readonly attainment: number;
  readonly goodputPerSec: number;
}

/** What the calibration decided, and every probe it ran. */
export interface Calibration {
  /** The load multiplier (of the base mix) at which the cluster's devices would be fully busy on the baseline's plan. */
  readonly capacityLoad: number;
  /** The chosen offered load, as a fraction of {@link Calibration.capacityLoad}. */
  readonly fraction: number;
  /** The chosen load multiplier. */
  readonly load: number;
  /** The baseline's best `max_queue_delay` at that load. */
  readonly maxQueueDelayMs: number;
  readonly probes: readonly Probe[];
  /**
   * The baseline's knee at its best `max_queue_delay`: the highest fraction probed where it kept the target
   * attainment, and the lowest where it fell below. Without a search (`--load`) only the fixed fraction's side.
   */
  readonly knee: Knee;
  /** Whether the load was searched (false with a fixed fraction). */
  readonly searched: boolean;
}

/** Options of {@link calibrate}. */
export interface CalibrateOptions {
  readonly specs: readonly ServiceSpec[];
  readonly nodes: number;
  readonly seed: number;
  readonly durationMs: number;
  /**
   * An unmeasured baseline run before the first probe, ms (at the first probe's load and the default queue
   * delay, on its own workload): the first reading of a run read low, the sites still cold. @default 0
   */
  readonly warmupMs?: number;
  /** @default 'edge' */
  readonly world?: DemoWorld;
  /** First fraction of capacity probed; the coarse search steps ×factor up while the baseline passes, ÷factor down while it fails. */
  readonly start: number;
  /** Step of the coarse search. @default 2 */
  readonly factor?: number;
  /** Most outward steps of each search. */
  readonly maxSteps: number;
  /** Geometric bisections of the coarse bracket (the resolution the search keeps at the best `max_queue_delay`). */
  readonly bisections: number;
  /** `max_queue_delay` values to sweep at the failing end of the bracket at the default value. */
  readonly queueDelaysMs: readonly number[];
  /** A fixed fraction: no search (the sweep still runs). */
  readonly fixedFraction?: number;
  /** Readings (on as many workloads) whose median decides each end of the final bracket. @default 1 */
  readonly confirmRuns?: number;
  /** Workloads each queue delay of the sweep is read on. @default 1 */
  readonly sweepRuns?: number;
  /** Goodput share by which another queue delay must beat the default to be kept. @default 0 */
  readonly sweepMargin?: number;
}

/** The attainment below which the baseline counts as past its capacity. */
export const TARGET_ATTAINMENT = 0.9;

/** Seed of a probe's workload: the first reading on `seed + 1000`, a confirming one on `seed + 2000`. */
export function probeSeed(seed: number, repeat: number): number {
  return seed + 1000 * (1 + repeat);
}

/** The baseline's configuration at a load: its static placement follows the forecast of that load. */
export function tritonAt(o: { specs: readonly ServiceSpec[]; nodes: number; seed: number; durationMs: number; world?: DemoWorld }, load: number, maxQueueDelayMs: number): TritonConfig {
  const w = buildWorkload({ durationMs: o.durationMs, load, nodes: o.nodes, seed: o.seed, ...(o.world ? { world: o.world } : {}) });
  return tritonConfig({ specs: o.specs, demand: w.demand, nodes: o.nodes, maxQueueDelayMs });
}

/**
 * Device-time capacity of the cluster in load units: at load 1 the base mix needs `Σ demand × L(b)/b` of
 * device time per second (at the baseline's batch sizes, the mean demand: the same figure in either world);
 * the cluster has `nodes` devices.
 */
export function capacityLoad(o: { specs: readonly ServiceSpec[]; nodes: number; seed: number; durationMs: number; world?: DemoWorld }): number {
  const config = tritonAt(o, 1, 0);
  const w = buildWorkload({ durationMs: o.durationMs, load: 1, nodes: o.nodes, seed: o.seed, ...(o.world ? { world: o.world } : {}) });
  let busy = 0;
  for (const m of config.models) {
    const spec = o.specs.find((s) => s.id === m.serviceId)!;
    const rate = w.meanDemand[m.serviceId].reduce((a, b) => a + b, 0);
    busy += (rate * latencyAt(Object.values(spec.profiles)[0]!, m.maxBatch)) / m.maxBatch / 1000;
  }
  return o.nodes / busy;
}

/**
 * Finds the offered load: the point where the baseline, configured as well as its operator can, first falls
 * below {@link TARGET_ATTAINMENT} ({@link searchCalibration}: the knee at the default `max_queue_delay`, the
 * sweep next to it, the knee again at the best value). The chosen load is the lowest failing fraction of the
 * last search; the highest passing one is the baseline's capacity (see `capacity.ts`).
 */
export async function calibrate(ctx: TrialContext & { cluster: { configureTriton(c: TritonConfig): Promise<void> } }, o: CalibrateOptions): Promise<Calibration> {
  const cap = capacityLoad(o);
  const probes: Probe[] = [];
  // A search probes loads on a grid of the base mix that every run shares (its steps and bisections stay on
  // it); a fixed `--load` is run as given.
  const perDoubling = stepsPerDoubling(o.factor ?? 2, o.bisections);
  const snap = o.fixedFraction === undefined ? (fraction: number): number => gridLoad(cap * fraction, perDoubling) / cap : (fraction: number): number => fraction;
  const probe = async (fraction: number, maxQueueDelayMs: number, repeat: number): Promise<Probe> => {
    const load = cap * snap(fraction);
    await ctx.cluster.configureTriton(tritonAt(o, load, maxQueueDelayMs));
    const seed = probeSeed(o.seed, repeat);
    const label = `calibrate ${(100 * fraction).toFixed(1)}% q${maxQueueDelayMs}${repeat > 0 ? ' (confirm)' : ''}`;
    const r = await runSystem(ctx, { system: 'triton', label, seed, load, durationMs: o.durationMs });
    const p = { fraction: load / cap, load, maxQueueDelayMs, seed, attainment: r.report.overall.attainment, goodputPerSec: r.report.overall.goodputPerSec };
    ctx.log(`  ${label}: load ×${load.toFixed(2)}, baseline attainment ${(100 * p.attainment).toFixed(1)}%, goodput ${p.goodputPerSec.toFixed(0)}/s (${serviceLine(r.report)})`);
    probes.push(p);
    return p;
  };
  if ((o.warmupMs ?? 0) > 0) {
    const load = cap * snap(o.fixedFraction ?? o.start);
    await ctx.cluster.configureTriton(tritonAt(o, load, DEFAULT_TRITON_OPTIONS.maxQueueDelayMs));
    await runSystem(ctx, { system: 'triton', label: 'baseline warm-up', seed: o.seed + 999, load, durationMs: o.warmupMs! });
  }
  const found = await searchCalibration({
    probe,
    target: TARGET_ATTAINMENT,
    start: o.start,
    factor: o.factor ?? 2,
    maxSteps: o.maxSteps,
    bisections: o.bisections,
    minFraction: gridLoadAtLeast(MIN_LOAD, perDoubling) / cap,
    defaultQueueDelayMs: DEFAULT_TRITON_OPTIONS.maxQueueDelayMs,
    queueDelaysMs: o.queueDelaysMs,
    snap,
    confirmRuns: o.confirmRuns ?? 1,
    sweepRuns: o.sweepRuns ?? 1,
    sweepMargin: o.sweepMargin ?? 0,
    ...(o.fixedFraction === undefined ? {} : { fixedFraction: o.fixedFraction }),
  });
  return { capacityLoad: cap, fraction: found.fraction, load: cap * found.fraction, maxQueueDelayMs: found.maxQueueDelayMs, probes, knee: found.knee, searched: found.searched };
}
