import { toEparaError, type Clock } from '@epara/core';
import type { WorkItem } from '../batching/work-item.js';
import type { DeviceHandle } from '../devices/device-port.js';
import { deliverOutputs, outputFilter, splitRun, startRun } from './batch-outputs.js';
import type { Emit, InstanceCounters } from './instance-context.js';
import type { LoadedInstance } from './instance-loading.js';
import { unreadableTensor, unreadableTensorError } from '../tensors/readable-data.js';

/** What a {@link BatchRunner} works with: its instance's identity, counters, clock and loaded model. */
export interface BatchRunnerContext {
  readonly instanceId: string;
  readonly serviceId: string;
  readonly counters: InstanceCounters;
  readonly clock: Clock;
  readonly emit: Emit;
  /** Whether an event has listeners: the per-batch event is built only then. */
  readonly listening: (event: 'batchCompleted') => boolean;
  readonly loaded: () => LoadedInstance;
}

/**
 * Runs an instance's batches on its devices: counts them, marks stream slots in flight, splits the outputs
 * back to the items and settles each (every item settles, with a `MODEL_ERROR` when the run fails), and
 * emits `batchCompleted`.
 */
export class BatchRunner {
  readonly #c: BatchRunnerContext;
  #inFlight = 0;

  constructor(c: BatchRunnerContext) {
    this.#c = c;
  }

  /** Items running now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Runs `items` as one batch; resolves with the compute time inside the worker (undefined on failure). */
  async run(batch: WorkItem[], device: DeviceHandle, startedAt: number): Promise<number | undefined> {
    const c = this.#c;
    const items = this.#readable(batch);
    if (items.length === 0) return undefined;
    this.#inFlight += items.length;
    c.counters.batches++;
    c.counters.batchedItems += items.length;
    for (let i = 0; i < items.length; i++) if (items[i]!.slot) items[i]!.slot!.inFlight = true;
    const loaded = c.loaded();
    try {
      const run = await startRun(device, c.instanceId, items, loaded);
      const runMs = run.runMs;
      const parts = splitRun(run, items.length, loaded);
      const finishedAt = c.clock.now();
      c.counters.completed += items.length;
      deliverOutputs(items, parts, { batch: { startedAt, finishedAt, batchSize: items.length, deviceId: device.id }, stateMap: loaded.io.stateMap, filter: outputFilter(run, loaded) });
      if (c.listening('batchCompleted')) c.emit('batchCompleted', { instanceId: c.instanceId, serviceId: c.serviceId, deviceId: device.id, size: items.length, durationMs: finishedAt - startedAt, runMs, ok: true });
      return runMs;
    } catch (err) {
      const e = toEparaError(err, 'MODEL_ERROR');
      c.counters.failed += items.length;
      for (let i = 0; i < items.length; i++) items[i]!.settle(e);
      const durationMs = c.clock.now() - startedAt;
      if (c.listening('batchCompleted')) c.emit('batchCompleted', { instanceId: c.instanceId, serviceId: c.serviceId, deviceId: device.id, size: items.length, durationMs, runMs: 0, ok: false, error: e.code });
      return undefined;
    } finally {
      for (let i = 0; i < items.length; i++) if (items[i]!.slot) items[i]!.slot!.inFlight = false;
      this.#inFlight -= items.length;
    }
  }

  /**
   * The items whose inputs can still be read: one whose caller transferred an input's buffer away after
   * `submit` (it was checked then) fails alone with `INVALID_INPUT`, instead of failing its whole batch or
   * running on what its place in the slab held before. Allocates only when an item is dropped.
   */
  #readable(items: WorkItem[]): WorkItem[] {
    let bad = -1;
    for (let i = 0; i < items.length && bad < 0; i++) if (unreadableTensor(items[i]!.inputs) !== undefined) bad = i;
    if (bad < 0) return items;
    const kept: WorkItem[] = items.slice(0, bad);
    for (let i = bad; i < items.length; i++) {
      const it = items[i]!;
      const name = unreadableTensor(it.inputs);
      if (name === undefined) kept.push(it);
      else {
        this.#c.counters.failed++;
        it.settle(unreadableTensorError(name, it.inputs[name]!));
      }
    }
    return kept;
  }
}
