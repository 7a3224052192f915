import { EparaError } from '@epara/core';
import { onnxModelType } from './onnx-schema.js';
import type { OnnxModel } from './onnx-types.js';

/**
 * Reads ONNX model bytes into the plain {@link OnnxModel} object model (int64 fields become numbers).
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
    model = type.toObject(type.decode(bytes), { longs: Number, arrays: true }) as OnnxModel;
  } catch (err) {
    throw new EparaError('INVALID_INPUT', `not an ONNX model: ${(err as Error).message}`, {}, { cause: err });
  }
  if (model.graph === undefined) throw new EparaError('INVALID_INPUT', 'ONNX model has no graph', {});
  return model;
}

/**
 * Writes an {@link OnnxModel} as ONNX protobuf bytes that onnxruntime loads.
 *
 * @throws EparaError `INVALID_INPUT` when the object does not fit the schema.
 */
export function encodeModel(model: OnnxModel): Uint8Array {
  const type = onnxModelType();
  const problem = type.verify(model);
  if (problem !== null) throw new EparaError('INVALID_INPUT', `invalid ONNX model object: ${problem}`, {});
  return type.encode(type.fromObject(model)).finish();
}
