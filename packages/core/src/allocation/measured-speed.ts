import { invalidOption } from '../errors/epara-error.js';
import type { ServiceId } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import { scaleProfile } from '../profiles/latency-profile.js';
import type { PlacedInstance } from '../placement/types.js';

/**
 * Per service, what its work really costs on the cluster's devices over what its profiles say (2.3: batches hold a
 * device 2.3× their profile), as a host measures it — the runtime's backend time or learned hold time over the
 * profile. A service left out costs its profile.
 */
export type CostRatios = Readonly<Record<ServiceId, number>>;

/**
 * The services with every profile scaled by their measured {@link CostRatios}: what `allocate` and `placeServices`
 * plan with to place for the devices as they run, not as they ran alone at start-up. A stream service whose device
 * runs 2.3× its profile serves 1 / 2.3 of the frames its profile promised (less where a larger pack no longer stays
 * fresh), and placed on the profile it gets fewer instances than its demand needs. Services without a ratio come
 * back as they were.
 *
 * @throws EparaError `INVALID_OPTIONS` for a ratio that is not a positive finite number.
 * @example
 * ```ts
 * const plans = Object.fromEntries(servicesAtMeasuredSpeed(services, { video: 2.3 }).map((s) => [s.id, allocate({ service: s, demand: demandOf(s), deviceKinds }).plans]));
 * ```
 */
export function servicesAtMeasuredSpeed<S extends ServiceSpec>(services: readonly S[], costRatio: CostRatios): S[] {
  validateCostRatios(costRatio);
  return services.map((s) => {
    const r = costRatio[s.id];
    if (r === undefined || r === 1) return s;
    const profiles = Object.fromEntries(Object.entries(s.profiles).map(([kind, p]) => [kind, scaleProfile(p, r)]));
    return { ...s, profiles };
  });
}

/**
 * Instances placed at measured speed ({@link servicesAtMeasuredSpeed}) with their plans' time and rate figures back
 * at the profiles' speed (`runMs`, `expectedLatencyMs` ÷ the ratio; `capacityPerSec`, `goodputPerDevice` and the
 * instance's assigned capacity × it): what an executor that learns its own speed loads — it scales a plan's figures
 * by what it measures, and figures already scaled would be scaled twice. Batch sizes, devices and servers stay as
 * placed; a capacity measured at run time (`measuredCapacityPerSec`) is the device's as it runs and stays. {@link plansAtMeasuredSpeed} is its inverse (the running placement as the next run's `current`).
 *
 * @throws EparaError `INVALID_OPTIONS` for a ratio that is not a positive finite number.
 */
export function plansAtProfileSpeed(instances: readonly PlacedInstance[], costRatio: CostRatios): PlacedInstance[] {
  validateCostRatios(costRatio);
  return instances.map((i) => rescale(i, costRatio[i.serviceId] ?? 1));
}

/** The inverse of {@link plansAtProfileSpeed}: plans at the profiles' speed priced at the measured one. */
export function plansAtMeasuredSpeed(instances: readonly PlacedInstance[], costRatio: CostRatios): PlacedInstance[] {
  validateCostRatios(costRatio);
  return instances.map((i) => rescale(i, 1 / (costRatio[i.serviceId] ?? 1)));
}

/** `i` with its time figures ÷ `r` and its rates × `r`. */
function rescale(i: PlacedInstance, r: number): PlacedInstance {
  if (r === 1) return i;
  const p = i.plan;
  const plan = { ...p, runMs: p.runMs / r, expectedLatencyMs: p.expectedLatencyMs / r, capacityPerSec: p.capacityPerSec * r, goodputPerDevice: p.goodputPerDevice * r };
  return {
    ...i,
    plan,
    ...(i.capacityPerSec !== undefined ? { capacityPerSec: i.capacityPerSec * r } : {}),
  };
}

/**
 * `value` as {@link CostRatios}, checked: a record (not an array) of service id to a positive finite number (measured
 * cost ÷ profile). For a host that takes ratios from its own configuration and wants them refused where they enter.
 *
 * @throws EparaError `INVALID_OPTIONS` naming `field`, or `field.<service id>` for a bad ratio.
 */
export function validateCostRatios(value: unknown, field = 'costRatio'): CostRatios {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalidOption(field, value, 'a record of service id to a positive number');
  for (const [id, r] of Object.entries(value)) {
    if (!(typeof r === 'number' && r > 0 && Number.isFinite(r))) invalidOption(`${field}.${id}`, r, 'a positive finite number (measured cost ÷ profile)');
  }
  return value as CostRatios;
}
