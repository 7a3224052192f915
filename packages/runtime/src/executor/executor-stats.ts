import type { DeviceSlot } from './device-slot.js';
import type { ExecutorInstance } from './executor-instance.js';
import type { InputSlabStats } from '../devices/input-slabs.js';
import type { InputLeaseStats } from './lease-ring.js';

/** Stream counters of an executor (closed streams plus frames pushed to open ones). */
export interface StreamCounters {
  opened: number;
  pushed: number;
  completed: number;
  dropped: number;
  stale: number;
}

/** Counters of one service (summed over its instances). */
export interface ServiceStats {
  readonly submitted: number;
  readonly completed: number;
  /** Dropped before running (deadline or staleness). */
  readonly dropped: number;
  /** Failed while running (model error, worker crash). */
  readonly failed: number;
  readonly batches: number;
  readonly meanBatchSize: number;
  readonly queued: number;
  /** Per input that `executor.allocateInput` lent memory for: what its leases have done (absent before any). */
  readonly inputLeases?: Readonly<Record<string, InputLeaseStats>>;
}

/** Counters of one device. */
export interface DeviceStats {
  readonly provider: 'cpu' | 'cuda';
  /** True when a `cuda` device runs on the CPU after a provider failure. */
  readonly fellBack: boolean;
  readonly restarts: number;
  /** True once the device gave up restarting its worker after `maxRestarts` crashes in a row (`deviceFailed`). */
  readonly failed: boolean;
  readonly batches: number;
  readonly busyMs: number;
  /** Busy fraction since the executor started. */
  readonly utilization: number;
  readonly memoryBytes: number;
  readonly memoryUsedBytes: number;
  readonly instances: readonly string[];
  /** The device's input slab pool (absent for a device without one). */
  readonly inputSlabs?: InputSlabStats;
}

/** A snapshot from {@link Executor.stats}. */
export interface ExecutorStats {
  readonly at: number;
  readonly services: Readonly<Record<string, ServiceStats>>;
  readonly devices: Readonly<Record<string, DeviceStats>>;
  readonly streams: Readonly<StreamCounters> & { readonly open: number };
}

/** Builds a stats snapshot. */
export function buildStats(o: {
  now: number;
  startedAt: number;
  devices: ReadonlyMap<string, DeviceSlot>;
  instances: readonly ExecutorInstance[];
  streams: StreamCounters;
  openStreams: number;
}): ExecutorStats {
  const services: Record<string, ServiceStats> = {};
  for (const inst of o.instances) {
    const stats = inst.stats();
    if (stats === undefined) continue;
    const c = stats.counters;
    const prev = services[inst.serviceId];
    const batches = (prev?.batches ?? 0) + c.batches;
    const items = (prev ? prev.meanBatchSize * prev.batches : 0) + c.batchedItems;
    services[inst.serviceId] = {
      submitted: (prev?.submitted ?? 0) + c.submitted,
      completed: (prev?.completed ?? 0) + c.completed,
      dropped: (prev?.dropped ?? 0) + c.dropped,
      failed: (prev?.failed ?? 0) + c.failed,
      batches,
      meanBatchSize: batches > 0 ? items / batches : 0,
      queued: (prev?.queued ?? 0) + stats.queued,
      ...leaseStatsOf(prev?.inputLeases, inst.leaseStats?.()),
    };
  }
  const devices: Record<string, DeviceStats> = {};
  const elapsed = Math.max(1e-9, o.now - o.startedAt);
  for (const [id, d] of o.devices) {
    const counters = d.scheduler.counters();
    devices[id] = {
      provider: d.handle.provider,
      fellBack: d.fellBack,
      restarts: d.restarts,
      failed: d.failed,
      batches: counters.batches,
      busyMs: counters.busyMs,
      utilization: Math.min(1, counters.busyMs / elapsed),
      memoryBytes: d.ledger.capacityBytes,
      memoryUsedBytes: d.ledger.usedBytes,
      instances: [...d.scheduler.lanes].map((l) => l.id),
      ...(d.handle.inputSlabs ? { inputSlabs: d.handle.inputSlabs() } : {}),
    };
  }
  return { at: o.now, services, devices, streams: { ...o.streams, open: o.openStreams } };
}

/** The lease counters of a service so far plus one more instance's (nothing when neither has any). */
function leaseStatsOf(
  prev: Readonly<Record<string, InputLeaseStats>> | undefined,
  more: Record<string, InputLeaseStats> | undefined,
): { inputLeases?: Record<string, InputLeaseStats> } {
  const names = new Set([...Object.keys(prev ?? {}), ...Object.keys(more ?? {})]);
  if (names.size === 0) return {};
  const out: Record<string, InputLeaseStats> = {};
  for (const name of names) {
    const a = prev?.[name];
    const b = more?.[name];
    const sum = { leases: 0, fellBack: 0, slabBatches: 0, inPlaceItems: 0, copiedItems: 0, movedLeases: 0, slabs: 0 };
    for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] = (a?.[k] ?? 0) + (b?.[k] ?? 0);
    out[name] = sum;
  }
  return { inputLeases: out };
}
