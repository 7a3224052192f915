import { EparaError, invalidOption } from '../errors/epara-error.js';
import type { ParallelPlan } from '../allocation/plan.js';
import type { ServiceSpec } from '../model/service.js';
import type { PlacedInstance, PlacementInput } from './types.js';

/**
 * Validates a {@link PlacementInput}: unique ids, known services, finite non-negative numbers, plans that match
 * their service. Instances on unknown servers or devices are not an error (the server may have left the
 * cluster): placement treats them as failed.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field; `UNKNOWN_SERVICE` for a reference to a service that is
 * not in `services`.
 */
export function validatePlacementInput(input: PlacementInput): void {
  if (typeof input !== 'object' || input === null) invalidOption('input', input, 'an object');
  if (!Array.isArray(input.servers)) invalidOption('servers', input.servers, 'an array');
  if (!Array.isArray(input.services)) invalidOption('services', input.services, 'an array');
  if (!Array.isArray(input.demand)) invalidOption('demand', input.demand, 'an array');
  if (typeof input.plans !== 'object' || input.plans === null) invalidOption('plans', input.plans, 'an object');
  validateServers(input);
  const services = validateServices(input.services);
  for (const [serviceId, plans] of Object.entries(input.plans)) {
    if (!services.has(serviceId)) unknownService(`plans.${serviceId}`, serviceId);
    if (!Array.isArray(plans)) invalidOption(`plans.${serviceId}`, plans, 'an array');
    plans.forEach((p, i) => validatePlan(`plans.${serviceId}[${i}]`, p, serviceId));
  }
  validateDemand(input, services);
  if (input.demandHeadroom !== undefined && !(typeof input.demandHeadroom === 'number' && Number.isFinite(input.demandHeadroom) && input.demandHeadroom >= 1)) {
    invalidOption('demandHeadroom', input.demandHeadroom, 'a finite number ≥ 1');
  }
  validateCurrent(input.current ?? [], services);
  if (input.arrivalSlackMs !== undefined) validateArrivalSlack(input.arrivalSlackMs, services);
  if (input.delaysMs !== undefined && typeof input.delaysMs !== 'function') validateDelayMatrix(input.delaysMs);
}

/** `arrivalSlackMs`: known services, per access server an array of finite numbers (a slack may be negative: late). */
function validateArrivalSlack(slack: NonNullable<PlacementInput['arrivalSlackMs']>, services: ReadonlySet<string>): void {
  if (typeof slack !== 'object' || slack === null) invalidOption('arrivalSlackMs', slack, 'an object');
  for (const [serviceId, perServer] of Object.entries(slack)) {
    if (!services.has(serviceId)) unknownService(`arrivalSlackMs.${serviceId}`, serviceId);
    if (typeof perServer !== 'object' || perServer === null) invalidOption(`arrivalSlackMs.${serviceId}`, perServer, 'an object');
    for (const [serverId, list] of Object.entries(perServer)) {
      const field = `arrivalSlackMs.${serviceId}.${serverId}`;
      if (!Array.isArray(list)) invalidOption(field, list, 'an array of numbers');
      list.forEach((v, i) => {
        if (!(typeof v === 'number' && Number.isFinite(v))) invalidOption(`${field}[${i}]`, v, 'a finite number');
      });
    }
  }
}

function validateServers(input: PlacementInput): void {
  const ids = new Set<string>();
  input.servers.forEach((s, i) => {
    if (typeof s?.id !== 'string' || s.id === '') invalidOption(`servers[${i}].id`, s?.id, 'a non-empty string');
    if (ids.has(s.id)) invalidOption(`servers[${i}].id`, s.id, 'unique across servers');
    ids.add(s.id);
    if (!Array.isArray(s.devices)) invalidOption(`servers[${i}].devices`, s.devices, 'an array');
    const devIds = new Set<string>();
    s.devices.forEach((d, j) => {
      const f = `servers[${i}].devices[${j}]`;
      if (typeof d?.id !== 'string' || d.id === '') invalidOption(`${f}.id`, d?.id, 'a non-empty string');
      if (devIds.has(d.id)) invalidOption(`${f}.id`, d.id, 'unique within its server');
      devIds.add(d.id);
      if (typeof d.kind !== 'string') invalidOption(`${f}.kind`, d.kind, 'a string');
      nonNegative(`${f}.memoryBytes`, d.memoryBytes);
    });
  });
}

function validateServices(services: readonly ServiceSpec[]): Set<string> {
  const ids = new Set<string>();
  services.forEach((s, i) => {
    if (typeof s?.id !== 'string' || s.id === '') invalidOption(`services[${i}].id`, s?.id, 'a non-empty string');
    if (ids.has(s.id)) invalidOption(`services[${i}].id`, s.id, 'unique across services');
    ids.add(s.id);
    if (s.slo?.kind === 'latency') positive(`services[${i}].slo.deadlineMs`, s.slo.deadlineMs);
    else if (s.slo?.kind === 'frequency') positive(`services[${i}].slo.stalenessMs`, s.slo.stalenessMs);
    else invalidOption(`services[${i}].slo`, s.slo, "a latency or frequency SLO");
    if (s.loadTimeMs !== undefined) nonNegative(`services[${i}].loadTimeMs`, s.loadTimeMs);
    if (s.networkBudgetMs !== undefined) nonNegative(`services[${i}].networkBudgetMs`, s.networkBudgetMs);
    if (s.weight !== undefined) nonNegative(`services[${i}].weight`, s.weight);
    if (s.colocationSlowdown !== undefined) nonNegative(`services[${i}].colocationSlowdown`, s.colocationSlowdown);
  });
  return ids;
}

