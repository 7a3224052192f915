import { EparaError, type TensorType } from '@epara/core';
import { ONNX_DATA_TYPE, type OnnxTensor } from './onnx-types.js';

/** Element types the graph builder writes (every type EPARA carries), with their ONNX codes. */
export type BuilderElemType = TensorType;

/**
 * Data accepted for a constant tensor: a typed array, numbers (converted to the element type; a `float16`
 * array holds the halves' bits), bigints for the 64-bit integer types, or strings for `string`.
 */
export type ConstantData =
  | Float32Array
  | Float64Array
  | Int32Array
  | BigInt64Array
  | BigUint64Array
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | readonly number[]
  | readonly bigint[]
  | readonly string[];

/** ONNX element type code of a tensor type. */
export function onnxElemType(type: TensorType): number {
  const code = (ONNX_DATA_TYPE as Record<string, number>)[type];
  if (code === undefined) throw new EparaError('INVALID_INPUT', `unsupported tensor type ${type}`, { type });
  return code;
}

/**
 * A constant tensor with its data as little-endian `raw_data` (a `string` tensor's as `string_data`).
 *
 * @throws EparaError `INVALID_INPUT` when the data length does not match the dims.
 */
export function constantTensor(name: string, type: BuilderElemType, dims: readonly number[], data: ConstantData): OnnxTensor {
  const count = dims.reduce((a, b) => a * b, 1);
  if (data.length !== count) {
    throw new EparaError('INVALID_INPUT', `tensor ${name}: ${data.length} values for dims [${dims.join(',')}]`, { name });
  }
  if (type === 'string') {
    const encoder = new TextEncoder();
    return { name, dims: [...dims], dataType: onnxElemType(type), stringData: Array.from(data as ArrayLike<unknown>, (s) => encoder.encode(String(s))) };
  }
  const typed = toTyped(type, data);
  const rawData = new Uint8Array(typed.buffer.slice(typed.byteOffset, typed.byteOffset + typed.byteLength));
  return { name, dims: [...dims], dataType: onnxElemType(type), rawData };
}

type Typed = ArrayBufferView & { length: number };

function toTyped(type: Exclude<BuilderElemType, 'string'>, data: ConstantData): Typed {
  const nums = (): number[] => Array.from(data as ArrayLike<number | bigint>, Number);
  const bigs = (): bigint[] => Array.from(data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? v : BigInt(Math.trunc(v))));
  switch (type) {
    case 'float32':
      return data instanceof Float32Array ? data : Float32Array.from(nums());
    case 'float64':
      return data instanceof Float64Array ? data : Float64Array.from(nums());
    case 'int32':
      return data instanceof Int32Array ? data : Int32Array.from(nums());
    case 'int64':
      return data instanceof BigInt64Array ? data : BigInt64Array.from(bigs());
    case 'uint64':
      return data instanceof BigUint64Array ? data : BigUint64Array.from(bigs());
    case 'uint8':
    case 'bool':
      return data instanceof Uint8Array ? data : Uint8Array.from(nums());
    case 'int8':
      return data instanceof Int8Array ? data : Int8Array.from(nums());
    case 'float16':
    case 'uint16':
      return data instanceof Uint16Array ? data : Uint16Array.from(nums());
    case 'int16':
      return data instanceof Int16Array ? data : Int16Array.from(nums());
    case 'uint32':
      return data instanceof Uint32Array ? data : Uint32Array.from(nums());
  }
}
