import { EparaError } from '@epara/core';
import { onnxModelType } from './onnx-schema.js';
import type { OnnxModel } from './onnx-types.js';

/**
 * Reads ONNX model bytes into the plain {@link OnnxModel} object model. int64 fields are exact: numbers where
 * they fit in 2^53 (dims, versions, usual attributes), bigints beyond (an `int64_data` of 2^60 + 1, a
 * `value_int` attribute near 2^63, a `uint64_data` of 2^64 − 1), which {@link encodeModel} writes back as they are.
 *
 * @throws EparaError `INVALID_INPUT` when the bytes are not a decodable ONNX model (or have no graph).
 * @example
 * ```ts
 * const model = decodeModel(await readFile('model.onnx'));
 * console.log(model.graph?.node?.length);
 * ```
 */
export function decodeModel(bytes: Uint8Array): OnnxModel {
  if (!(bytes instanceof Uint8Array)) {
    throw new EparaError('INVALID_INPUT', 'decodeModel expects a Uint8Array of ONNX bytes', { type: typeof bytes });
  }
  const type = onnxModelType();
  let model: OnnxModel;
  try {
    // Longs as bigints (exact), then those that fit a number's 53 bits as numbers.
    model = narrowLongs(type.toObject(type.decode(bytes), { longs: BigInt, arrays: true })) as OnnxModel;
  } catch (err) {
    throw new EparaError('INVALID_INPUT', `not an ONNX model: ${(err as Error).message}`, {}, { cause: err });
  }
  if (model.graph === undefined) throw new EparaError('INVALID_INPUT', 'ONNX model has no graph', {});
  return model;
}

/**
 * Writes an {@link OnnxModel} as ONNX protobuf bytes that onnxruntime loads. int64 fields take numbers (whole,
 * within 2^53) or bigints (any 64-bit value); the object is not changed.
 *
 * @throws EparaError `INVALID_INPUT` when the object does not fit the schema.
 */
export function encodeModel(model: OnnxModel): Uint8Array {
  const type = onnxModelType();
  const wire = widenLongs(model) as OnnxModel;
  const problem = type.verify(wire);
  if (problem !== null) throw new EparaError('INVALID_INPUT', `invalid ONNX model object: ${problem}`, {});
  return type.encode(type.fromObject(wire)).finish();
}

/** Whether an array holds only values that need no conversion (weights: numbers, bytes, strings). */
function plainArray(a: readonly unknown[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (typeof v === 'bigint' || (typeof v === 'object' && v !== null && !ArrayBuffer.isView(v))) return false;
  }
  return true;
}

/** Decoded bigints within 2^53 as numbers, in place (the object is the decoder's own). */
function narrowLongs(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v;
  if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) return v;
  if (Array.isArray(v)) {
    if (!plainArray(v)) for (let i = 0; i < v.length; i++) v[i] = narrowLongs(v[i]);
    return v;
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) o[k] = narrowLongs(o[k]);
  return o;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A copy of `v` with every bigint as the `{ low, high }` bits protobufjs writes exactly (64-bit two's complement). */
function widenLongs(v: unknown): unknown {
  if (typeof v === 'bigint') return { low: Number(BigInt.asIntN(32, v)), high: Number(BigInt.asIntN(32, v >> 32n)) };
  if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) return v;
  if (Array.isArray(v)) return plainArray(v) ? v : v.map(widenLongs);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = widenLongs(x);
  return out;
}
