/**
 * Element types a tensor may carry across EPARA: every numeric and boolean type onnxruntime-node runs (ONNX's
 * `string`, `bfloat16` and complex types are not carried).
 */
export type TensorType =
  | 'float32'
  | 'float64'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'int8'
  | 'bool'
  | 'float16'
  | 'int16'
  | 'uint16'
  | 'uint32'
  | 'uint64';

/** The typed array that backs each {@link TensorType}. */
export type TensorDataArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | BigUint64Array;

/**
 * A plain tensor: element type, dimensions and a typed array in row-major order. It deliberately does not
 * depend on onnxruntime so that core and mesh can carry tensors; the runtime converts at its boundary.
 */
export interface TensorLike {
  readonly type: TensorType;
  readonly dims: readonly number[];
  readonly data: TensorDataArray;
}

/** Inputs or outputs of one inference, by tensor name. */
export type NamedTensors = Readonly<Record<string, TensorLike>>;

/** Bytes per element for each {@link TensorType}. */
export const TENSOR_ELEMENT_BYTES: Readonly<Record<TensorType, number>> = {
  float32: 4,
  float64: 8,
  int32: 4,
  int64: 8,
  uint8: 1,
  int8: 1,
  bool: 1,
  float16: 2,
  int16: 2,
  uint16: 2,
  uint32: 4,
  uint64: 8,
};

/** Total payload bytes of a set of tensors (what crosses the network). */
export function tensorsByteLength(tensors: NamedTensors): number {
  let n = 0;
  for (const t of Object.values(tensors)) n += t.data.byteLength;
  return n;
}
