import type { ClusterView, InstanceInfo, ServiceSpec } from '@epara/core';
import type { DeviceRow, InstanceRow, NodeHealth, NodeRow } from './snapshot-types.js';

/** Inputs of {@link nodeRows}. */
export interface NodeRowsInput {
  readonly view: ClusterView;
  readonly self: string;
  readonly leader: string | undefined;
  readonly now: number;
  readonly suspectAfterMs: number;
  /** Servers seen before that are no longer in the view (a KV view may delete them): shown dead. */
  readonly gone: ReadonlyMap<string, { readonly epoch: number; readonly lastSeenAt: number }>;
  /** Why each server last left the view (from `peerLeft`). */
  readonly leftReasons: ReadonlyMap<string, string>;
  readonly categoryOf: (serviceId: string) => string;
  /**
   * Devices of instances whose view entry does not carry them (the synchronized view leaves devices out),
   * as this node learned them from placement decisions; by `server`, then instance id.
   */
  readonly placedDevices: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;
}

/** The servers of the view as the page lists them, sorted by id, devices and instances grouped. */
export function nodeRows(input: NodeRowsInput): NodeRow[] {
  const rows: NodeRow[] = [];
  for (const e of Object.values(input.view.entries)) {
    const self = e.serverId === input.self;
    const viewAgeMs = self ? 0 : Math.max(0, input.now - e.updatedAt);
    const health: NodeHealth = self ? 'alive' : !e.alive ? 'dead' : viewAgeMs > input.suspectAfterMs ? 'suspected' : 'alive';
    const reason = health === 'dead' ? input.leftReasons.get(e.serverId) : undefined;
    rows.push({
      id: e.serverId,
      health,
      viewAgeMs,
      epoch: e.epoch,
      load: e.load,
      freeMemoryBytes: e.freeMemoryBytes,
      self,
      leader: e.serverId === input.leader,
      ...(reason !== undefined ? { leftReason: reason } : {}),
      // A dead server's last entry may still list instances; they serve nothing, so none are shown.
      devices: health === 'dead' ? [] : deviceRows(e.instances, input.categoryOf, input.placedDevices.get(e.serverId)),
    });
  }
  for (const [id, g] of input.gone) {
    if (input.view.entries[id]) continue;
    const reason = input.leftReasons.get(id) ?? 'removed from the view';
    rows.push({ id, health: 'dead', viewAgeMs: Math.max(0, input.now - g.lastSeenAt), epoch: g.epoch, load: 0, freeMemoryBytes: 0, self: false, leader: false, leftReason: reason, devices: [] });
  }
  return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function deviceRows(instances: readonly InstanceInfo[], categoryOf: (serviceId: string) => string, placed: ReadonlyMap<string, readonly string[]> | undefined): DeviceRow[] {
  const byDevice = new Map<string, InstanceRow[]>();
  for (const i of instances) {
    const ids = i.deviceIds && i.deviceIds.length > 0 ? i.deviceIds : placed?.get(i.instanceId);
    const key = ids && ids.length > 0 ? ids.join(' + ') : 'devices not reported';
    const list = byDevice.get(key) ?? [];
    list.push(instanceRow(i, categoryOf(i.serviceId)));
    byDevice.set(key, list);
  }
  return [...byDevice.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([deviceId, list]) => ({ deviceId, instances: list.sort((a, b) => (a.instanceId < b.instanceId ? -1 : 1)) }));
}

function instanceRow(i: InstanceInfo, category: string): InstanceRow {
  return {
    instanceId: i.instanceId,
    serviceId: i.serviceId,
    category,
    mode: `${i.requestStrategy} / ${i.serviceStrategy}`,
    batchSize: i.batchSize,
    status: i.status === 'loading' ? 'LOADING' : i.status === 'draining' ? 'DRAINING' : 'READY',
    capacityPerSec: i.capacityPerSec,
    loadPerSec: i.loadPerSec,
    waitMs: i.waitMs,
  };
}

/**
 * A service's category label (`latency · single`…): sensitivity from the catalog when given, otherwise
 * from its instances (multi-frame serves frequency tasks); GPU demand `multi` when any instance spans devices.
 */
export function categoryOf(serviceId: string, services: readonly ServiceSpec[], view: ClusterView): string {
  const spec = services.find((s) => s.id === serviceId);
  let sensitivity: string | undefined = spec?.sensitivity;
  let multi = false;
  for (const e of Object.values(view.entries)) {
    for (const i of e.instances) {
      if (i.serviceId !== serviceId) continue;
      sensitivity ??= i.requestStrategy === 'multi-frame' ? 'frequency' : 'latency';
      if (i.serviceStrategy !== 'single') multi = true;
    }
  }
  return `${sensitivity ?? 'latency'} · ${multi ? 'multi' : 'single'}`;
}
