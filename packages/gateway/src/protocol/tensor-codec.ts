import { EparaError, TENSOR_ELEMENT_BYTES } from '@epara/core';
import type { NumericTensorType, TensorDataArray, TensorLike, TensorType } from '@epara/core';
import { DATATYPE_OF, allocTyped, bytesOf, isOipDatatype, stringsFromBytes, tensorTypeOf, typedArrayFromBytes, utf8Text } from './datatypes.js';
import { encodeStringElements } from '@epara/core/internal';
import { halfToFloat, floatToHalf } from '@epara/core/internal';
import type { InferInput, InferOutput } from './infer-types.js';
import { shown } from './request-controls.js';

const bad = (message: string, details: Record<string, unknown> = {}): EparaError => new EparaError('INVALID_INPUT', message, details);

/** Largest element count one tensor may declare (guards `shape` products against overflow and huge allocations). */
const MAX_ELEMENTS = 2 ** 31 - 1;

/** Validates a shape and returns its element count. @throws EparaError `INVALID_INPUT` */
export function elementCount(shape: unknown, field: string): number {
  if (!Array.isArray(shape)) throw bad(`${field}.shape must be an array of non-negative integers`, { field: `${field}.shape` });
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || (d as number) < 0) throw bad(`${field}.shape must hold non-negative integers, got ${shown(d)}`, { field: `${field}.shape` });
    n *= d as number;
    if (n > MAX_ELEMENTS) throw bad(`${field}.shape declares more than ${MAX_ELEMENTS} elements`, { field: `${field}.shape` });
  }
  return n;
}

/**
 * Turns one protocol input into an EPARA tensor, checking the data type, the shape and that the data holds
 * exactly as many elements (or bytes) as the shape says.
 *
 * @throws EparaError `INVALID_INPUT` with a message naming the input.
 */
export function decodeInput(input: InferInput, index: number): TensorLike {
  const field = `inputs[${index}]${typeof input?.name === 'string' ? ` (${input.name})` : ''}`;
  if (typeof input !== 'object' || input === null) throw bad(`inputs[${index}] must be an object`);
  if (typeof input.name !== 'string' || input.name === '') throw bad(`${field}.name must be a non-empty string`, { field: `${field}.name` });
  // Triton's BF16 is a protocol data type EPARA does not carry: say so, rather than that the type does not exist.
  if (input.datatype === 'BF16') throw bad(`${field}.datatype BF16 is not carried by EPARA: onnxruntime-node has no bfloat16 tensors (send the data type the model's metadata names)`, { field: `${field}.datatype` });
  if (!isOipDatatype(input.datatype)) throw bad(`${field}.datatype ${JSON.stringify(input.datatype)} is not a protocol data type`, { field: `${field}.datatype` });
  const type = tensorTypeOf(input.datatype);
  if (type === undefined) throw bad(`${field}.datatype ${input.datatype} is not supported by EPARA (supported: ${Object.values(DATATYPE_OF).join(', ')})`, { field: `${field}.datatype` });
  if (input.parameters?.['shared_memory_region'] !== undefined) throw sharedMemoryRefused(field);
  const count = elementCount(input.shape, field);
  const dims = [...input.shape];
  if (input.raw !== undefined) {
    if (type === 'string') {
      const strings = stringsFromBytes(input.raw, count);
      if (typeof strings === 'string') throw bad(`${field} BYTES data of shape [${dims.join(',')}]: ${strings}`, { field });
      return { type, dims, data: strings };
    }
    const expected = count * TENSOR_ELEMENT_BYTES[type];
    if (input.raw.byteLength !== expected) {
      throw bad(`${field} has ${input.raw.byteLength} bytes of data but shape [${dims.join(',')}] of ${input.datatype} needs ${expected}`, { field });
    }
    if (type === 'bool') checkBoolBytes(input.raw, field);
    return { type, dims, data: typedArrayFromBytes(type, input.raw) };
  }
  if (input.data === undefined) throw bad(`${field} has no data (neither "data" nor binary_data_size)`, { field: `${field}.data` });
  const flat = flatten(input.data, dims, count, field);
  return { type, dims, data: type === 'string' ? fromJsonStrings(flat, field) : fromJsonValues(type, flat, field) };
}

