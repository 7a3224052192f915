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
  inst.recentArrivals = inst.recentArrivals < 0 ? 1 : inst.recentArrivals * Math.exp(-Math.max(0, now - inst.recentArrivalsAt) / 1000) + 1;
  inst.recentArrivalsAt = now;
}

/** Recent arrivals at `inst`, items per ms (what core `planLaunch` takes as `arrivalsPerMs`). */
export function arrivalsPerMs(inst: SimInstance, now: number): number {
  return inst.recentArrivals < 0 ? 0 : (inst.recentArrivals * Math.exp(-Math.max(0, now - inst.recentArrivalsAt) / 1000)) / 1000;
}
