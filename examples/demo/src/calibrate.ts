import { latencyAt, type ServiceSpec } from '@epara/core';
import { DEFAULT_TRITON_OPTIONS } from '@epara/sim';
import { tritonConfig, type TritonConfig } from './baseline/triton-config.js';
import { runSystem, type TrialContext } from './trials.js';
import { buildWorkload } from './workload.js';

/** One short baseline run of the calibration. */
export interface Probe {
  readonly fraction: number;
  readonly load: number;
  readonly maxQueueDelayMs: number;
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
}

/** Options of {@link calibrate}. */
export interface CalibrateOptions {
  readonly specs: readonly ServiceSpec[];
  readonly nodes: number;
  readonly seed: number;
  readonly durationMs: number;
  /** Fractions of capacity to try, ascending; the search stops at the first below 90% attainment. */
  readonly fractions: readonly number[];
  /** Halvings tried below the lowest fraction when the baseline fails already there. */
  readonly downSteps: number;
  /** Bisect once between the last passing and the first failing fraction. */
  readonly bisect: boolean;
  /** `max_queue_delay` values to sweep at the chosen load. */
  readonly queueDelaysMs: readonly number[];
  /** A fixed fraction: no search (the sweep still runs). */
  readonly fixedFraction?: number;
}

/** The attainment below which the baseline counts as past its capacity. */
export const TARGET_ATTAINMENT = 0.9;

/** The baseline's configuration at a load: its static placement follows the forecast of that load. */
export function tritonAt(o: { specs: readonly ServiceSpec[]; nodes: number; seed: number; durationMs: number }, load: number, maxQueueDelayMs: number): TritonConfig {
  const w = buildWorkload({ durationMs: o.durationMs, load, nodes: o.nodes, seed: o.seed });
  return tritonConfig({ specs: o.specs, demand: w.demand, nodes: o.nodes, maxQueueDelayMs });
}

/**
 * Device-time capacity of the cluster in load units: at load 1 the base mix needs `Σ demand × L(b)/b` of
 * device time per second (at the baseline's batch sizes); the cluster has `nodes` devices.
 */
export function capacityLoad(o: { specs: readonly ServiceSpec[]; nodes: number; seed: number; durationMs: number }): number {
  const config = tritonAt(o, 1, 0);
  const w = buildWorkload({ durationMs: o.durationMs, load: 1, nodes: o.nodes, seed: o.seed });
  let busy = 0;
  for (const m of config.models) {
    const spec = o.specs.find((s) => s.id === m.serviceId)!;
    const rate = w.demand[m.serviceId].reduce((a, b) => a + b, 0);
    busy += (rate * latencyAt(Object.values(spec.profiles)[0]!, m.maxBatch)) / m.maxBatch / 1000;
  }
  return o.nodes / busy;
}

/**
 * Finds the offered load: short baseline runs at rising fractions of the measured capacity until its SLO
 * attainment first falls below {@link TARGET_ATTAINMENT} (optionally one bisection step), then the
 * `max_queue_delay` sweep at that load keeps the baseline's best value.
 */
export async function calibrate(ctx: TrialContext & { cluster: { configureTriton(c: TritonConfig): Promise<void> } }, o: CalibrateOptions): Promise<Calibration> {
  const cap = capacityLoad(o);
  const probes: Probe[] = [];
  const probe = async (fraction: number, maxQueueDelayMs: number): Promise<Probe> => {
    const load = cap * fraction;
    await ctx.cluster.configureTriton(tritonAt(o, load, maxQueueDelayMs));
    const label = `calibrate ${(100 * fraction).toFixed(0)}% q${maxQueueDelayMs}`;
    const r = await runSystem(ctx, { system: 'triton', label, seed: o.seed + 1000, load, durationMs: o.durationMs });
    const p = { fraction, load, maxQueueDelayMs, attainment: r.report.overall.attainment, goodputPerSec: r.report.overall.goodputPerSec };
    ctx.log(`  ${label}: load ×${load.toFixed(2)}, baseline attainment ${(100 * p.attainment).toFixed(1)}%, goodput ${p.goodputPerSec.toFixed(0)}/s`);
    probes.push(p);
    return p;
  };
  const q0 = DEFAULT_TRITON_OPTIONS.maxQueueDelayMs;
  let chosen: number = o.fixedFraction ?? o.fractions[o.fractions.length - 1]!;
  if (o.fixedFraction === undefined) {
    let passed: number | undefined;
    for (const f of o.fractions) {
      const p = await probe(f, q0);
      if (p.attainment < TARGET_ATTAINMENT) {
        chosen = f;
        break;
      }
      passed = f;
    }
    // Failing already at the lowest fraction (a machine slower or busier than its profiles said): halve until
    // the baseline passes, at most `downSteps` times; the lowest failing fraction is the point.
    for (let k = 0; passed === undefined && k < o.downSteps; k++) {
      const lower: number = chosen / 2;
      if ((await probe(lower, q0)).attainment < TARGET_ATTAINMENT) chosen = lower;
      else passed = lower;
    }
    if (o.bisect && passed !== undefined && chosen > passed) {
      const mid = (passed + chosen) / 2;
      if ((await probe(mid, q0)).attainment < TARGET_ATTAINMENT) chosen = mid;
    }
  }
  const at = chosen;
  const sweep = [...probes.filter((p) => p.fraction === at)];
  for (const q of o.queueDelaysMs) if (!sweep.some((p) => p.maxQueueDelayMs === q)) sweep.push(await probe(at, q));
  const best = sweep.reduce((a, b) => (b.goodputPerSec > a.goodputPerSec ? b : a));
  return { capacityLoad: cap, fraction: at, load: cap * at, maxQueueDelayMs: best.maxQueueDelayMs, probes };
}

