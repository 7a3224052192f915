import type { ClusterView, ServiceItems } from '@epara/core';

/**
 * What the servers that run a service publish of its items in their view entries (each alive server with a ready
 * instance of it): `not-separable` when one says so (its executor found the items mix: a request runs whole),
 * else the first that found them `separable` and gives the batch axes, else `undefined` (none has checked yet, or
 * none says: an older build).
 */
export function peerItems(view: ClusterView, serviceId: string): ServiceItems | undefined {
  let found: ServiceItems | undefined;
  for (const e of Object.values(view.entries)) {
    if (!e.alive || e.items === undefined || !Object.hasOwn(e.items, serviceId)) continue;
    if (!e.instances.some((i) => i.serviceId === serviceId && i.status === 'ready')) continue;
    const items = e.items[serviceId]!;
    if (items.separability === 'not-separable') return items;
    if (items.separability === 'separable' && items.batchAxes !== undefined) found ??= items;
  }
  return found;
}
