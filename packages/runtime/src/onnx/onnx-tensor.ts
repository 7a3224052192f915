import { EparaError, type TensorType } from '@epara/core';
import { ONNX_DATA_TYPE, type OnnxTensor } from './onnx-types.js';

/** Element types the graph builder writes, with their ONNX codes. */
export type BuilderElemType = Extract<TensorType, 'float32' | 'int64' | 'int32' | 'bool' | 'uint8' | 'int8' | 'float64'>;

/** Data accepted for a constant tensor: a typed array, or numbers (converted to the element type). */
export type ConstantData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | readonly number[];

/** ONNX element type code of a tensor type. */
export function onnxElemType(type: TensorType): number {
  const code = (ONNX_DATA_TYPE as Record<string, number>)[type];
  if (code === undefined) throw new EparaError('INVALID_INPUT', `unsupported tensor type ${type}`, { type });
  return code;
}

/**
 * A constant tensor with its data as little-endian `raw_data`.
 *
 * @throws EparaError `INVALID_INPUT` when the data length does not match the dims.
 */
export function constantTensor(name: string, type: BuilderElemType, dims: readonly number[], data: ConstantData): OnnxTensor {
  const count = dims.reduce((a, b) => a * b, 1);
  if (data.length !== count) {
    throw new EparaError('INVALID_INPUT', `tensor ${name}: ${data.length} values for dims [${dims.join(',')}]`, { name });
  }
  const typed = toTyped(type, data);
  const rawData = new Uint8Array(typed.buffer.slice(typed.byteOffset, typed.byteOffset + typed.byteLength));
  return { name, dims: [...dims], dataType: onnxElemType(type), rawData };
}

function toTyped(type: BuilderElemType, data: ConstantData): ArrayBufferView & { length: number } {
  const nums = (): number[] => Array.from(data as ArrayLike<number | bigint>, Number);
  switch (type) {
    case 'float32':
      return data instanceof Float32Array ? data : Float32Array.from(nums());
    case 'float64':
      return data instanceof Float64Array ? data : Float64Array.from(nums());
    case 'int32':
      return data instanceof Int32Array ? data : Int32Array.from(nums());
    case 'int64':
      return data instanceof BigInt64Array ? data : BigInt64Array.from(nums(), (v) => BigInt(Math.trunc(v)));
    case 'uint8':
    case 'bool':
      return data instanceof Uint8Array ? data : Uint8Array.from(nums());
    case 'int8':
      return data instanceof Int8Array ? data : Int8Array.from(nums());
  }
}
