import type { SimInstance } from './types.js';

/** Per instance: a count of recent arrivals decaying with a 1 s time constant, and when it was last updated. */
const rates = new WeakMap<SimInstance, { rate: number; at: number }>();

/**
 * Counts one arrival at `inst` (call at enqueue): the runtime's model instance keeps the same decaying count
 * (`e^{−Δt/1 s}` per arrival), which reads as items/s.
 */
export function noteArrival(inst: SimInstance, now: number): void {
  const r = rates.get(inst);
  if (r === undefined) {
    rates.set(inst, { rate: 1, at: now });
    return;
  }
  r.rate = r.rate * Math.exp(-Math.max(0, now - r.at) / 1000) + 1;
  r.at = now;
}

/** Recent arrivals at `inst`, items per ms (what core `planLaunch` takes as `arrivalsPerMs`). */
export function arrivalsPerMs(inst: SimInstance, now: number): number {
  const r = rates.get(inst);
  return r === undefined ? 0 : (r.rate * Math.exp(-Math.max(0, now - r.at) / 1000)) / 1000;
}
