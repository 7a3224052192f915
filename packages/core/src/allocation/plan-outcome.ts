import type { ParallelPlan } from './plan.js';

/** Which constraint made a strategy infeasible. */
export type PlanConstraint = 'profile' | 'memory' | 'deadline' | 'staleness' | 'rate' | 'replicas' | 'stages';

/** What a strategy calculator returns: a plan, or the constraint that ruled it out and a readable reason. */
export type PlanOutcome =
  | { readonly feasible: true; readonly plan: ParallelPlan }
  | { readonly feasible: false; readonly constraint: PlanConstraint; readonly reason: string };

/** The fields of a plan a calculator decides; {@link finishPlan} derives the demand-dependent ones. */
export type PlanCore = Omit<ParallelPlan, 'goodputPerDevice' | 'utilization'>;

/**
 * Completes a plan for a demand: `goodputPerDevice = min(demand, capacity) / devices` and
 * `utilization = min(1, demand / capacity)`.
 */
export function finishPlan(core: PlanCore, demandPerSec: number): ParallelPlan {
  const served = Math.min(demandPerSec, core.capacityPerSec);
  // Built field by field (not spread) so every plan has one shape: allocate builds many per call.
  const plan: { -readonly [K in keyof ParallelPlan]: ParallelPlan[K] } = {
    serviceId: core.serviceId,
    deviceKind: core.deviceKind,
    requestStrategy: core.requestStrategy,
    serviceStrategy: core.serviceStrategy,
    devices: core.devices,
    batchSize: core.batchSize,
    capacityPerSec: core.capacityPerSec,
    memoryPerDeviceBytes: core.memoryPerDeviceBytes,
    expectedLatencyMs: core.expectedLatencyMs,
    runMs: core.runMs,
    goodputPerDevice: served / core.devices,
    utilization: core.capacityPerSec > 0 ? Math.min(1, demandPerSec / core.capacityPerSec) : 1,
    notes: core.notes,
  };
  if (core.stages !== undefined) plan.stages = core.stages;
  if (core.largestBatchSize !== undefined) plan.largestBatchSize = core.largestBatchSize;
  return plan;
}

/** An infeasible outcome. */
export function infeasible(constraint: PlanConstraint, reason: string): PlanOutcome {
  return { feasible: false, constraint, reason };
}

/** Rounds for human-readable notes. */
export function fmt(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return String(value);
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

/** Bytes as MiB/GiB for notes. */
export function fmtBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