/**
 * Triton's shared memory extension (`shared_memory_region` on an input or output): the tensor is in, or is to
 * be written to, memory the client registered with the server, which this gateway has no way to reach. Refused
 * rather than answered in the body, where a client reading its region would find it unwritten.
 */
export function sharedMemoryRefused(field: string): EparaError {
  return new EparaError('INVALID_INPUT', `${field}.parameters.shared_memory_region: the shared memory extension is not supported (send the tensor in the request, and read outputs from the answer)`, {
    field: `${field}.parameters.shared_memory_region`,
  });
}

/**
 * The values of a JSON `data` array in row-major order: flat, or nested along the shape — each level an array
 * of that dimension's size, down to a level that holds the remaining values flat (`[[…27648], […27648]]` for
 * `[2,3,48,192]`, or nested all the way). Rows of other lengths, or arrays mixed with values, are refused: the
 * data then has another shape than it claims, even when its count matches.
 */
function flatten(data: unknown, shape: readonly number[], count: number, field: string): unknown[] {
  if (!Array.isArray(data)) throw bad(`${field}.data must be an array`, { field: `${field}.data` });
  if (!data.some(Array.isArray)) {
    if (data.length !== count) throw bad(`${field}.data holds ${data.length > count ? 'more than ' + count : data.length} elements but its shape needs ${count}`, { field: `${field}.data` });
    return data;
  }
  const out: unknown[] = [];
  const dims = `[${shape.join(',')}]`;
  // Walked with a stack of its own, not by recursion: a shape of thousands of dimensions with data nested as deep
  // must be a 400 (or run), never a call stack that overflows into a 500.
  const stack: { readonly v: readonly unknown[]; readonly depth: number; k: number }[] = [];
  const path = (): string => stack.map((f) => `[${f.k - 1}]`).join('');
  const enter = (v: readonly unknown[], depth: number): void => {
    if (depth >= shape.length) throw bad(`${field}.data${path()} is nested deeper than shape ${dims}`, { field: `${field}.data` });
    if (!v.some(Array.isArray)) {
      const rest = shape.slice(depth).reduce((a, b) => a * b, 1);
      if (v.length !== rest) throw bad(`${field}.data${path()} holds ${v.length} values where shape ${dims} needs ${rest}`, { field: `${field}.data` });
      for (const x of v) out.push(x);
      return;
    }
    if (v.length !== shape[depth]) throw bad(`${field}.data${path()} holds ${v.length} values where shape ${dims} needs ${shape[depth]}`, { field: `${field}.data` });
    stack.push({ v, depth, k: 0 });
  };
  enter(data, 0);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.k === top.v.length) {
      stack.pop();
      continue;
    }
    const x = top.v[top.k++];
    if (!Array.isArray(x)) throw bad(`${field}.data${path()} must be an array like the values beside it (shape ${dims})`, { field: `${field}.data` });
    enter(x, top.depth + 1);
  }
  return out;
}

/** BYTES elements: JSON strings, or (gRPC's `bytes_contents`) byte arrays of UTF-8 text. */
function fromJsonStrings(values: unknown[], field: string): string[] {
  const out = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const text = typeof v === 'string' ? v : v instanceof Uint8Array ? utf8Text(v) : undefined;
    if (text === undefined) throw bad(`${field}.data[${i}] must be a string (UTF-8 text) for BYTES`, { field: `${field}.data` });
    out[i] = text;
  }
  return out;
}

