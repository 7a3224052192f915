import type { NamedTensors, TensorLike } from '@epara/core';
import type { ItemDone, WorkItem } from '../batching/work-item.js';
import type { DeviceHandle, ListeningDevice, RunListener, TimedRun } from '../devices/device-port.js';
import { splitTensors, stackTensors } from '../tensors/stack.js';
import type { LoadedInstance } from './instance-loading.js';
import { cloneTensors } from './model-inputs.js';
import { Lease } from '../batching/input-lease.js';
import { LeaseRing } from './lease-ring.js';

/** How a batch's outputs reach its items. */
export interface BatchDelivery {
  /** The run's batch, shared by its items' results. */
  readonly batch: ItemDone;
  /** State input → state output of a stateful service (empty for a stateless one). */
  readonly stateMap: Readonly<Record<string, string>>;
  /** The outputs a caller sees, when the run's answer may hold others. */
  readonly filter: readonly string[] | undefined;
}

/**
 * Settles each item with its part of the outputs: a stream frame's slot takes the new recurrent state, and
 * the caller sees only the outputs it asked for.
 */
export function deliverOutputs(items: readonly WorkItem[], parts: readonly NamedTensors[], d: BatchDelivery): void {
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    const outputs = parts[i]!;
    if (it.slot) {
      const next: Record<string, TensorLike> = {};
      for (const [input, output] of Object.entries(d.stateMap)) next[input] = outputs[output]!;
      it.slot.state = next;
    }
    let visible: NamedTensors = outputs;
    if (d.filter) {
      const filtered: Record<string, TensorLike> = {};
      for (const name of d.filter) if (outputs[name]) filtered[name] = outputs[name];
      visible = filtered;
    }
    it.settle(undefined, visible, d.batch);
  }
}

/**
 * Sends `items` as one batch of model `key` to `device`: from the lease slab its first item's input was written
 * into, when the batch can run from there (`items` is then reordered to the slab's slot order); else stacked
 * once, into the device's input slab where it has one. The outcome goes to `listener` — straight from the
 * worker's answer on a device made by `createDevice` (no promise per batch), through the device's promise on
 * any other.
 */
export function startRun(device: DeviceHandle, key: string, items: WorkItem[], loaded: LoadedInstance, listener: RunListener): void {
  const { io, runOptions } = loaded;
  const listening = isListening(device) ? device : undefined;
  if (device.runStaged !== undefined) {
    const ring = leaseRingOf(items[0]!.inputs);
    const staged = ring?.stage(key, items, io.inputAxes, runOptions.knownOutputs);
    if (staged !== undefined) {
      if (listening !== undefined) return listening.runStagedTo(key, staged, runOptions, listener);
      return void device.runStaged(key, staged, runOptions).then(listener.onRun, listener.onFail);
    }
  }
  // A stream's state is cloned: the copy path transfers (detaches) a lone item's buffers.
  const perItem: NamedTensors[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    perItem[i] = it.slot ? { ...it.inputs, ...cloneTensors(it.slot.state) } : it.inputs;
  }
  // A lone request of an instance that never stacks: its outputs' sizes are known when it has size 1 on its batch axes.
  // A request of several rows taken whole runs alone: its outputs' sizes are not known.
  const lone = perItem.length === 1;
  const options =
    loaded.unitRunOptions !== undefined && lone && isUnit(perItem[0]!, io.inputAxes) ? loaded.unitRunOptions
    : loaded.wholeRequests !== undefined && lone && !isUnit(perItem[0]!, io.inputAxes) ? loaded.wholeRequests.runOptions
    : runOptions;
  if (listening !== undefined) return listening.runBatchTo(key, perItem, io.inputAxes, options, listener);
  const run = device.runBatch ? device.runBatch(key, perItem, io.inputAxes, options) : device.runTimed(key, stackTensors(perItem, io.inputAxes), options);
  void run.then(listener.onRun, listener.onFail);
}

/** Whether every batched tensor of `inputs` has size 1 on its batch axis (allocates nothing: it runs per request). */
export function isUnit(inputs: NamedTensors, axes: Readonly<Record<string, number | null>>): boolean {
  for (const name in inputs) {
    const axis = axes[name];
    if (axis === null) continue;
    if (inputs[name]!.dims[axis ?? 0] !== 1) return false;
  }
  return true;
}

function isListening(device: DeviceHandle): device is DeviceHandle & ListeningDevice {
  const d = device as DeviceHandle & Partial<ListeningDevice>;
  return typeof d.runBatchTo === 'function' && typeof d.runStagedTo === 'function';
}

/** A finished run's outputs, one part per item. */
export function splitRun(run: TimedRun, count: number, loaded: LoadedInstance): readonly NamedTensors[] {
  // Outputs that came back in the slab are already split (each request's a copy of its slice); a single
  // item's outputs are its solo result as they are: no batch axis to look for.
  return run.items ?? (count === 1 ? [run.outputs] : splitTensors(run.outputs, count, loaded.io.outputAxes));
}

/**
 * The outputs the callers of a finished run see, when its answer may hold more: the slab's items hold exactly
 * the fetched outputs, so they are filtered only when state outputs ride along.
 */
export function outputFilter(run: TimedRun, loaded: LoadedInstance): readonly string[] | undefined {
  const names = loaded.io.outputNames;
  return names !== undefined && (loaded.hidesOutputs || run.items === undefined) ? names : undefined;
}

/** The lease ring of the first leased input among `inputs` that lies in a slab. */
function leaseRingOf(inputs: NamedTensors): LeaseRing | undefined {
  for (const name in inputs) {
    const t = inputs[name];
    if (t instanceof Lease && t.ring instanceof LeaseRing) return t.ring;
  }
  return undefined;
}
