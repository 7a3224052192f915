import type { RouteOptions } from '@epara/core';
import type { ServerGroup } from '../model/hardware.js';
import type { EparaSystemOptions } from '../systems/epara-options.js';
import type { RunResult } from '../metrics/summary.js';
import type { Scenario, SystemSpec } from '../scenario/scenario.js';
import { simulate } from '../simulate.js';
import { edgeMix } from '../workload/edge-mix.js';
import type { MixKind } from '../workload/production-mix.js';

/** Context every experiment runs with. */
export interface ExperimentContext {
  readonly seed: number;
  /** Shorter runs and fewer points (tests, smoke runs). */
  readonly quick: boolean;
  /** Called after each simulation run with (runs done, runs planned). */
  readonly onRun?: (done: number, planned: number) => void;
  /**
   * Core `routeRequest` options for EPARA in the main comparisons (E1–E3, E5), for sensitivity runs such as a
   * proposed core default. @default {} (the core's defaults)
   */
  readonly eparaRouteOptions?: Partial<RouteOptions>;
  /**
   * Other EPARA system options in the main comparisons, for sensitivity runs (a mechanism on or off across a
   * whole load sweep). @default {} (the system's defaults)
   */
  readonly eparaOptions?: Partial<Omit<EparaSystemOptions, 'routeOptions'>>;
}

/** The testbed-scale cluster (paper's edge servers, embedded boards, microcomputers). */
export const TESTBED: readonly ServerGroup[] = [
  { preset: 'gpu-server', count: 4 },
  { preset: 'jetson', count: 4 },
  { preset: 'micro', count: 4 },
];

/** Triton's `max_queue_delay` sweep: the best is reported. */
export const TRITON_DELAYS_MS = [0, 1, 5, 10] as const;

/** A system run by an experiment: label and spec (Triton is expanded into its sweep). */
export interface Contender {
  readonly label: string;
  readonly spec: SystemSpec;
}

/** Label of the oracle: an upper bound no one can deploy, never called a baseline. */
export const UPPER_BOUND = 'Upper bound (oracle, not deployable)';

/** EPARA, the three deployable baselines, and the upper bound. */
export const MAIN_SYSTEMS: readonly Contender[] = [
  { label: 'EPARA', spec: { kind: 'epara' } },
  { label: 'Triton per site + LB', spec: { kind: 'triton' } },
  { label: 'Ray-Serve-like', spec: { kind: 'ray-serve' } },
  { label: 'Centralized SLO scheduler', spec: { kind: 'centralized' } },
  { label: UPPER_BOUND, spec: { kind: 'centralized', oracle: true } },
];

/** Labels of the deployable baselines (what `baselines` in the bench lists). */
export const DEPLOYABLE_BASELINES: readonly string[] = MAIN_SYSTEMS.filter((c) => c.label !== 'EPARA' && c.label !== UPPER_BOUND).map((c) => c.label);

/** The edge world's testbed scenario at one load: `TESTBED`, {@link edgeMix} (trace chat, moving hot spots, bursts). */
export function edgeScenario(name: string, ctx: ExperimentContext, scale: number, durationMs: number, kind: MixKind = 'mixed'): Omit<Scenario, 'system'> {
  return { name, seed: ctx.seed, durationMs, warmupMs: 5000, cluster: { groups: TESTBED }, workload: edgeMix({ scale, kind, durationMs }) };
}

/** EPARA's goodput against each system of a comparison, the best deployable one and the upper bound. */
export interface Comparison {
  /** EPARA ÷ each other system, by label. */
  readonly vs: Readonly<Record<string, number | null>>;
  readonly bestDeployable: string | null;
  /** EPARA ÷ the best deployable baseline's goodput. */
  readonly vsBestDeployable: number | null;
  /** EPARA ÷ the upper bound's goodput (≤ 1 unless EPARA beats the oracle). */
  readonly vsUpperBound: number | null;
  /** The lowest per-service SLO attainment of each system, by label. */
  readonly minService: Readonly<Record<string, number>>;
}