function validatePlan(field: string, p: ParallelPlan, serviceId: string): void {
  if (typeof p !== 'object' || p === null) invalidOption(field, p, 'a ParallelPlan');
  if (p.serviceId !== serviceId) invalidOption(`${field}.serviceId`, p.serviceId, `'${serviceId}'`);
  if (!Number.isInteger(p.devices) || p.devices < 1) invalidOption(`${field}.devices`, p.devices, 'a positive integer');
  if (!(p.batchSize >= 1) || !Number.isFinite(p.batchSize)) invalidOption(`${field}.batchSize`, p.batchSize, 'a finite number ≥ 1');
  positive(`${field}.capacityPerSec`, p.capacityPerSec);
  positive(`${field}.runMs`, p.runMs);
  nonNegative(`${field}.memoryPerDeviceBytes`, p.memoryPerDeviceBytes);
  nonNegative(`${field}.expectedLatencyMs`, p.expectedLatencyMs);
  if (p.serviceStrategy === 'single' && p.devices !== 1) invalidOption(`${field}.devices`, p.devices, '1 for a single-device plan');
}

function validateDemand(input: PlacementInput, services: Set<string>): void {
  const seen = new Set<string>();
  input.demand.forEach((d, i) => {
    if (!services.has(d?.serviceId)) unknownService(`demand[${i}].serviceId`, d?.serviceId);
    if (seen.has(d.serviceId)) invalidOption(`demand[${i}].serviceId`, d.serviceId, 'one demand entry per service');
    seen.add(d.serviceId);
    if (typeof d.ratePerServer !== 'object' || d.ratePerServer === null) invalidOption(`demand[${i}].ratePerServer`, d.ratePerServer, 'an object');
    for (const [a, r] of Object.entries(d.ratePerServer)) nonNegative(`demand[${i}].ratePerServer.${a}`, r);
    (d.streams ?? []).forEach((s, j) => {
      if (typeof s.accessServer !== 'string') invalidOption(`demand[${i}].streams[${j}].accessServer`, s.accessServer, 'a string');
      nonNegative(`demand[${i}].streams[${j}].rateHz`, s.rateHz);
    });
  });
}

function validateCurrent(current: readonly PlacedInstance[], services: Set<string>): void {
  if (!Array.isArray(current)) invalidOption('current', current, 'an array');
  const ids = new Set<string>();
  current.forEach((c, i) => {
    const f = `current[${i}]`;
    if (typeof c?.instanceId !== 'string' || c.instanceId === '') invalidOption(`${f}.instanceId`, c?.instanceId, 'a non-empty string');
    if (ids.has(c.instanceId)) invalidOption(`${f}.instanceId`, c.instanceId, 'unique across the placement');
    ids.add(c.instanceId);
    if (!services.has(c.serviceId)) unknownService(`${f}.serviceId`, c.serviceId);
    validatePlan(`${f}.plan`, c.plan, c.serviceId);
    if (!Array.isArray(c.deviceIds) || c.deviceIds.length !== c.plan.devices || new Set(c.deviceIds).size !== c.deviceIds.length) {
      invalidOption(`${f}.deviceIds`, c.deviceIds, `${c.plan.devices} distinct device ids (plan.devices)`);
    }
    if (c.capacityPerSec !== undefined) positive(`${f}.capacityPerSec`, c.capacityPerSec);
    if (c.measuredCapacityPerSec !== undefined) nonNegative(`${f}.measuredCapacityPerSec`, c.measuredCapacityPerSec);
    if (c.backlogItems !== undefined) nonNegative(`${f}.backlogItems`, c.backlogItems);
  });
}

function validateDelayMatrix(m: Readonly<Record<string, Readonly<Record<string, number>>>>): void {
  if (typeof m !== 'object' || m === null) invalidOption('delaysMs', m, 'a matrix or a function');
  for (const [from, row] of Object.entries(m)) {
    for (const [to, v] of Object.entries(row)) {
      if (!(typeof v === 'number' && v >= 0)) invalidOption(`delaysMs.${from}.${to}`, v, 'a number ≥ 0 (Infinity = unreachable)');
    }
  }
}

function nonNegative(field: string, v: unknown): void {
  if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0)) invalidOption(field, v, 'a finite number ≥ 0');
}

function positive(field: string, v: unknown): void {
  if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) invalidOption(field, v, 'a finite number > 0');
}

function unknownService(field: string, serviceId: unknown): never {
  throw new EparaError('UNKNOWN_SERVICE', `\`${field}\` names service \`${String(serviceId)}\`, which is not in \`services\``, {
    field,
    serviceId: String(serviceId),
  });
}
