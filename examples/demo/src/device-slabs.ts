import { FRAME_SIDE, IMAGE_SIDE } from './catalog.js';
import { PROFILED_BATCHES } from './profiles.js';

/*
 * The input slabs of an EPARA node's device. The executor stacks a batch into one of its device's reusable slabs
 * and lends it to the device's thread, which hands it back with the answer; each slab coming back raises V8's
 * external memory by the slab's whole size, and the node's garbage collector runs full collections for it. With
 * the runtime's default (8 MiB) the demo's EPARA nodes ran 2-8x the baseline's full collections per item and
 * 7.6 MB came back with every answer of their devices; a slab the size of the largest batch the demo runs keeps
 * the batches in slabs at a quarter of that (docs/demo.md, section 10).
 */

/** Bytes of one input slab of an EPARA node's device (`inputSlabBytes`). */
export const DEVICE_INPUT_SLAB_BYTES = 2 * 1024 * 1024;

/** Bytes of a batch of `n` detector items of `side` pixels: the inputs (f32[n,3,s,s]) and the outputs (f32[n,1,s,s]). */
export function detectorBatchBytes(side: number, n: number): number {
  return n * (3 + 1) * side * side * 4;
}

/** The largest batch the demo's detector services run, inputs and outputs, bytes: the largest of the slab's tenants. */
export function largestDetectorBatchBytes(): number {
  return Math.max(detectorBatchBytes(IMAGE_SIDE, Math.max(...PROFILED_BATCHES.image)), detectorBatchBytes(FRAME_SIDE, Math.max(...PROFILED_BATCHES.video)));
}
