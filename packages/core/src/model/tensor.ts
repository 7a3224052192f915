/**
 * Element types a tensor may carry across EPARA: every numeric and boolean type onnxruntime-node runs, and
 * `string` (ONNX's string tensor, Triton's `BYTES`), whose data is an array of JavaScript strings. ONNX's
 * `bfloat16` and complex types are not carried.
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
  | 'uint64'
  | 'string';

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
 * The data of a `string` tensor: one JavaScript string per element, row-major (onnxruntime-node takes and
 * returns `string[]`). Each crosses the network as its UTF-8 bytes, so a string that is not valid UTF-16
 * (a lone surrogate) arrives with U+FFFD in its place.
 */
export type StringTensorData = readonly string[];

/**
 * A plain tensor: element type, dimensions and a typed array in row-major order. It deliberately does not
 * depend on onnxruntime so that core and mesh can carry tensors; the runtime converts at its boundary.
 */
export interface TensorLike {
  readonly type: TensorType;
  readonly dims: readonly number[];
  readonly data: TensorDataArray | StringTensorData;
}

/** Inputs or outputs of one inference, by tensor name. */
export type NamedTensors = Readonly<Record<string, TensorLike>>;

/** The tensor types of fixed-size elements: every type but `string`. */
export type NumericTensorType = Exclude<TensorType, 'string'>;

/** Whether a tensor is a `string` tensor (its data an array of strings rather than a typed array). */
export function isStringTensor(t: TensorLike): t is TensorLike & { readonly type: 'string'; readonly data: StringTensorData } {
  return t.type === 'string';
}

/** The UTF-8 length of a string, in bytes (a lone surrogate counts as U+FFFD, three bytes, as encoders write it). */
export function utf8ByteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Bytes per element for each {@link TensorType} of fixed-size elements (a `string` element has no fixed size). */
export const TENSOR_ELEMENT_BYTES: Readonly<Record<NumericTensorType, number>> = {
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

/**
 * Payload bytes of one tensor: its typed array's bytes, or for a `string` tensor each element's UTF-8 bytes
 * plus its 4-byte length prefix (as the mesh wire carries it).
 */
export function tensorByteLength(t: TensorLike): number {
  if (!isStringTensor(t)) return (t.data as TensorDataArray).byteLength;
  let n = 0;
  for (const s of t.data) n += 4 + utf8ByteLength(s);
  return n;
}

/** Total payload bytes of a set of tensors (what crosses the network). */
export function tensorsByteLength(tensors: NamedTensors): number {
  let n = 0;
  for (const t of Object.values(tensors)) n += tensorByteLength(t);
  return n;
}
