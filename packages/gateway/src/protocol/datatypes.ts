import type { NumericTensorType, TensorDataArray, TensorType } from '@epara/core';
import { decodeStringElements } from '@epara/core/internal';

/** Open Inference Protocol tensor data types (the strings on the wire). */
export type OipDatatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

/** The protocol's data type for each EPARA tensor type (the types EPARA's executor carries). */
export const DATATYPE_OF: Readonly<Record<TensorType, OipDatatype>> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  int8: 'INT8',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  int16: 'INT16',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  string: 'BYTES',
};

const TYPE_OF: Readonly<Record<string, TensorType>> = Object.fromEntries(
  Object.entries(DATATYPE_OF).map(([type, datatype]) => [datatype, type as TensorType]),
);

const ALL: ReadonlySet<string> = new Set(['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES']);

/** True for a data type string the protocol defines (supported by EPARA or not). */
export function isOipDatatype(value: unknown): value is OipDatatype {
  return typeof value === 'string' && ALL.has(value);
}

/** EPARA's tensor type for a protocol data type (`string` for BYTES), or `undefined` for a string that is none. */
export function tensorTypeOf(datatype: string): TensorType | undefined {
  return TYPE_OF[datatype];
}

/** Allocates the typed array backing `type` over a copy of `bytes` (little-endian, as the protocol's raw form). */
export function typedArrayFromBytes(type: NumericTensorType, bytes: Uint8Array): TensorDataArray {
  // A fresh, aligned buffer: slices of a request body may start at any offset.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  const b = copy.buffer;
  switch (type) {
    case 'float32':
      return new Float32Array(b);
    case 'float64':
      return new Float64Array(b);
    case 'int32':
      return new Int32Array(b);
    case 'int64':
      return new BigInt64Array(b);
    case 'float16':
    case 'uint16':
      return new Uint16Array(b);
    case 'int16':
      return new Int16Array(b);
    case 'uint32':
      return new Uint32Array(b);
    case 'uint64':
      return new BigUint64Array(b);
    case 'int8':
      return new Int8Array(b);
    case 'uint8':
    case 'bool':
      return copy;
  }
}

/** Allocates an empty typed array of `type` with `length` elements. */
export function allocTyped(type: NumericTensorType, length: number): TensorDataArray {
  switch (type) {
    case 'float32':
      return new Float32Array(length);
    case 'float64':
      return new Float64Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'int64':
      return new BigInt64Array(length);
    case 'float16':
    case 'uint16':
      return new Uint16Array(length);
    case 'int16':
      return new Int16Array(length);
    case 'uint32':
      return new Uint32Array(length);
    case 'uint64':
      return new BigUint64Array(length);
    case 'int8':
      return new Int8Array(length);
    case 'uint8':
    case 'bool':
      return new Uint8Array(length);
  }
}

/** The bytes of a typed array as a view (no copy). */
export function bytesOf(data: TensorDataArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads `count` BYTES elements from their raw form (each a 4-byte little-endian length, then its bytes), each as
 * UTF-8 text.
 * @returns the strings, or why the bytes are not `count` such elements.
 */
export function stringsFromBytes(raw: Uint8Array, count: number): string[] | string {
  const read = decodeStringElements(raw, count);
  if (Array.isArray(read)) return read;
  switch (read.fault) {
    case 'no-length':
      return `element ${read.index} of ${count} has no room for its 4-byte length (${read.left} bytes left)`;
    case 'overrun':
      return `element ${read.index}'s length prefix says ${read.length} bytes, only ${read.left} are left`;
    case 'not-utf8':
      return `element ${read.index} is not UTF-8 text (EPARA carries BYTES as strings)`;
    case 'leftover':
      return `${count} elements use ${read.used} bytes, the data has ${raw.byteLength}`;
  }
}

/** `bytes` as UTF-8 text, or `undefined` when they are not valid UTF-8. */
export function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return undefined;
  }
}
