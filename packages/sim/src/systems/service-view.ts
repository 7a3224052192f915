import type { ClusterView, ServerEntry } from '@epara/core';

const cache = new WeakMap<ClusterView, Map<string, ClusterView>>();

/**
 * The entries of a view that host an instance of `serviceId` (any status). Core `routeRequest` and
 * `admitStream` only ever look at those, so their decisions are unchanged; at 50 servers per zone this cuts
 * the scan per request several-fold. Views are immutable snapshots, so the result is cached per view object.
 */
export function serviceView(view: ClusterView, serviceId: string): ClusterView {
  let byService = cache.get(view);
  if (byService === undefined) {
    byService = new Map();
    cache.set(view, byService);
  }
  let out = byService.get(serviceId);
  if (out === undefined) {
    const entries: Record<string, ServerEntry> = {};
    for (const id in view.entries) {
      const e = view.entries[id]!;
      if (e.instances.some((i) => i.serviceId === serviceId)) entries[id] = e;
    }
    out = { entries };
    byService.set(serviceId, out);
  }
  return out;
}
