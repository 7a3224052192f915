import type { NamedTensors, TensorLike } from '@epara/core';
import type { ItemDone, WorkItem } from '../batching/work-item.js';
import type { DeviceHandle } from '../devices/device-port.js';
import { splitTensors, stackTensors } from '../tensors/stack.js';
import type { LoadedInstance } from './instance-loading.js';
import { cloneTensors } from './model-inputs.js';

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

/** A batch's outputs, one part per item, and the outputs its callers see. */
export interface SplitRun {
  readonly parts: readonly NamedTensors[];
  /** Compute time inside the worker, ms. */
  readonly runMs: number;
  readonly filter: readonly string[] | undefined;
}

/** Runs `items` as one batch of model `key` on `device` and splits the outputs per item. */
export async function runAndSplit(device: DeviceHandle, key: string, items: readonly WorkItem[], loaded: LoadedInstance): Promise<SplitRun> {
  const { io, runOptions, hidesOutputs } = loaded;
  // A stream's state is cloned: the copy path transfers (detaches) a lone item's buffers.
  const perItem = items.map((it) => (it.slot ? { ...it.inputs, ...cloneTensors(it.slot.state) } : it.inputs));
  // Stacked once, in place, into the device's input slab where it has one.
  const { outputs, runMs, items: fromSlab } = device.runBatch
    ? await device.runBatch(key, perItem, io.inputAxes, runOptions)
    : await device.runTimed(key, stackTensors(perItem, io.inputAxes), runOptions);
  // A single item's outputs are its solo result as they are: no batch axis to look for.
  // Outputs that came back in the slab are already split (each request's a copy of its slice).
  const parts = fromSlab ?? (items.length === 1 ? [outputs] : splitTensors(outputs, items.length, io.outputAxes));
  // The slab's items hold exactly the fetched outputs: filter only when state outputs ride along, or when
  // the device's answer may hold more than was asked for.
  const filter = io.outputNames !== undefined && (hidesOutputs || fromSlab === undefined) ? io.outputNames : undefined;
  return { parts, runMs, filter };
}
