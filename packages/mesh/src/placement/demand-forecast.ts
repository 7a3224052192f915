import { invalidOption } from '@epara/core';
import type { ServerId, ServiceDemand, ServiceId } from '@epara/core';

/**
 * A host's demand forecast for the next placement period: core `ServiceDemand`s (requests/s per access server
 * plus expected streams), or a function the leader calls at every placement run (e.g. reading a schedule or
 * a model of the day).
 */
export type DemandForecast = readonly ServiceDemand[] | (() => readonly ServiceDemand[]);

/**
 * Validates a forecast list: one entry per known service, rates finite and ≥ 0.
 *
 * @throws EparaError `INVALID_OPTIONS` naming `field` and the offending entry.
 */
export function validateDemandForecast(field: string, value: unknown, services: ReadonlySet<ServiceId>): readonly ServiceDemand[] {
  if (!Array.isArray(value)) invalidOption(field, value, 'an array of ServiceDemand or a function returning one');
  const seen = new Set<string>();
  value.forEach((d: Partial<ServiceDemand> | null, i) => {
    const f = `${field}[${i}]`;
    if (typeof d !== 'object' || d === null) invalidOption(f, d, 'a ServiceDemand object');
    if (typeof d.serviceId !== 'string' || !services.has(d.serviceId)) invalidOption(`${f}.serviceId`, d.serviceId, `a service of the catalog (${[...services].join(', ') || 'none'})`);
    if (seen.has(d.serviceId)) invalidOption(`${f}.serviceId`, d.serviceId, 'one entry per service');
    seen.add(d.serviceId);
    if (typeof d.ratePerServer !== 'object' || d.ratePerServer === null) invalidOption(`${f}.ratePerServer`, d.ratePerServer, 'an object of server id → items/s');
    for (const [a, r] of Object.entries(d.ratePerServer)) rate(`${f}.ratePerServer.${a}`, r);
    if (d.streams !== undefined && !Array.isArray(d.streams)) invalidOption(`${f}.streams`, d.streams, 'an array of { accessServer, rateHz }');
    (d.streams ?? []).forEach((s, j) => {
      if (typeof s?.accessServer !== 'string') invalidOption(`${f}.streams[${j}].accessServer`, s?.accessServer, 'a server id');
      rate(`${f}.streams[${j}].rateHz`, s.rateHz);
    });
  });
  return value as readonly ServiceDemand[];
}

/**
 * Items/s forecast per access server for one service: requests plus the item rates of expected streams
 * (core counts stream items at their access server the same way).
 */
export function forecastRates(forecast: readonly ServiceDemand[], serviceId: ServiceId): Record<ServerId, number> {
  const out: Record<ServerId, number> = {};
  const d = forecast.find((x) => x.serviceId === serviceId);
  if (!d) return out;
  for (const [a, r] of Object.entries(d.ratePerServer)) out[a] = (out[a] ?? 0) + r;
  for (const s of d.streams ?? []) out[s.accessServer] = (out[s.accessServer] ?? 0) + s.rateHz;
  return out;
}

function rate(field: string, v: unknown): void {
  if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0)) invalidOption(field, v, 'a finite number ≥ 0 (items/s)');
}
