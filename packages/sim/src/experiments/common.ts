import type { RouteOptions } from '@epara/core';
import type { ServerGroup } from '../model/hardware.js';
import type { RunResult } from '../metrics/summary.js';
import type { Scenario, SystemSpec } from '../scenario/scenario.js';
import { simulate } from '../simulate.js';

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
}

/** The testbed-scale cluster (paper's edge servers, embedded boards, microcomputers). */
export const TESTBED: readonly ServerGroup[] = [
  { preset: 'gpu-server', count: 4 },
  { preset: 'jetson', count: 4 },
  { preset: 'micro', count: 4 },
];

/** Triton's `max_queue_delay` sweep (DESIGN.md §4): the best is reported. */
export const TRITON_DELAYS_MS = [0, 1, 5, 10] as const;

/** A system run by an experiment: label and spec (Triton is expanded into its sweep). */
export interface Contender {
  readonly label: string;
  readonly spec: SystemSpec;
}

/** EPARA and the two baselines. */
export const MAIN_SYSTEMS: readonly Contender[] = [
  { label: 'EPARA', spec: { kind: 'epara' } },
  { label: 'Triton-like', spec: { kind: 'triton' } },
  { label: 'Centralized', spec: { kind: 'centralized' } },
];

/** {@link MAIN_SYSTEMS}, with EPARA's routing options from the context when it sets them. */
export function mainSystems(ctx: ExperimentContext): readonly Contender[] {
  const route = ctx.eparaRouteOptions;
  if (route === undefined) return MAIN_SYSTEMS;
  return MAIN_SYSTEMS.map((c) => (c.spec.kind === 'epara' ? { label: c.label, spec: { ...c.spec, routeOptions: route } } : c));
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

/** EPARA's goodput over the best baseline's (other contenders), or null without baselines. */
export function ratioOverBest(results: readonly ContenderResult[], eparaLabel = 'EPARA'): number | null {
  const e = results.find((r) => r.label === eparaLabel);
  const others = results.filter((r) => r.label !== eparaLabel);
  if (e === undefined || others.length === 0) return null;
  const best = Math.max(...others.map((r) => r.result.total.goodputPerSec));
  return best > 0 ? e.result.total.goodputPerSec / best : null;
}

/** Rounds for the report. */
export function r3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
