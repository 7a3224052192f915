import { EparaError, TENSOR_ELEMENT_BYTES } from '@epara/core';
import type { NamedTensors, NumericTensorType, TensorDataArray, TensorLike, TensorType } from '@epara/core';
import { decodeStringElements, encodeStringElements } from '@epara/core/internal';
import type { ByteReader } from './byte-reader.js';
import { protocolError } from './byte-reader.js';
import type { ByteWriter } from './byte-writer.js';
import type { ResolvedProtocolLimits } from './protocol-limits.js';

/**
 * Wire codes of tensor element types (stable across versions: append only). A `string` tensor's bytes are its
 * elements in order, each a 4-byte little-endian length then that many UTF-8 bytes; a peer that predates code
 * 13 rejects it as an unknown dtype (`PROTOCOL_ERROR`).
 */
export const DTYPE_CODES: Readonly<Record<TensorType, number>> = {
  float32: 1,
  float64: 2,
  int32: 3,
  int64: 4,
  uint8: 5,
  int8: 6,
  bool: 7,
  float16: 8,
  int16: 9,
  uint16: 10,
  uint32: 11,
  uint64: 12,
  string: 13,
};

const TYPES_BY_CODE: readonly (TensorType | undefined)[] = (() => {
  const out: (TensorType | undefined)[] = [];
  for (const [type, code] of Object.entries(DTYPE_CODES)) out[code] = type as TensorType;
  return out;
})();

type ArrayCtor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => TensorDataArray;
const CTORS: Readonly<Record<NumericTensorType, ArrayCtor>> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  int8: Int8Array,
  bool: Uint8Array,
  float16: Uint16Array,
  int16: Int16Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
};

/** Tensor data sits at 8-byte boundaries of the body so that views need no copy when the frame is aligned. */
export const align8 = (n: number): number => (n + 7) & ~7;

/** A tensor's raw bytes and where they go in the body. */
export interface TensorPlacement {
  readonly bytes: Uint8Array;
  readonly offset: number;
}

/**
 * Writes the tensor table (count; per tensor name, dtype, rank, dims, byte length) into the metadata and
 * returns where each tensor's raw bytes go in the body, plus the body length.
 *
 * @throws EparaError `INVALID_INPUT` for an unknown dtype, bad dims or a data length that does not match.
 */
export function writeTensorTable(
  w: ByteWriter,
  tensors: NamedTensors,
  limits: ResolvedProtocolLimits,
): { placements: TensorPlacement[]; bodyLength: number } {
  const entries = Object.entries(tensors);
  if (entries.length > limits.maxTensors) {
    throw new EparaError('INVALID_INPUT', `${entries.length} tensors exceed the limit of ${limits.maxTensors}`, { count: entries.length });
  }
  w.u16(entries.length);
  const placements: TensorPlacement[] = [];
  let cursor = 0;
  for (const [name, t] of entries) {
    const bytes = checkTensor(name, t, limits);
    w.str(name, limits.maxIdBytes, 'tensor name');
    w.u8(DTYPE_CODES[t.type]);
    w.u8(t.dims.length);
    for (const d of t.dims) w.u32(d);
    w.u32(bytes.byteLength);
    const offset = align8(cursor);
    placements.push({ bytes, offset });
    cursor = offset + bytes.byteLength;
  }
  return { placements, bodyLength: cursor };
}

function checkTensor(name: string, t: TensorLike, limits: ResolvedProtocolLimits): Uint8Array {
  const fail = (why: string): never => {
    throw new EparaError('INVALID_INPUT', `tensor \`${name}\` ${why}`, { tensor: name });
  };
  if (typeof t !== 'object' || t === null) return fail('is not a tensor');
  if (t.type === 'string') return stringBytes(t, limits, fail);
  const size = TENSOR_ELEMENT_BYTES[t.type];
  if (size === undefined || !Object.hasOwn(DTYPE_CODES, t.type)) return fail(`has unknown type \`${String(t.type)}\``);
  if (!Array.isArray(t.dims) || t.dims.length > limits.maxRank) return fail(`needs at most ${limits.maxRank} dims`);
  let n = 1;
  for (const d of t.dims) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) fail(`has a bad dimension \`${String(d)}\``);
    n *= d;
  }
  if (!ArrayBuffer.isView(t.data) || n * size !== t.data.byteLength) {
    fail(`has ${ArrayBuffer.isView(t.data) ? t.data.byteLength : 'no'} data bytes, dims × ${size} needs ${n * size}`);
  }
  const data = t.data as TensorDataArray;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A `string` tensor's wire bytes: per element a u32 LE length, then its UTF-8 bytes. */
