import type { ServiceSpec } from '@epara/core';
import type { DeviceUsage } from './device-usage.js';

/*
 * What one item of each service costs a device on this host, measured: the executor's estimate of each batch
 * it dispatched (the profile × what the runtime learned of the time a batch holds the device: compute, the
 * hand-offs between event loop and device thread, the wait for a core) against the profile's time for the same
 * batches, over the batches past the first of each instance's session. The profile measures compute alone on an
 * idle device; on the demo's 2-core host the backend alone ran about 3× it at the baseline's knee.
 */

/**
 * Fewest steady items a service must have run for its measured ratio to replace the profile: below it a few
 * slow launches would decide where replicas go.
 */
export const MIN_MEASURED_ITEMS = 20;

/** One service's measured cost against its profile. */
export interface MeasuredCost {
  /** Estimate ÷ profile over the steady batches, summed over the nodes; `undefined` below {@link MIN_MEASURED_ITEMS}. */
  readonly ratio: number | undefined;
  /** Steady items it counts. */
  readonly items: number;
}

/** Per service, the measured cost ratio over the runs and nodes given. */
export function measuredCosts(specs: readonly ServiceSpec[], runs: readonly (readonly DeviceUsage[])[]): Record<string, MeasuredCost> {
  const out: Record<string, MeasuredCost> = {};
  for (const s of specs) {
    let items = 0;
    let profileMs = 0;
    let expectedMs = 0;
    for (const run of runs) {
      for (const node of run) {
        const u = node.services[s.id];
        if (u === undefined) continue;
        items += u.steadyItems;
        profileMs += u.steadyProfileMs;
        expectedMs += u.steadyExpectedMs;
      }
    }
    out[s.id] = { ratio: items >= MIN_MEASURED_ITEMS && profileMs > 0 ? expectedMs / profileMs : undefined, items };
  }
  return out;
}

/**
 * The ratios the replica rule plans with (`costRatio`): the measured ones, and for a service not measured (chat,
 * whose generation steps are not batches; a service too little used) the median of the measured ones — the
 * host's typical cost over its profiles. Empty when nothing was measured: the rule then keeps the profiles.
 */
export function costRatios(costs: Readonly<Record<string, MeasuredCost>>): Record<string, number> {
  const measured = Object.values(costs).flatMap((c) => (c.ratio === undefined ? [] : [c.ratio])).sort((a, b) => a - b);
  if (measured.length === 0) return {};
  const m = measured.length % 2 === 1 ? measured[(measured.length - 1) / 2]! : (measured[measured.length / 2 - 1]! + measured[measured.length / 2]!) / 2;
  return Object.fromEntries(Object.entries(costs).map(([id, c]) => [id, c.ratio ?? m]));
}

/** One line per service: the measured ratio and how many items it counts. */
export function costLines(costs: Readonly<Record<string, MeasuredCost>>): string[] {
  return Object.entries(costs).map(([id, c]) =>
    c.ratio === undefined ? `${id.padEnd(6)} not measured (${c.items} steady items < ${MIN_MEASURED_ITEMS}): the median of the measured ratios` : `${id.padEnd(6)} ${c.ratio.toFixed(2)}× the profile (${c.items} steady items)`,
  );
}