/** Compares EPARA with every other contender of one scenario. */
export function compare(results: readonly ContenderResult[]): Comparison {
  const g = (label: string): number | undefined => results.find((r) => r.label === label)?.result.total.goodputPerSec;
  const e = g('EPARA');
  const ratio = (x: number | undefined): number | null => (e === undefined || x === undefined || x <= 0 ? null : e / x);
  const vs: Record<string, number | null> = {};
  for (const r of results) if (r.label !== 'EPARA') vs[r.label] = ratio(r.result.total.goodputPerSec);
  const deployable = results.filter((r) => DEPLOYABLE_BASELINES.includes(r.label));
  const best = deployable.length === 0 ? undefined : deployable.reduce((a, b) => (b.result.total.goodputPerSec > a.result.total.goodputPerSec ? b : a));
  const minService: Record<string, number> = {};
  for (const r of results) minService[r.label] = minServiceAttainment(r.result);
  return { vs, bestDeployable: best?.label ?? null, vsBestDeployable: ratio(best?.result.total.goodputPerSec), vsUpperBound: ratio(g(UPPER_BOUND)), minService };
}

/** The worst SLO attainment over the services that had offered load. */
export function minServiceAttainment(r: RunResult): number {
  let min = 1;
  for (const s of Object.values(r.perService)) if (s.offered > 0) min = Math.min(min, s.sloAttainment);
  return min;
}

/** Per-service attainment as one compact cell. */
export function perServiceCell(r: RunResult): string {
  return Object.entries(r.perService).filter(([, v]) => v.offered > 0).map(([k, v]) => `${k} ${r3(v.sloAttainment)}`).join(', ');
}

/** {@link MAIN_SYSTEMS}, with EPARA's routing options from the context when it sets them. */
export function mainSystems(ctx: ExperimentContext): readonly Contender[] {
  const route = ctx.eparaRouteOptions;
  const extra = ctx.eparaOptions;
  if (route === undefined && extra === undefined) return MAIN_SYSTEMS;
  return MAIN_SYSTEMS.map((c) => (c.spec.kind === 'epara' ? { label: c.label, spec: { ...c.spec, ...extra, ...(route === undefined ? {} : { routeOptions: route }) } } : c));
}

/** Runs counter to report progress. */
export class RunCounter {
  done = 0;
  constructor(private readonly ctx: ExperimentContext, public planned: number) {}
  tick(): void {
    this.done++;
    this.ctx.onRun?.(this.done, this.planned);
  }
}

/** The result of one contender on one scenario; for Triton the best of its delay sweep. */
export interface ContenderResult {
  readonly label: string;
  readonly result: RunResult;
  /** Triton: the `max_queue_delay` that won. */
  readonly pickedDelayMs?: number;
}

/** Runs one contender (Triton: every delay of the sweep, keeping the best goodput). */
export function runContender(base: Omit<Scenario, 'system'>, c: Contender, counter?: RunCounter): ContenderResult {
  if (c.spec.kind !== 'triton' || c.spec.maxQueueDelayMs !== undefined) {
    const result = simulate({ ...base, system: c.spec });
    counter?.tick();
    return { label: c.label, result };
  }
  let best: ContenderResult | undefined;
  for (const d of TRITON_DELAYS_MS) {
    const result = simulate({ ...base, system: { ...c.spec, maxQueueDelayMs: d } });
    counter?.tick();
    if (best === undefined || result.total.goodputPerSec > best.result.total.goodputPerSec) best = { label: c.label, result, pickedDelayMs: d };
  }
  return best!;
}

/** Simulation runs one contender costs. */
export function runsOf(c: Contender): number {
  return c.spec.kind === 'triton' && c.spec.maxQueueDelayMs === undefined ? TRITON_DELAYS_MS.length : 1;
}

/** Rounds for the report. */
export function r3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
