import type { DeviceKind } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import type { Category } from '../allocation/plan.js';
import { invalidOption } from '../errors/epara-error.js';
import { assertDeviceKind, assertDeviceKinds, assertRate, assertService, budgetMs, type DeviceKindSpec } from '../allocation/validate-input.js';
import { itemsThatFit, resolveStrategyOptions, usableMemoryBytes, type StrategyOptions } from '../allocation/strategy-options.js';
import { bestPackRate, singleDeviceModel } from '../allocation/plan-search.js';
import { planBatching } from '../allocation/batching.js';

/** Input of {@link classify}. */
export interface ClassifyInput {
  readonly service: ServiceSpec;
  /** Items/s expected for the service (requests, or the sum of stream rates). */
  readonly demandPerSec: number;
  /** The device kinds available (see {@link deviceKindsOf}). */
  readonly deviceKinds: readonly DeviceKindSpec[];
  readonly options?: Partial<StrategyOptions>;
}

/** One device kind as {@link classify} saw it. */
export interface KindCapacity {
  readonly kind: DeviceKind;
  readonly memoryBytes: number;
  /** The service has a profile for this kind and one instance (batch 1) fits its usable memory. */
  readonly canHost: boolean;
  /** Best items/s one such device serves within the SLO (0 when it cannot host or cannot meet the SLO). */
  readonly capacityPerSec: number;
}

/** Result of {@link classify}: the category and how it was decided. */
export interface Classification {
  readonly category: Category;
  /** Weights plus the working memory of the smallest batch (1 item), bytes. */
  readonly memoryNeedBytes: number;
  /** The largest usable memory of a device kind that has a profile for the service, bytes. */
  readonly largestUsableMemoryBytes: number;
  /** Best single-device capacity within the SLO over all kinds, items/s. */
  readonly bestCapacityPerSec: number;
  /** The kind with that capacity (undefined when no kind can host one instance). */
  readonly bestKind?: DeviceKind;
  readonly kinds: readonly KindCapacity[];
}

/**
 * Puts a service in its category (docs/concepts.md). Sensitivity is as declared. Devices: `multi` with reason
 * `memory` when weights plus the working memory of one item exceed the largest usable device memory
 * (`memoryBytes × (1 − reserveFraction)`); `multi` with reason `compute` when the demand exceeds the best
 * single-device capacity within the SLO (batching capacity for latency services; for frequency services the
 * highest rate one device sustains within the staleness limit at any pack size); else `single`.
 *
 * @throws EparaError `INVALID_OPTIONS` for an invalid service, demand, device kinds or option.
 * @example
 * ```ts
 * const { category } = classify({ service, demandPerSec: 120, deviceKinds: [{ kind: 'cpu-2t', memoryBytes: 8e9 }] });
 * // { sensitivity: 'latency', devices: 'multi', reason: 'compute' }
 * ```
 */
export function classify(input: ClassifyInput): Classification {
  const { service, deviceKinds } = input;
  assertService(service);
  assertRate('demandPerSec', input.demandPerSec);
  assertDeviceKinds(deviceKinds);
  if (deviceKinds.length === 0) invalidOption('deviceKinds', deviceKinds, 'a non-empty array');
  const o = resolveStrategyOptions(input.options);
  const memoryNeedBytes = service.memory.weightsBytes + service.memory.perItemBytes;
  const kinds = deviceKinds.map((d) => kindCapacity(service, d, memoryNeedBytes, o));
  const profiled = deviceKinds.filter((d) => service.profiles[d.kind] !== undefined);
  const largestUsableMemoryBytes = Math.max(0, ...(profiled.length > 0 ? profiled : deviceKinds).map((d) => usableMemoryBytes(d.memoryBytes, o)));
  let best: KindCapacity | undefined;
  for (const k of kinds) if (k.canHost && (best === undefined || k.capacityPerSec > best.capacityPerSec)) best = k;
  const bestCapacityPerSec = best?.capacityPerSec ?? 0;
  const sensitivity = service.sensitivity;
  let category: Category;
  if (memoryNeedBytes > largestUsableMemoryBytes) category = { sensitivity, devices: 'multi', reason: 'memory' };
  else if (input.demandPerSec > bestCapacityPerSec) category = { sensitivity, devices: 'multi', reason: 'compute' };
  else category = { sensitivity, devices: 'single' };
  const base = { category, memoryNeedBytes, largestUsableMemoryBytes, bestCapacityPerSec, kinds };
  return best === undefined ? base : { ...base, bestKind: best.kind };
}

/** Best single-device capacity within the SLO of the service's own request strategy. */
function kindCapacity(service: ServiceSpec, device: DeviceKindSpec, need: number, o: StrategyOptions): KindCapacity {
  const profile = service.profiles[device.kind];
  const canHost = profile !== undefined && need <= usableMemoryBytes(device.memoryBytes, o);
  if (!canHost) return { kind: device.kind, memoryBytes: device.memoryBytes, canHost, capacityPerSec: 0 };
  return { kind: device.kind, memoryBytes: device.memoryBytes, canHost, capacityPerSec: singleCapacity(service, device, o) };
}

/**
 * The best items/s one device of this kind serves within the service's SLO: the batching capacity for latency
 * services, the highest pack rate within the staleness limit for frequency services (0 when infeasible).
 *
 * @throws EparaError `INVALID_OPTIONS` for an invalid service, device or option.
 */
export function singleCapacity(service: ServiceSpec, device: DeviceKindSpec, options: Partial<StrategyOptions> = {}): number {
  assertService(service);
  assertDeviceKind(device);
  const o = resolveStrategyOptions(options);
  if (service.sensitivity === 'latency') {
    const out = planBatching({ service, device, options: o });
    return out.feasible ? out.plan.capacityPerSec : 0;
  }
  const profile = service.profiles[device.kind];
  if (profile === undefined) return 0;
  const { weightsBytes, perItemBytes } = service.memory;
  const usable = usableMemoryBytes(device.memoryBytes, o);
  const limit = itemsThatFit(usable, weightsBytes, perItemBytes, o.maxBatch);
  return bestPackRate(singleDeviceModel(profile), budgetMs(service), limit).rate;
}
