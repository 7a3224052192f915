import type { SimInstance } from './types.js';

/*
 * Per instance: a count of recent arrivals decaying with a 1 s time constant, and when it was last updated, kept
 * on the instance (`recentArrivals`, −1 before the first arrival; a map keyed by instance cost a lookup per
 * arrival and per launch attempt).
 */

/**
 * Counts one arrival at `inst` (call at enqueue): the runtime's model instance keeps the same decaying count
 * (`e^{−Δt/1 s}` per arrival), which reads as items/s.
 */
export function noteArrival(inst: SimInstance, now: number): void {
  inst.recentArrivals = inst.recentArrivals < 0 ? 1 : inst.recentArrivals * decay(inst, now) + 1;
  inst.recentArrivalsAt = now;
}

/** Recent arrivals at `inst`, items per ms (what core `planLaunch` takes as `arrivalsPerMs`). */
export function arrivalsPerMs(inst: SimInstance, now: number): number {
  return inst.recentArrivals < 0 ? 0 : (inst.recentArrivals * decay(inst, now)) / 1000;
}

/**
 * `e^{−Δt/1 s}` since the count's last update. No time passed is the common case — the launch attempt right
 * after an arrival reads the count it just updated — and there the factor is exactly 1 (`Math.exp(-0)`), so
 * the `Math.exp` call is skipped with the same result.
 */
function decay(inst: SimInstance, now: number): number {
  const elapsed = now - inst.recentArrivalsAt;
  return elapsed > 0 ? Math.exp(-elapsed / 1000) : 1;
}
