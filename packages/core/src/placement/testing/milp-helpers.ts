import type { ParallelPlan } from '../../allocation/plan.js';
import type { ServiceSpec } from '../../model/service.js';
import { latencyAt } from '../../profiles/latency-profile.js';
import type { PlacedInstance } from '../types.js';

/* Helpers of the MILP reference (milp-reference.ts): candidate batch sizes, share growth, LP-format text. */

/**
 * Grows each single-device item's claimed rate to what its device's cycle allows, `min(plan rate, b / C)` with
 * `C = Σ L` of the device (with interference when shared; the runs do not depend on the rates, and a larger rate only shortens a frequency
 * item's pack fill), so the result stays feasible. Continuous shares the discrete MILP cannot express. Devices shared
 * with a `blocking` latency service are left as they are.
 */
export function growShares(instances: readonly PlacedInstance[], slowdown: (serviceId: string) => number, blocking: (serviceId: string) => boolean = () => false): PlacedInstance[] {
  const cycle = new Map<string, number>();
  const solo = new Map<string, number>();
  const count = new Map<string, number>();
  const key = (i: PlacedInstance): string => `${i.serverId}/${i.deviceIds[0]}`;
  const single = (i: PlacedInstance): boolean => i.plan.serviceStrategy === 'single' && i.plan.devices === 1;
  for (const i of instances) {
    if (!single(i)) continue;
    cycle.set(key(i), (cycle.get(key(i)) ?? 0) + i.plan.runMs * slowdown(i.serviceId));
    solo.set(key(i), i.plan.runMs);
    count.set(key(i), (count.get(key(i)) ?? 0) + 1);
  }
  for (const [k, n] of count) if (n === 1) cycle.set(k, solo.get(k)!);
  // A shared device with a latency item priced for residual blocking keeps its rates: growing another item's
  // share would raise the device load that item's wait budget allows for.
  const priced = new Set(instances.filter((i) => single(i) && count.get(key(i))! > 1 && blocking(i.serviceId)).map(key));
  return instances.map((i) => (single(i) && !priced.has(key(i)) ? { ...i, capacityPerSec: Math.min(i.plan.capacityPerSec, (1000 * i.plan.batchSize) / cycle.get(key(i))!) } : i));
}

/** The plan and its batch halvings (`b/2`, `b/4`) from the service's profile, recomputed from scratch. */
export function batchSizes(spec: ServiceSpec, plan: ParallelPlan): ParallelPlan[] {
  const out = [plan];
  const profile = spec.profiles[plan.deviceKind];
  if (!profile || plan.requestStrategy !== 'batching') return out;
  for (let b = Math.floor(plan.batchSize / 2); b >= 1 && out.length < 3; b = Math.floor(b / 2)) {
    const runMs = latencyAt(profile, b);
    const mem = Math.max(0, plan.memoryPerDeviceBytes - spec.memory.perItemBytes * (plan.batchSize - b));
    out.push({ ...plan, batchSize: b, runMs, capacityPerSec: (1000 * b) / runMs, memoryPerDeviceBytes: mem });
    if (b === 1) break;
  }
  return out;
}

export function num(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(12);
}

export function row(terms: readonly string[], rhs: string): string {
  return `${terms.join(' + ').replace(/\+ -/g, '- ')} ${rhs}`;
}

/** Breaks long expressions over lines (the LP format reads continuation lines). */
export function wrap(expr: string): string {
  const parts = expr.split(' + ');
  const lines: string[] = [];
  for (let i = 0; i < parts.length; i += 8) lines.push(parts.slice(i, i + 8).join(' + '));
  return lines.join('\n   + ');
}

export function chunk(names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < names.length; i += 10) out.push(names.slice(i, i + 10).join(' '));
  return out;
}

/** Minimal view of the `highs` module's one-shot solver. */
export interface HighsSolver {
  solve(problem: string, options?: Record<string, unknown>): { Status: string; ObjectiveValue: number; Columns: Record<string, { Primal: number }> };
}
