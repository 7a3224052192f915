import { EparaError } from '@epara/core';
import type { InferInput, InferParameters, InferRequest, InferResponse } from '../protocol/infer-types.js';

/** An `InferParameter` message as proto-loader gives it (`oneofs: true`). */
export interface ParamMessage {
  readonly parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
  readonly [k: string]: unknown;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Contents = Readonly<Record<string, readonly unknown[] | undefined>>;

interface GrpcInput {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly (number | string)[];
  readonly parameters?: Readonly<Record<string, ParamMessage>>;
  readonly contents?: Contents | null;
}

/** A `ModelInferRequest` as proto-loader decodes it (`keepCase`, `longs: Number`, `defaults`, `oneofs`). */
export interface GrpcInferRequest {
  readonly model_name: string;
  readonly model_version: string;
  readonly id: string;
  readonly parameters?: Readonly<Record<string, ParamMessage>>;
  readonly inputs: readonly GrpcInput[];
  readonly outputs: readonly { name: string; parameters?: Readonly<Record<string, ParamMessage>> }[];
  readonly raw_input_contents: readonly Buffer[];
  /**
   * The request's parameters as they came on the wire, each `InferParameter` message's bytes beside the value
   * read from it: the answer echoes a parameter in the form it was sent (a `uint64_param` stays one, a
   * `double_param` of 2 is not turned into an `int64_param`, an int64 past 2^53 is not rounded). Set by the
   * gateway's own decoder.
   */
  readonly parameter_wire?: ReadonlyMap<string, WireParameter>;
}

/** One request parameter as it came on the wire: the value the gateway read, and its `InferParameter` message. */
export interface WireParameter {
  readonly value: string | number | boolean | undefined;
  readonly message: Uint8Array;
}

/** Which typed `contents` field carries each data type. */
const CONTENTS_FIELD: Readonly<Record<string, string>> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

/** Plain parameters from protocol `InferParameter` messages. */
export function fromParamMessages(m: Readonly<Record<string, ParamMessage>> | undefined): InferParameters | undefined {
  if (!m) return undefined;
  let out: Record<string, string | number | boolean> | undefined;
  for (const k of Object.keys(m)) {
    // No prototype: a parameter named `__proto__` is a key like any other, not the object's prototype.
    out ??= Object.create(null) as Record<string, string | number | boolean>;
    const v = m[k];
    const choice = v?.parameter_choice;
    if (choice !== undefined) out[k] = v![choice] as string | number | boolean;
  }
  return out;
}

/** Protocol `InferParameter` messages from plain parameters. */
export function toParamMessages(p: InferParameters): Record<string, Record<string, unknown>> {
  const out = Object.create(null) as Record<string, Record<string, unknown>>;
  for (const [k, v] of Object.entries(p)) {
    out[k] = typeof v === 'boolean' ? { bool_param: v } : typeof v === 'string' ? { string_param: v } : Number.isSafeInteger(v) ? { int64_param: v } : { double_param: v };
  }
  return out;
}

/**
 * A transport-neutral request from a `ModelInferRequest`: each input's data from `raw_input_contents` (in input
 * order) or from the typed `contents` field of its data type.
 * @throws EparaError `INVALID_INPUT` when raw and typed contents are mixed or counts do not match.
 */
export function fromGrpcRequest(r: GrpcInferRequest): InferRequest {
  const raw = r.raw_input_contents ?? [];
  const src = r.inputs ?? [];
  if (raw.length > 0 && raw.length !== src.length) {
    throw new EparaError('INVALID_INPUT', `raw_input_contents has ${raw.length} entries but the request has ${src.length} inputs`, { field: 'raw_input_contents' });
  }
  // Plain loops and conditional assignments: this runs on every call, and spreads or closures per input cost
  // more than the rest of it.
  const inputs: InferInput[] = [];
  for (let i = 0; i < src.length; i++) {
    const x = src[i]!;
    const shape = x.shape ?? [];
    const dims: number[] = [];
    for (const d of shape) dims.push(typeof d === 'number' ? d : exactDim(d, i, x.name));
    const input: Mutable<InferInput> = { name: x.name, datatype: x.datatype, shape: dims };
    const parameters = fromParamMessages(x.parameters);
    if (parameters) input.parameters = parameters;
    const field = CONTENTS_FIELD[x.datatype];
    const typed = field !== undefined ? x.contents?.[field] : undefined;
    if (raw.length > 0) {
      if (typed && typed.length > 0) throw new EparaError('INVALID_INPUT', `inputs[${i}] (${x.name}) has contents although raw_input_contents is used`, { field: `inputs[${i}].contents` });
      input.raw = raw[i]!;
    } else {
      if (!typed || typed.length === 0) checkContentsField(x, i, field);
      // An input in Triton's shared memory carries no contents: it is refused as such further on, not for its count.
      if (field !== undefined && parameters?.['shared_memory_region'] === undefined) checkContentsCount(x, i, dims, field, typed?.length ?? 0);
      input.data = x.datatype === 'BOOL' || x.datatype === 'INT64' || x.datatype === 'UINT64' ? [...(typed ?? [])] : (typed ?? []);
    }
    inputs.push(input);
  }
  const request = { model: r.model_name } as Mutable<InferRequest>;
  if (r.model_version) request.version = r.model_version;
  if (r.id) request.id = r.id;
  const parameters = fromParamMessages(r.parameters);
  if (parameters) request.parameters = parameters;
  request.inputs = inputs;
  if (r.outputs && r.outputs.length > 0) {
    request.outputs = r.outputs.map((o) => {
      const p = fromParamMessages(o.parameters);
      return p ? { name: o.name, parameters: p } : { name: o.name };
    });
  }
  return request;
}

/**
 * An input without data in its data type's contents field: data in another field is the client's mistake (a
 * count of 0 would hide it), and FP16, which has no typed field, travels only in `raw_input_contents`.
 */
function checkContentsField(x: GrpcInput, i: number, field: string | undefined): void {
  let other: string | undefined;
  for (const k in x.contents ?? {}) if ((x.contents![k]?.length ?? 0) > 0) other ??= k;
  const what = `inputs[${i}] (${x.name}) is ${x.datatype}`;
  if (field === undefined && (x.datatype === 'FP16' || other !== undefined)) throw new EparaError('INVALID_INPUT', `${what}, which has no typed contents field: send it in raw_input_contents`, { field: `inputs[${i}].contents` });
  if (other !== undefined) throw new EparaError('INVALID_INPUT', `${what}, whose typed data goes in ${field}; the request sends ${other}`, { field: `inputs[${i}].contents` });
}

/**
 * A shape value given as a decimal (the wire's int64 past 2^53, or proto-loader's `longs: String`): its number,
 * or refused quoting the client's digits — not the double they round to.
 * @throws EparaError `INVALID_INPUT` for a value that is no safe integer.
 */
function exactDim(d: string, i: number, name: string): number {
  const n = Number(d);
  if (!Number.isSafeInteger(n) && /^\s*-?\d+\s*$/.test(d)) {
    throw new EparaError('INVALID_INPUT', `inputs[${i}] (${name}).shape must hold non-negative integers up to 2^53 - 1, got ${d.trim()}`, { field: `inputs[${i}] (${name}).shape` });
  }
  return n; // a safe integer, or NaN that the shape's check refuses
}

/**
 * Typed contents whose count is not the shape's (none at all included), named in the terms of the request the
 * client wrote (its contents field, `raw_input_contents`), not those of a JSON body's `data`. A shape the tensor
 * codec refuses anyway (a negative dimension, no elements) is left to it.
 */
function checkContentsCount(x: GrpcInput, i: number, dims: readonly number[], field: string, count: number): void {
  let needed = 1;
  for (const d of dims) needed *= d;
  if (!Number.isSafeInteger(needed) || needed <= 0 || count === needed) return;
  const shape = JSON.stringify(dims);
  if (count === 0) throw new EparaError('INVALID_INPUT', `inputs[${i}] (${x.name}) carries no data: shape ${shape} needs ${needed} values, in ${field} or raw_input_contents`, { field: `inputs[${i}].contents` });
  throw new EparaError('INVALID_INPUT', `inputs[${i}] (${x.name}) has ${count} values in ${field} but shape ${shape} needs ${needed}`, { field: `inputs[${i}].contents.${field}` });
}

/** A `ModelInferResponse` with every output in `raw_output_contents`. */
export function toGrpcResponse(r: InferResponse): Record<string, unknown> {
  return {
    model_name: r.model,
    model_version: r.version,
    id: r.id ?? '',
    parameters: toParamMessages(r.parameters),
    outputs: r.outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape })),
    raw_output_contents: r.outputs.map((o) => Buffer.from(o.bytes.buffer, o.bytes.byteOffset, o.bytes.byteLength)),
  };
}