function stringBytes(t: TensorLike, limits: ResolvedProtocolLimits, fail: (why: string) => never): Uint8Array {
  if (!Array.isArray(t.dims) || t.dims.length > limits.maxRank) return fail(`needs at most ${limits.maxRank} dims`);
  let n = 1;
  for (const d of t.dims) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) fail(`has a bad dimension \`${String(d)}\``);
    n *= d;
  }
  const data = t.data as readonly unknown[];
  if (!Array.isArray(data) || data.length !== n) return fail(`has ${Array.isArray(data) ? data.length : 'no'} strings, dims need ${n}`);
  for (const s of data) if (typeof s !== 'string') return fail('holds an element that is not a string');
  return encodeStringElements(data as readonly string[]);
}

/** Reads `n` length-prefixed UTF-8 strings that fill `bytes` exactly. */
function readStrings(name: string, bytes: Uint8Array, n: number): string[] {
  const read = decodeStringElements(bytes, n);
  if (Array.isArray(read)) return read;
  const why =
    read.fault === 'no-length' ? `string ${read.index} of ${n} has no room for its length prefix`
    : read.fault === 'overrun' ? `string ${read.index} of ${read.length} bytes runs past the tensor's ${bytes.byteLength}`
    : read.fault === 'not-utf8' ? `string ${read.index} is not valid UTF-8`
    : `${n} strings use ${read.used} of its ${bytes.byteLength} bytes`;
  throw protocolError(`tensor \`${name}\`: ${why}`, { tensor: name });
}

/**
 * Reads the tensor table and builds tensors over `body`. A tensor's data is a view into the frame (no
 * copy) when its absolute offset is a multiple of its element size, and a copy otherwise.
 *
 * @throws EparaError `PROTOCOL_ERROR` for any inconsistency (dtype, rank, dims × size ≠ length, overlap,
 * lengths that do not add up to the body, duplicate names).
 */
export function readTensorTable(r: ByteReader, body: Uint8Array, limits: ResolvedProtocolLimits): NamedTensors {
  const count = r.count('tensors', limits.maxTensors);
  const out: [string, TensorLike][] = [];
  const names = new Set<string>();
  let cursor = 0;
  for (let i = 0; i < count; i++) {
    const name = r.str('tensor name', limits.maxIdBytes);
    if (names.has(name)) throw protocolError(`duplicate tensor \`${name}\``);
    names.add(name);
    const code = r.u8('dtype');
    const type = TYPES_BY_CODE[code];
    if (type === undefined) throw protocolError(`unknown dtype code ${code}`, { dtype: code });
    const rank = r.u8('rank');
    if (rank > limits.maxRank) throw protocolError(`rank ${rank} exceeds the limit of ${limits.maxRank}`);
    const dims: number[] = [];
    let n = 1;
    for (let k = 0; k < rank; k++) {
      const d = r.u32('dim');
      dims.push(d);
      n *= d;
    }
    const byteLength = r.u32('tensor byte length');
    if (type === 'string') {
      // At least a length prefix per element: a count of strings the bytes cannot hold is refused before any is read.
      if (n * 4 > byteLength) throw protocolError(`tensor \`${name}\`: ${n} strings need at least ${n * 4} bytes, it has ${byteLength}`);
      const offset = align8(cursor);
      if (offset + byteLength > body.byteLength) throw protocolError(`tensor \`${name}\` runs past the body`);
      cursor = offset + byteLength;
      out.push([name, { type, dims, data: readStrings(name, body.subarray(offset, offset + byteLength), n) }]);
      continue;
    }
    const size = TENSOR_ELEMENT_BYTES[type];
    if (n * size !== byteLength) throw protocolError(`tensor \`${name}\`: dims × ${size} = ${n * size} ≠ ${byteLength} bytes`);
    const offset = align8(cursor);
    if (offset + byteLength > body.byteLength) throw protocolError(`tensor \`${name}\` runs past the body`);
    cursor = offset + byteLength;
    out.push([name, { type, dims, data: view(type, body, offset, n) }]);
  }
  if (cursor !== body.byteLength) throw protocolError(`body is ${body.byteLength} bytes, tensors use ${cursor}`);
  return Object.fromEntries(out);
}

function view(type: NumericTensorType, body: Uint8Array, offset: number, length: number): TensorDataArray {
  const Ctor = CTORS[type];
  const size = TENSOR_ELEMENT_BYTES[type];
  const absolute = body.byteOffset + offset;
  if (absolute % size === 0) return new Ctor(body.buffer, absolute, length);
  const copy = body.slice(offset, offset + length * size);
  return new Ctor(copy.buffer, 0, length);
}
