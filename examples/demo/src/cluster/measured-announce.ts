import type { InstanceInfo } from '@epara/core';
import { SKIP_FIRST_BATCHES } from '../device-usage.js';

/** Weight of each new batch in a service's running cost ratio. */
const SMOOTHING = 0.1;

/**
 * Per service, what this node measures one batch costs its device against the profile: a running mean of the
 * executor's estimate of each dispatched batch ÷ the profile's time for it (the estimate is the profile × what
 * the runtime learned of the time a batch holds the device), leaving out the first batches of each instance's
 * session (cold sessions and first batches).
 */
export class CostRatios {
  readonly #ratio = new Map<string, number>();
  readonly #batches = new Map<string, number>();

  /** The service's instance was (re)loaded: its next batches are a new session's first. */
  loaded(serviceId: string): void {
    this.#batches.set(serviceId, 0);
  }

  /** A batch left for the device with the executor's estimate and the profile's time for its size. */
  dispatched(e: { readonly serviceId: string; readonly expectedMs: number; readonly profileMs: number }): void {
    const n = (this.#batches.get(e.serviceId) ?? 0) + 1;
    this.#batches.set(e.serviceId, n);
    if (n <= SKIP_FIRST_BATCHES || !(e.profileMs > 0) || !(e.expectedMs > 0)) return;
    const r = e.expectedMs / e.profileMs;
    const prev = this.#ratio.get(e.serviceId);
    this.#ratio.set(e.serviceId, prev === undefined ? r : prev + SMOOTHING * (r - prev));
  }

  /** The service's measured ratio; 1 before any steady batch. */
  of(serviceId: string): number {
    return this.#ratio.get(serviceId) ?? 1;
  }
}

/**
 * The executor as the mesh node sees it when the node announces what it measures: every instance's
 * `capacityPerSec` divided by its service's {@link CostRatios}; everything else is the executor's own. What the
 * mesh reads of it — stream admission's spare rate, routing's load ÷ capacity, the view its peers read — then
 * follows this host's measured costs instead of the idle-device profile.
 */
export function announcingMeasured<E extends { instances(): readonly InstanceInfo[] }>(executor: E, ratios: CostRatios): E {
  const instances = (): InstanceInfo[] => executor.instances().map((i) => ({ ...i, capacityPerSec: i.capacityPerSec / ratios.of(i.serviceId) }));
  return new Proxy(executor, {
    get(target, key) {
      if (key === 'instances') return instances;
      const v: unknown = Reflect.get(target, key, target);
      // Methods run on the executor itself (its private fields are not the proxy's).
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
