import type { ServerId, ServiceId } from './device.js';

/** A stream (frequency task) that is active or expected, with the access server it enters at. */
export interface StreamDemand {
  readonly accessServer: ServerId;
  /** Items per second. */
  readonly rateHz: number;
}

/**
 * Demand for one service in the next period. For latency services, requests per second by access server;
 * for frequency services, the streams (their rates sum to the item demand).
 */
export interface ServiceDemand {
  readonly serviceId: ServiceId;
  /** Requests (items) per second entering at each access server. */
  readonly ratePerServer: Readonly<Record<ServerId, number>>;
  /** Active or expected streams (frequency services). */
  readonly streams?: readonly StreamDemand[];
}

/** Total items per second of a demand: requests plus stream items. */
export function totalDemandRate(demand: ServiceDemand): number {
  let total = 0;
  for (const r of Object.values(demand.ratePerServer)) total += r;
  for (const s of demand.streams ?? []) total += s.rateHz;
  return total;
}
