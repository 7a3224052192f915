import { EparaError, invalidOption, type ParallelPlan } from '@epara/core';
import { createDevice, type DeviceHandle } from '../devices/device-handle.js';
import { DeviceScheduler } from './device-scheduler.js';
import type { ExecutorEvents } from './executor-events.js';
import { MemoryLedger } from './memory-ledger.js';
import type { ResolvedExecutorOptions } from './resolve-executor-options.js';

/** A device as the executor tracks it: the worker handle, its scheduler and its memory ledger. */
export interface DeviceSlot {
  readonly handle: DeviceHandle;
  readonly scheduler: DeviceScheduler;
  readonly ledger: MemoryLedger;
  readonly deviceKind: string;
  fellBack: boolean;
  restarts: number;
  /** The device gave up restarting its worker (`deviceFailed`). */
  failed: boolean;
}

type Emit = <K extends keyof ExecutorEvents>(event: K, payload: ExecutorEvents[K][0]) => void;

/** Creates a device (worker not started yet) with its scheduler, forwarding its events to the executor. */
export function createDeviceSlot(
  d: ResolvedExecutorOptions['devices'][number],
  o: ResolvedExecutorOptions,
  emit: Emit,
  listening: (event: keyof ExecutorEvents) => boolean = () => true,
): DeviceSlot {
  const handle = createDevice({
    id: d.id,
    provider: d.provider ?? 'cpu',
    ordinal: d.ordinal ?? 0,
    threads: d.threads ?? 1,
    ...(d.spinWait === undefined ? {} : { spinWait: d.spinWait }),
    memoryBytes: d.memoryBytes ?? Number.POSITIVE_INFINITY,
    logger: o.logger,
    backend: d.backend ?? o.backend,
    maxRestarts: o.maxRestarts,
    ...(d.workerUrl === undefined ? {} : { workerUrl: d.workerUrl }),
    ...(d.inputSlabBytes === undefined ? {} : { inputSlabBytes: d.inputSlabBytes }),
    ...(d.inputSlabs === undefined ? {} : { inputSlabs: d.inputSlabs }),
    ...(d.doorbellSlotBytes === undefined ? {} : { doorbellSlotBytes: d.doorbellSlotBytes }),
    ...(d.doorbellSpinUs === undefined ? {} : { doorbellSpinUs: d.doorbellSpinUs }),
    ...(d.closeWaitMs === undefined ? {} : { closeWaitMs: d.closeWaitMs }),
  });
  const scheduler = new DeviceScheduler({
    device: handle,
    clock: o.clock,
    timers: o.timers,
    hostDelayQuantile: o.hostDelayQuantile,
    // Built only when something listens: it runs for every batch.
    onDispatch: (i) =>
      listening('batchDispatched') &&
      emit('batchDispatched', { instanceId: i.lane.id, serviceId: i.lane.serviceId, deviceId: i.deviceId, size: i.items.length, expectedMs: i.expectedMs, at: i.at, plannedStart: i.plannedStart }),
  });
  const slot: DeviceSlot = { handle, scheduler, ledger: new MemoryLedger(d.id, handle.memoryBytes), deviceKind: d.deviceKind, fellBack: false, restarts: 0, failed: false };
  handle.on('deviceFellBack', (e) => {
    slot.fellBack = true;
    emit('deviceFellBack', e);
  });
  handle.on('workerCrashed', (e) => emit('workerCrashed', e));
  handle.on('deviceFailed', (e) => {
    slot.failed = true;
    emit('deviceFailed', e);
  });
  handle.on('workerRestarted', (e) => {
    slot.restarts = e.restarts;
    emit('workerRestarted', e);
    scheduler.pump();
  });
  return slot;
}

/**
 * The devices an instance of `plan` uses: the given ids, else `plan.devices` devices of the plan's device
 * kind (any kind when too few match), fewest instances first, then most free memory.
 *
 * @throws EparaError `INVALID_OPTIONS` for unknown or repeated ids or a bad count; `INFEASIBLE` when too few devices exist.
 */
export function chooseDevices(devices: ReadonlyMap<string, DeviceSlot>, plan: Partial<ParallelPlan>, deviceIds: readonly string[] | undefined): DeviceSlot[] {
  if (deviceIds) {
    if (!Array.isArray(deviceIds) || deviceIds.length === 0) invalidOption('deviceIds', deviceIds, 'a non-empty array of device ids');
    // A device named twice would count twice in the instance's capacity while it serves one batch at a time.
    return deviceIds.map((id, i) => {
      if (deviceIds.indexOf(id) !== i) invalidOption(`deviceIds[${i}]`, id, 'a device id not already named (each device once)');
      return devices.get(id) ?? invalidOption(`deviceIds[${i}]`, id, `a device of this executor (${[...devices.keys()].join(', ')})`);
    });
  }
  const count = plan.devices ?? 1;
  if (!Number.isInteger(count) || count < 1) invalidOption('plan.devices', count, 'a positive integer');
  const all = [...devices.values()];
  const ofKind = plan.deviceKind ? all.filter((d) => d.deviceKind === plan.deviceKind) : all;
  const pool = ofKind.length >= count ? ofKind : all;
  if (pool.length < count) throw new EparaError('INFEASIBLE', `the plan needs ${count} devices, the executor has ${pool.length}`, { needed: count });
  return [...pool].sort((a, b) => a.scheduler.lanes.size - b.scheduler.lanes.size || b.ledger.freeBytes - a.ledger.freeBytes).slice(0, count);
}
