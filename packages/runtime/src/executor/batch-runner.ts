import { toEparaError, type Clock, type EparaError, type NamedTensors } from '@epara/core';
import type { ItemDone, WorkItem } from '../batching/work-item.js';
import type { BatchDone } from '../batching/lane.js';
import type { DeviceHandle, RunListener, TimedRun } from '../devices/device-port.js';
import { deliverOutputs, outputFilter, splitRun, startRun, type BatchDelivery } from './batch-outputs.js';
import type { Emit, InstanceCounters } from './instance-context.js';
import type { LoadedInstance } from './instance-loading.js';
import { unreadableTensor, unreadableTensorError } from '../tensors/readable-data.js';
import { Lease } from '../batching/input-lease.js';
import { LeaseRing } from './lease-ring.js';
import { FreeList } from './free-list.js';
import { markStage, STAGE_PLANNED } from '../observability/stage-marks.js';

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
 * One batch on its way through the device, and the listener of its run: the records are reused (a runner keeps
 * the finished ones), and their two callbacks are made once per record. A batch costs no async frame, closure,
 * promise or reaction of its own: the device's answer reaches the record from the worker's message.
 */
class BatchRun implements RunListener {
  items: WorkItem[] = NO_ITEMS;
  device: DeviceHandle | undefined = undefined;
  startedAt = 0;
  done: BatchDone | undefined = undefined;
  loaded: LoadedInstance | undefined = undefined;
  readonly onRun: (run: TimedRun) => void;
  readonly onFail: (err: EparaError) => void;

  constructor(runner: BatchRunner) {
    this.onRun = (run) => runner.completed(this, run);
    this.onFail = (err) => runner.runFailed(this, err);
  }
}

const NO_ITEMS: WorkItem[] = [];
const NO_STATE: BatchDelivery['stateMap'] = Object.freeze({});
/** Records kept for reuse, at most (a device holds two batches at once; a few devices share an instance). */
const MAX_FREE_RUNS = 8;

/**
 * Runs an instance's batches on its devices: counts them, marks stream slots in flight, splits the outputs
 * back to the items and settles each (every item settles, with a `MODEL_ERROR` when the run fails), emits
 * `batchCompleted`, and tells the scheduler the batch ended.
 */
export class BatchRunner {
  readonly #c: BatchRunnerContext;
  readonly #free = new FreeList<BatchRun>(MAX_FREE_RUNS);
  #inFlight = 0;
  /**
   * The batch its items settle with and how its outputs reach them, refilled per batch: the settlements read them
   * at once (the `requestCompleted` event copies the batch's fields). A settlement whose listener ends another
   * batch of this runner meanwhile gets fresh ones.
   */
  readonly #done: { -readonly [K in keyof ItemDone]: ItemDone[K] } = { startedAt: 0, finishedAt: 0, batchSize: 0, deviceId: '' };
  readonly #delivery: { -readonly [K in keyof BatchDelivery]: BatchDelivery[K] } = { batch: this.#done, stateMap: {}, filter: undefined };
  #delivering = false;

  constructor(c: BatchRunnerContext) {
    this.#c = c;
  }

  /** Items running now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Runs `items` as one batch; `done` hears its compute time inside the worker (undefined on failure). */
  run(batch: WorkItem[], device: DeviceHandle, startedAt: number, done: BatchDone): void {
    markStage(STAGE_PLANNED);
    const c = this.#c;
    const items = this.#readable(batch);
    if (items.length === 0) return done.batchEnded(undefined);
    this.#inFlight += items.length;
    c.counters.batches++;
    c.counters.batchedItems += items.length;
    for (let i = 0; i < items.length; i++) if (items[i]!.slot) items[i]!.slot!.inFlight = true;
    const r = this.#free.take() ?? new BatchRun(this);
    r.items = items;
    r.device = device;
    r.startedAt = startedAt;
    r.done = done;
    try {
      r.loaded = c.loaded();
    } catch (err) {
      return this.failed(r, err);
    }
    // The record hears the answer itself (no promise per batch); a failure before sending reaches it at once.
    try {
      startRun(device, c.instanceId, items, r.loaded, r);
    } catch (err) {
      // Thrown before the device took the batch (stacking a stream's state, a lease ring's staging).
      if (r.items === items) this.failed(r, err);
    }
  }

