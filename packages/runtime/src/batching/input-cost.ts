import { EparaError, TENSOR_ELEMENT_BYTES, type NamedTensors } from '@epara/core';
import { tensorByteLength } from '@epara/core/internal';
import type { IoSpec } from '../executor/io-spec.js';

/** Default per-request input cap of a service, bytes (128 MiB). */
export const DEFAULT_MAX_REQUEST_BYTES = 128 * 1024 * 1024;

const profiled = new WeakMap<IoSpec, number | null>();

/**
 * Bytes of the item the latency profile stands for: the service's `sampleInputs` (what the profiler ran),
 * else one item of the model's fixed input shapes; `undefined` when the model has free dims and no sample
 * was given (then only the byte cap protects the device). Cached per instance interface.
 */
export function profiledItemBytes(io: IoSpec, sampleInputs: NamedTensors | undefined): number | undefined {
  let bytes = profiled.get(io);
  if (bytes === undefined) {
    bytes = null;
    let total = 0;
    let known = true;
    for (const s of io.inputs) {
      const t = sampleInputs?.[s.name];
      if (t) total += tensorByteLength(t);
      else if (s.type !== 'string' && s.dims.every((d) => d !== null)) total += (s.dims as number[]).reduce((a, d) => a * d, 1) * TENSOR_ELEMENT_BYTES[s.type];
      else known = false;
    }
    if (known && total > 0) bytes = total;
    profiled.set(io, bytes);
  }
  return bytes ?? undefined;
}

/**
 * Checks one request's input size against the service's cap and returns its cost scale: its bytes over the
 * profiled item's, at least 1 (a larger input runs longer; a smaller one is not assumed to run faster).
 *
 * @throws EparaError `INVALID_INPUT` when the inputs exceed `maxRequestBytes` (details: `bytes`, `maxRequestBytes`).
 */
export function inputCostScale(o: { serviceId: string; io: IoSpec; inputs: NamedTensors; sampleInputs: NamedTensors | undefined; maxRequestBytes: number }): number {
  // The caller's inputs only: recurrent state is not part of the request's size.
  let bytes = 0;
  const specs = o.io.inputs;
  for (let i = 0; i < specs.length; i++) {
    const t = o.inputs[specs[i]!.name];
    if (t !== undefined) bytes += tensorByteLength(t);
  }
  if (bytes > o.maxRequestBytes) {
    throw new EparaError('INVALID_INPUT', `${o.serviceId}: request inputs are ${bytes} bytes, above the service's maxRequestBytes (${o.maxRequestBytes})`, {
      serviceId: o.serviceId,
      bytes,
      maxRequestBytes: o.maxRequestBytes,
    });
  }
  const ref = profiledItemBytes(o.io, o.sampleInputs);
  return ref === undefined ? 1 : Math.max(1, bytes / ref);
}
