import { latencyAt, type ServiceSpec } from '@epara/core';
import type { DeviceUsage } from './device-usage.js';

/**
 * Fewest items a service must have served in a run for its measured cost to replace the profile's: below it one
 * slow launch (a cold session, a core taken away for a moment) would decide where replicas go.
 */
export const MIN_MEASURED_ITEMS = 20;

/** One service's per-item device cost: the profile's, and the wall time measured on the nodes (when there is one). */
export interface ItemCost {
  /** The profile's time of one item alone, ms: what the replica rule plans with without a measurement. */
  readonly profileMs: number;
  /** Wall time the service's launches held a device per item they served, ms; `undefined` below {@link MIN_MEASURED_ITEMS}. */
  readonly measuredMs: number | undefined;
  /** Items the measurement counts. */
  readonly items: number;
}

/**
 * Per service, the device wall time one item costs on this host, from a run's device counters summed over the
 * nodes: the time its launches held a device (from the later of their dispatch and the previous launch's end, to
 * their outputs on the host — compute, the hand-offs between event loop and device thread, the wait for a core)
 * over the items they served. The profile measures compute alone on an idle device; on a host whose hand-offs take
 * a third of the device's wall time, a plan that fills a device to 60% of its profiled time fills it to 80–100% of
 * its wall time.
 */
export function measuredItemCosts(specs: readonly ServiceSpec[], usage: readonly DeviceUsage[]): Record<string, ItemCost> {
  const out: Record<string, ItemCost> = {};
  for (const s of specs) {
    let heldMs = 0;
    let items = 0;
    for (const node of usage) {
      heldMs += node.services[s.id]?.heldMs ?? 0;
      items += node.services[s.id]?.servedItems ?? 0;
    }
    const profileMs = latencyAt(Object.values(s.profiles)[0]!, 1);
    out[s.id] = { profileMs, measuredMs: items >= MIN_MEASURED_ITEMS ? heldMs / items : undefined, items };
  }
  return out;
}

/** The per-item cost to plan with, per service: the measured one where there is one, else the profile's. */
export function planningItemMs(costs: Readonly<Record<string, ItemCost>>): Record<string, number> {
  return Object.fromEntries(Object.entries(costs).map(([id, c]) => [id, c.measuredMs ?? c.profileMs]));
}

/** One line per service: the profile's cost of one item against the measured wall cost, and how many items it counts. */
export function itemCostLines(costs: Readonly<Record<string, ItemCost>>): string[] {
  return Object.entries(costs).map(([id, c]) => {
    const measured = c.measuredMs === undefined ? `not measured (${c.items} items < ${MIN_MEASURED_ITEMS}): plans with the profile` : `measured ${c.measuredMs.toFixed(2)} ms (${(c.measuredMs / c.profileMs).toFixed(2)}× the profile, ${c.items} items)`;
    return `${id.padEnd(6)} profile ${c.profileMs.toFixed(2)} ms, ${measured}`;
  });
}