  /** The device answered `r`'s run: its items get their outputs. */
  completed(r: BatchRun, run: TimedRun): void {
    const c = this.#c;
    const { items, device, startedAt, loaded } = r;
    let runMs: number;
    let parts: readonly NamedTensors[];
    try {
      parts = splitRun(run, items.length, loaded!);
    } catch (err) {
      // The batch ran but its answer does not split into its items (an output whose first dim is not the batch's
      // after all: a constant `[1, 4]` under `batchable: true`): each item runs again alone, as after a failed run.
      const e = toEparaError(err, 'MODEL_ERROR');
      return items.length > 1 && e.code === 'MODEL_ERROR' ? this.#runAlone(r, e) : this.failed(r, e);
    }
    try {
      runMs = run.runMs;
      const finishedAt = c.clock.now();
      c.counters.completed += items.length;
      this.#deliver(items, parts, startedAt, finishedAt, device!.id, loaded!.io.stateMap, outputFilter(run, loaded!));
      if (c.listening('batchCompleted')) c.emit('batchCompleted', { instanceId: c.instanceId, serviceId: c.serviceId, deviceId: device!.id, size: items.length, durationMs: finishedAt - startedAt, runMs, ok: true });
    } catch (err) {
      return this.failed(r, err);
    }
    this.#ended(r, runMs);
  }

  /** Settles `items` with their `parts` of the batch's outputs (through the reused delivery unless it is in use). */
  #deliver(items: readonly WorkItem[], parts: readonly NamedTensors[], startedAt: number, finishedAt: number, deviceId: string, stateMap: BatchDelivery['stateMap'], filter: BatchDelivery['filter']): void {
    if (this.#delivering) return deliverOutputs(items, parts, { batch: { startedAt, finishedAt, batchSize: items.length, deviceId }, stateMap, filter });
    const done = this.#done;
    done.startedAt = startedAt;
    done.finishedAt = finishedAt;
    done.batchSize = items.length;
    done.deviceId = deviceId;
    const d = this.#delivery;
    d.stateMap = stateMap;
    d.filter = filter;
    this.#delivering = true;
    try {
      deliverOutputs(items, parts, d);
    } finally {
      this.#delivering = false;
      d.stateMap = NO_STATE;
      d.filter = undefined;
    }
  }

  /**
   * The device answered `r`'s run with an error. A model that fails on some requests' values (an index out of
   * range, a shape it refuses) fails the whole batch they are in: a batch of several that failed with
   * `MODEL_ERROR` runs again one item at a time, so that only those requests fail, each with its own error, and
   * the others get their answers. Other errors (a crash, a closed device) fail every item at once.
   */
  runFailed(r: BatchRun, err: EparaError): void {
    if (r.items.length > 1 && err.code === 'MODEL_ERROR') this.#runAlone(r, err);
    else this.failed(r, err);
  }

  /** Runs each item of the failed batch `r` alone on its device, then ends the batch for the scheduler. */
  #runAlone(r: BatchRun, err: EparaError): void {
    const c = this.#c;
    const { items, device, startedAt, done } = r;
    if (c.listening('batchCompleted')) c.emit('batchCompleted', { instanceId: c.instanceId, serviceId: c.serviceId, deviceId: device!.id, size: items.length, durationMs: c.clock.now() - startedAt, runMs: 0, ok: false, error: err.code });
    // The record is free; each item is counted again as it runs alone (its stream slot stays in flight).
    this.#inFlight -= items.length;
    r.items = NO_ITEMS;
    r.device = r.done = r.loaded = undefined;
    this.#free.put(r);
    for (let k = 0; k < items.length; k++) refreshLeases(items[k]!.inputs);
    let i = 0;
    const next: BatchDone = {
      batchEnded: () => {
        if (++i < items.length) this.run([items[i]!], device!, startedAt, next);
        else done!.batchEnded(undefined);
      },
    };
    this.run([items[0]!], device!, startedAt, next);
  }

  /** `r`'s run failed (or its outputs could not be delivered): every item not settled yet fails with it. */
  failed(r: BatchRun, err: unknown): void {
    const c = this.#c;
    const { items, device, startedAt } = r;
    try {
      const e = toEparaError(err, 'MODEL_ERROR');
      c.counters.failed += items.length;
      for (let i = 0; i < items.length; i++) items[i]!.settle(e);
      const durationMs = c.clock.now() - startedAt;
      if (c.listening('batchCompleted')) c.emit('batchCompleted', { instanceId: c.instanceId, serviceId: c.serviceId, deviceId: device!.id, size: items.length, durationMs, runMs: 0, ok: false, error: e.code });
    } finally {
      this.#ended(r, undefined);
    }
  }

  /** The batch is over: its slots and record are free, and the scheduler hears of it. */
  #ended(r: BatchRun, runMs: number | undefined): void {
    const { items, done } = r;
    for (let i = 0; i < items.length; i++) if (items[i]!.slot) items[i]!.slot!.inFlight = false;
    this.#inFlight -= items.length;
    r.items = NO_ITEMS;
    r.device = r.done = r.loaded = undefined;
    this.#free.put(r);
    done!.batchEnded(runMs);
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

/** The leases among `inputs` whose batch ran from their slab see it again (it came back as a new buffer). */
function refreshLeases(inputs: NamedTensors): void {
  for (const name in inputs) {
    const t = inputs[name];
    if (t instanceof Lease && t.ring instanceof LeaseRing) t.ring.refresh(t);
  }
}
