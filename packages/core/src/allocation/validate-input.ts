import { invalidOption } from '../errors/epara-error.js';
import type { DeviceKind } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';

/** A device kind the allocator may use, with the memory of one such device. */
export interface DeviceKindSpec {
  readonly kind: DeviceKind;
  /** Memory of one device of this kind, bytes. */
  readonly memoryBytes: number;
  /**
   * Most devices of this kind (with at least this memory) that one healthy server has. The replicas of a
   * data-parallel instance and the stages of a model-parallel one share a server, so plans never use more.
   * {@link deviceKindsOf} fills it in. @default unlimited
   */
  readonly maxPerServer?: number;
}

const checkedServices = new WeakSet<object>();

/**
 * Validates the fields of a {@link ServiceSpec} the calculators read. A service object that passed once is
 * remembered (services are immutable by contract), so hot paths pay for validation once.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field (`service.slo.deadlineMs`, …) and its value.
 */
export function assertService(service: ServiceSpec, field = 'service'): void {
  if (typeof service !== 'object' || service === null) invalidOption(field, service, 'a ServiceSpec object');
  if (checkedServices.has(service)) return;
  if (typeof service.id !== 'string' || service.id === '') invalidOption(`${field}.id`, service.id, 'a non-empty string');
  if (service.sensitivity !== 'latency' && service.sensitivity !== 'frequency') {
    invalidOption(`${field}.sensitivity`, service.sensitivity, "'latency' or 'frequency'");
  }
  assertSlo(service, field);
  const memory = service.memory as ServiceSpec['memory'] | undefined;
  if (typeof memory !== 'object' || memory === null) invalidOption(`${field}.memory`, memory, 'an object');
  nonNegative(`${field}.memory.weightsBytes`, memory.weightsBytes);
  nonNegative(`${field}.memory.perItemBytes`, memory.perItemBytes);
  if (service.networkBudgetMs !== undefined) nonNegative(`${field}.networkBudgetMs`, service.networkBudgetMs);
  if (typeof service.profiles !== 'object' || service.profiles === null) {
    invalidOption(`${field}.profiles`, service.profiles, 'an object of profiles by device kind');
  }
  for (const [kind, profile] of Object.entries(service.profiles)) {
    if (typeof profile !== 'object' || profile === null || !Array.isArray(profile.points) || profile.points.length === 0) {
      invalidOption(`${field}.profiles.${kind}`, profile, 'a LatencyProfile (use createProfile)');
    }
  }
  checkedServices.add(service);
}

function assertSlo(service: ServiceSpec, field: string): void {
  const slo = service.slo as ServiceSpec['slo'] | undefined;
  if (typeof slo !== 'object' || slo === null) invalidOption(`${field}.slo`, slo, 'an object');
  if (slo.kind === 'latency') {
    positive(`${field}.slo.deadlineMs`, slo.deadlineMs);
    const budget = service.networkBudgetMs ?? 0;
    if (budget >= slo.deadlineMs) invalidOption(`${field}.networkBudgetMs`, budget, `less than slo.deadlineMs (${slo.deadlineMs})`);
  } else if (slo.kind === 'frequency') {
    positive(`${field}.slo.rateHz`, slo.rateHz);
    positive(`${field}.slo.stalenessMs`, slo.stalenessMs);
    const budget = service.networkBudgetMs ?? 0;
    if (budget >= slo.stalenessMs) invalidOption(`${field}.networkBudgetMs`, budget, `less than slo.stalenessMs (${slo.stalenessMs})`);
  } else {
    invalidOption(`${field}.slo.kind`, (slo as { kind?: unknown }).kind, "'latency' or 'frequency'");
  }
  // A service is judged by one kind of SLO: a latency-sensitive service with a rate and staleness (or a
  // frequency-sensitive one with a per-request deadline) would be classified by one and scheduled by the other.
  if (slo.kind !== service.sensitivity) {
    invalidOption(`${field}.slo.kind`, slo.kind, `'${service.sensitivity}' (the SLO of a ${service.sensitivity}-sensitive service, field sensitivity)`);
  }
}

/** Validates a list of {@link DeviceKindSpec}. @throws EparaError `INVALID_OPTIONS`. */
export function assertDeviceKinds(deviceKinds: readonly DeviceKindSpec[], field = 'deviceKinds'): void {
  if (!Array.isArray(deviceKinds)) invalidOption(field, deviceKinds, 'an array of { kind, memoryBytes }');
  deviceKinds.forEach((d, i) => assertDeviceKind(d, `${field}[${i}]`));
}

/** Validates one {@link DeviceKindSpec}. @throws EparaError `INVALID_OPTIONS`. */
export function assertDeviceKind(device: DeviceKindSpec, field = 'device'): void {
  if (typeof device !== 'object' || device === null) invalidOption(field, device, 'an object { kind, memoryBytes }');
  if (typeof device.kind !== 'string' || device.kind === '') invalidOption(`${field}.kind`, device.kind, 'a non-empty string');
  positive(`${field}.memoryBytes`, device.memoryBytes);
  const m = device.maxPerServer;
  if (m !== undefined && !(Number.isInteger(m) && m >= 1)) invalidOption(`${field}.maxPerServer`, m, 'an integer >= 1');
}

/** Validates a demand rate in items/s. @throws EparaError `INVALID_OPTIONS`. */
export function assertRate(field: string, value: unknown): asserts value is number {
  nonNegative(field, value);
}

/**
 * The time budget `D` of one item, ms: `deadlineMs − networkBudgetMs` for a latency SLO,
 * `stalenessMs − networkBudgetMs` for a frequency SLO.
 */
export function budgetMs(service: ServiceSpec): number {
  const slo = service.slo;
  const limit = slo.kind === 'latency' ? slo.deadlineMs : slo.stalenessMs;
  return limit - (service.networkBudgetMs ?? 0);
}

function positive(field: string, value: unknown): void {
  if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) invalidOption(field, value, 'a positive finite number');
}

function nonNegative(field: string, value: unknown): void {
  if (!(typeof value === 'number' && value >= 0 && Number.isFinite(value))) invalidOption(field, value, 'a finite number >= 0');
}
