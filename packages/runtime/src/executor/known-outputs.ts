import type { NumericTensorType, TensorType } from '@epara/core';
import type { ModelIoInfo } from '../devices/device-port.js';
import type { KnownOutput } from '../devices/slab-outputs.js';
import type { BatchAxes } from '../tensors/stack.js';

/**
 * Per-item output bytes above which outputs are not written into the slab: each request's slice is copied
 * out of the slab on the host, which for a large output costs more than taking the backend's own buffer by
 * transfer (no copy) and handing out views of it.
 */
export const SLAB_OUTPUT_MAX_ITEM_BYTES = 64 * 1024;

const BYTES: Partial<Record<TensorType, number>> = { float32: 4, float64: 8, int32: 4, int64: 8, uint8: 1, bool: 1, int8: 1, float16: 2, int16: 2, uint16: 2, uint32: 4, uint64: 8 };

/**
 * The per-item shapes of the outputs a run fetches, when the model fixes every dim but the batch axis (and
 * the outputs are small enough to copy per request): what lets a device have them written into the batch's
 * slab. `undefined` when any fetched output's size depends on more than the batch.
 */
export function knownOutputs(outputs: readonly ModelIoInfo[], fetched: readonly string[] | undefined, axes: BatchAxes): KnownOutput[] | undefined {
  const names = fetched ?? outputs.map((o) => o.name);
  const known: KnownOutput[] = [];
  let itemBytes = 0;
  for (const name of names) {
    const info = outputs.find((o) => o.name === name);
    const bytes = info === undefined ? undefined : BYTES[info.type];
    // A string output has no fixed size: it comes back as the backend's own array; nor has one of open rank.
    if (info === undefined || bytes === undefined || info.anyRank === true) return undefined;
    // As splitTensors reads them: unlisted outputs batch on axis 0, scalars go whole to every item.
    const axis = info.dims.length === 0 ? null : Object.hasOwn(axes, name) ? axes[name]! : 0;
    const dims: number[] = [];
    for (const [i, d] of info.dims.entries()) {
      if (i === axis) {
        if (typeof d === 'number' && d !== 1 && d >= 0) return undefined; // a fixed batch dim other than 1
        dims.push(1);
      } else if (typeof d === 'number' && Number.isInteger(d) && d >= 0) dims.push(d);
      else return undefined; // a free dim besides the batch: the size is only known after the run
    }
    if (axis !== null && axis >= info.dims.length) return undefined;
    itemBytes += dims.reduce((a, b) => a * b, 1) * bytes;
    known.push({ name, type: info.type as NumericTensorType, dims: Object.freeze(dims), axis });
  }
  return itemBytes <= SLAB_OUTPUT_MAX_ITEM_BYTES ? known : undefined;
}
