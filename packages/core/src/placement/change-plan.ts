import { PLACEMENT_TOLERANCE } from './duty-cycle.js';
import type { PlacementModel } from './model.js';
import type { PlacementStep } from './types.js';

/** An instance as the change plan sees it: where it sits and what it holds there. */
export interface ChangeItem {
  readonly instanceId: string;
  readonly serviceId: string;
  readonly serverId: string;
  readonly deviceIds: readonly string[];
  /** Device indices in the model. */
  readonly devices: readonly number[];
  readonly memBytes: number;
  readonly exclusive: boolean;
}

/** The difference between the current and the next placement. */
export interface PlacementDiff {
  readonly kept: readonly ChangeItem[];
  readonly added: readonly ChangeItem[];
  /** Running instances the next placement drops. */
  readonly removed: readonly ChangeItem[];
  /** Instances on failed devices or servers: already gone. */
  readonly lost: readonly ChangeItem[];
}

/**
 * Orders the changes make-before-break: free what failed; `load` every new instance that fits next to what
 * runs now, mark them `ready`; then, for a new instance that needs memory still held by a replaced one, `drain`
 * and `free` that one first (preferring victims whose service keeps other ready instances) and say so; finally
 * drain and free what is no longer needed. A step that leaves a service that is still placed with no ready
 * instance is flagged `leavesServiceWithoutReady`.
 */
export function planChanges(model: PlacementModel, diff: PlacementDiff): PlacementStep[] {
  const steps: PlacementStep[] = [];
  const present = new Map<number, ChangeItem[]>();
  const ready = new Map<string, number>();
  const stillPlaced = new Set([...diff.kept, ...diff.added].map((i) => i.serviceId));
  const bump = (svc: string, by: number): number => {
    const n = (ready.get(svc) ?? 0) + by;
    ready.set(svc, n);
    return n;
  };
  const place = (it: ChangeItem): void => {
    for (const d of it.devices) present.set(d, [...(present.get(d) ?? []), it]);
  };
  const unplace = (it: ChangeItem): void => {
    for (const d of it.devices) present.set(d, (present.get(d) ?? []).filter((x) => x !== it));
  };
  const step = (action: PlacementStep['action'], it: ChangeItem, reason: string, gap = false): void => {
    const s: PlacementStep = { action, instanceId: it.instanceId, serviceId: it.serviceId, serverId: it.serverId, deviceIds: it.deviceIds, reason };
    steps.push(gap ? { ...s, leavesServiceWithoutReady: true } : s);
  };
  const fits = (it: ChangeItem): boolean => it.devices.every((d) => fitsOn(model, present.get(d) ?? [], it, d));
  const retire = (it: ChangeItem, reason: string): void => {
    const left = bump(it.serviceId, -1);
    const gap = left === 0 && stillPlaced.has(it.serviceId);
    step('drain', it, reason, gap);
    step('free', it, reason, gap);
    unplace(it);
  };

  for (const it of diff.lost) {
    // The server decides: one the input no longer lists, or lists as down, failed; a listed, healthy server whose
    // device is gone (no longer listed, or down) lost only that device.
    const server = model.serverIndex.get(it.serverId);
    const failed = server === undefined || !model.serverHealthy[server] ? 'server failed' : 'device failed';
    step('free', it, failed);
  }
  for (const it of [...diff.kept, ...diff.removed]) {
    place(it);
    bump(it.serviceId, 1);
  }
  const blocked: ChangeItem[] = [];
  const loaded: ChangeItem[] = [];
  for (const it of diff.added) {
    if (fits(it)) {
      place(it);
      step('load', it, 'new instance');
      loaded.push(it);
    } else blocked.push(it);
  }
  for (const it of loaded) {
    step('ready', it, 'loaded');
    bump(it.serviceId, 1);
  }
  const removedLeft = new Set(diff.removed);
  for (const it of blocked) {
    const victims = [...removedLeft]
      .filter((r) => r.devices.some((d) => it.devices.includes(d)))
      .sort((a, b) => (ready.get(b.serviceId) ?? 0) - (ready.get(a.serviceId) ?? 0));
    for (const v of victims) {
      if (fits(it)) break;
      removedLeft.delete(v);
      retire(v, `makes room for ${it.instanceId}`);
    }
    place(it);
    step('load', it, 'new instance (after making room)');
    step('ready', it, 'loaded');
    bump(it.serviceId, 1);
  }
  for (const it of removedLeft) retire(it, stillPlaced.has(it.serviceId) ? 'replaced' : 'no longer needed');
  return steps;
}

function fitsOn(model: PlacementModel, here: readonly ChangeItem[], it: ChangeItem, d: number): boolean {
  if (here.length > 0 && (it.exclusive || here.some((x) => x.exclusive))) return false;
  const used = here.reduce((s, x) => s + x.memBytes, 0);
  return used + it.memBytes <= model.devices[d]!.usableBytes * (1 + PLACEMENT_TOLERANCE);
}