function fromJsonValues(type: NumericTensorType, values: unknown[], field: string): TensorDataArray {
  const arr = allocTyped(type, values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (type === 'bool') {
      if (typeof v !== 'boolean') throw bad(`${field}.data[${i}] must be true or false for BOOL`, { field: `${field}.data` });
      arr[i] = v ? 1 : 0;
    } else if (type === 'int64' || type === 'uint64') {
      // A bigint comes from gRPC's int64_contents / uint64_contents past 2^53; JSON gives numbers or decimal strings.
      const name = DATATYPE_OF[type];
      if (!(typeof v === 'number' && Number.isSafeInteger(v)) && !(typeof v === 'string' && /^-?\d+$/.test(v)) && typeof v !== 'bigint') {
        // A JSON number past 2^53 was parsed to the nearest double: its digits are lost, and quoting them would lie.
        const lost = typeof v === 'number' && Number.isInteger(v) ? ': a JSON number loses the digits past 2^53, send the value as a decimal string' : '';
        throw bad(`${field}.data[${i}] must be an integer for ${name}, got ${shown(v)}${lost}`, { field: `${field}.data` });
      }
      const n = BigInt(v);
      if (n !== (type === 'int64' ? BigInt.asIntN(64, n) : BigInt.asUintN(64, n))) throw bad(`${field}.data[${i}] = ${n} does not fit ${name}`, { field: `${field}.data` });
      (arr as BigInt64Array | BigUint64Array)[i] = n;
    } else {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        if (!(type.startsWith('float') && (v === 'NaN' || v === 'Infinity' || v === '-Infinity'))) {
          throw bad(`${field}.data[${i}] must be a finite number, got ${JSON.stringify(v)}`, { field: `${field}.data` });
        }
      }
      const n = Number(v);
      if (!type.startsWith('float') && (!Number.isInteger(n) || !fitsInt(type, n))) throw bad(`${field}.data[${i}] = ${n} does not fit ${DATATYPE_OF[type]}`, { field: `${field}.data` });
      const stored = type === 'float16' ? floatToHalf(n) : n;
      // A finite number past the type's largest became ±infinity in silence: a value the client never sent.
      if (Number.isFinite(n) && (type === 'float16' ? !Number.isFinite(halfToFloat(stored)) : type === 'float32' && !Number.isFinite(Math.fround(n)))) {
        throw bad(`${field}.data[${i}] = ${n} does not fit ${DATATYPE_OF[type]} (largest finite ±${type === 'float16' ? 65504 : '3.4028234663852886e38'}; send "Infinity" for an infinity)`, { field: `${field}.data` });
      }
      arr[i] = stored;
    }
  }
  return arr;
}

/** onnxruntime reads a bool as one byte: any other value than 0 or 1 is an undefined bool, not `true`. */
function checkBoolBytes(raw: Uint8Array, field: string): void {
  for (let i = 0; i < raw.length; i++) {
    if (raw[i]! > 1) throw bad(`${field} BOOL byte ${i} is ${raw[i]}: BOOL data is 0 (false) or 1 (true)`, { field });
  }
}

function fitsInt(type: TensorType, n: number): boolean {
  switch (type) {
    case 'uint8':
      return n >= 0 && n <= 255;
    case 'int8':
      return n >= -128 && n <= 127;
    case 'int16':
      return n >= -32768 && n <= 32767;
    case 'uint16':
      return n >= 0 && n <= 65535;
    case 'uint32':
      return n >= 0 && n <= 2 ** 32 - 1;
    default:
      return n >= -(2 ** 31) && n <= 2 ** 31 - 1;
  }
}

/** Builds a protocol output from a result tensor. */
export function encodeOutput(name: string, t: TensorLike, binary: boolean): InferOutput {
  const bytes = t.type === 'string' ? encodeStringElements(t.data as readonly string[]) : bytesOf(t.data as TensorDataArray);
  return { name, datatype: DATATYPE_OF[t.type], shape: t.dims, type: t.type, bytes, binary, data: t.data };
}

/**
 * The JSON text of an output's `data` (or of the values `start` to `end`): INT64 and UINT64 as exact integers (their
 * decimal digits, not a double's), booleans for BOOL, FP16 decoded; NaN and ±Infinity, which JSON cannot
 * spell, as `null`; BYTES as strings.
 */
export function outputJsonText(o: InferOutput, start = 0, end = o.data.length): string {
  if (o.type !== 'int64' && o.type !== 'uint64') return JSON.stringify(outputJsonData(o, start, end));
  let text = '[';
  for (let i = start; i < end; i++) text += (i > start ? ',' : '') + String(o.data[i]);
  return `${text}]`;
}

/** JSON `data` of an output as values: numbers (INT64 and UINT64 as numbers, exact up to 2^53), booleans for BOOL. */
export function outputJsonData(o: InferOutput, start = 0, end = o.data.length): unknown[] {
  const out = new Array<unknown>(end - start);
  for (let i = start; i < end; i++) {
    const v = o.data[i]!;
    out[i - start] = typeof v === 'string' ? v : o.type === 'bool' ? v !== 0 : typeof v === 'bigint' ? Number(v) : o.type === 'float16' ? halfToFloat(v as number) : v;
  }
  return out;
}
