import type { GrpcInferRequest, ParamMessage, WireParameter } from './grpc-codec.js';
import { WireError, WireReader } from './proto-wire.js';

/**
 * A hand-written decoder of the protocol's `ModelInferRequest` (`grpc_predict_v2.proto`), used in place of the
 * generic protobuf.js one on the hot path: `raw_input_contents` are views of the received buffer, nothing
 * else is built. It yields what `@grpc/proto-loader` gives with `PROTO_LOADER_OPTIONS` for every field the
 * gateway reads (checked by property tests against it); packed and unpacked repeated fields, unknown fields
 * and merged sub-messages are read as protobuf specifies.
 */

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Params = Record<string, ParamMessage>;
type Contents = Record<string, unknown[]>;

/** What the request decoder yields for bytes that are not a `ModelInferRequest`: the handler answers `INVALID_ARGUMENT`. */
export interface UndecodableRequest {
  readonly undecodable: string;
}

const PARAM_CHOICE = ['', 'bool_param', 'int64_param', 'string_param', 'double_param', 'uint64_param'] as const;
const CONTENTS = ['', 'bool_contents', 'int_contents', 'int64_contents', 'uint_contents', 'uint64_contents', 'fp32_contents', 'fp64_contents', 'bytes_contents'] as const;

/** Decodes a `ModelInferRequest`; never throws (malformed bytes give an {@link UndecodableRequest}). */
export function decodeModelInferRequest(buf: Buffer): GrpcInferRequest | UndecodableRequest {
  try {
    return readRequest(new WireReader(buf));
  } catch (err) {
    if (err instanceof WireError) return { undecodable: `the ModelInferRequest message is malformed: ${err.message}` };
    throw err;
  }
}

function readRequest(r: WireReader): GrpcInferRequest {
  const sent = new Map<string, WireParameter>();
  const out: Mutable<GrpcInferRequest> & { parameters: Params; inputs: GrpcInferRequest['inputs'][number][]; outputs: { name: string; parameters: Params }[]; raw_input_contents: Buffer[] } = {
    model_name: '',
    model_version: '',
    id: '',
    parameters: noPrototype(),
    inputs: [],
    outputs: [],
    raw_input_contents: [],
    parameter_wire: sent,
  };
  while (!r.done) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 2 && field >= 1 && field <= 7) {
      if (field === 1) out.model_name = r.string();
      else if (field === 2) out.model_version = r.string();
      else if (field === 3) out.id = r.string();
      else if (field === 4) readParamEntry(r, out.parameters, sent);
      else if (field === 7) {
        const [s, e] = r.bytesRange();
        out.raw_input_contents.push(r.buf.subarray(s, e));
      } else {
        const [s, e] = r.bytesRange();
        const sub = new WireReader(r.buf, s, e);
        if (field === 5) out.inputs.push(readInput(sub));
        else out.outputs.push(readOutput(sub));
      }
    } else r.skip(wire, field);
  }
  return out;
}

function readInput(r: WireReader): GrpcInferRequest['inputs'][number] {
  let name = '';
  let datatype = '';
  const shape: (number | string)[] = [];
  const parameters: Params = noPrototype();
  let contents: Contents | null = null;
  while (!r.done) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) name = r.string();
    else if (field === 2 && wire === 2) datatype = r.string();
    else if (field === 3 && wire === 0) shape.push(dimOf(r));
    else if (field === 3 && wire === 2) {
      const [s, e] = r.bytesRange();
      const packed = new WireReader(r.buf, s, e);
      while (!packed.done) shape.push(dimOf(packed));
    } else if (field === 4 && wire === 2) readParamEntry(r, parameters);
    else if (field === 5 && wire === 2) {
      const [s, e] = r.bytesRange();
      contents = readContents(new WireReader(r.buf, s, e), contents ?? emptyContents());
    } else r.skip(wire, field);
  }
  return { name, datatype, shape, parameters, contents };
}

/**
 * One shape value: a number, or past 2^53 (no dimension can be that large) its exact decimal, which the refusal
 * quotes — as a number it was the neighbouring double (9007199254740993 read as …992).
 */
function dimOf(r: WireReader): number | string {
  const d = r.int64Exact(true);
  return typeof d === 'bigint' ? d.toString() : d;
}

function readOutput(r: WireReader): { name: string; parameters: Params } {
  let name = '';
  const parameters: Params = noPrototype();
  while (!r.done) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | 2)) name = r.string();
    else if (tag === ((2 << 3) | 2)) readParamEntry(r, parameters);
    else r.skip(tag & 7, tag >>> 3);
  }
  return { name, parameters };
}

/**
 * A map's object without a prototype: a parameter named `__proto__` is then a key like any other (on a plain
 * object, assigning it would set the object's prototype, and the parameter would be lost).
 */
function noPrototype(): Params {
  return Object.create(null) as Params;
}

function emptyContents(): Contents {
  const c: Contents = {};
  for (let i = 1; i < CONTENTS.length; i++) c[CONTENTS[i]!] = [];
  return c;
}

/** One scalar of a `InferTensorContents` field (1 bool … 7 double), from a reader positioned on it. */
function readScalar(r: WireReader, field: number): unknown {
  switch (field) {
    case 1:
      return r.uint32() !== 0;
    case 2:
      return r.uint32() | 0;
    case 3:
      return r.int64Exact(true);
    case 4:
      return r.uint32();
    case 5:
      return r.int64Exact(false);
    case 6:
      return r.float();
    default:
      return r.double();
  }
}

/** Wire type of the unpacked form of each contents field. */
const CONTENTS_WIRE = [-1, 0, 0, 0, 0, 0, 5, 1, 2];

function readContents(r: WireReader, c: Contents): Contents {
  while (!r.done) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field < 1 || field > 8) r.skip(wire, field);
    else if (field === 8 && wire === 2) {
      const [s, e] = r.bytesRange();
      c['bytes_contents']!.push(r.buf.subarray(s, e));
    } else if (wire === CONTENTS_WIRE[field]) c[CONTENTS[field]!]!.push(readScalar(r, field));
    else if (wire === 2 && field !== 8) {
      const [s, e] = r.bytesRange();
      const packed = new WireReader(r.buf, s, e);
      const list = c[CONTENTS[field]!]!;
      while (!packed.done) list.push(readScalar(packed, field));
    } else r.skip(wire, field);
  }
  return c;
}

/**
 * One `map<string, InferParameter>` entry into `into` (a later entry with the same key wins), and with `wire`, the
 * value's message bytes too (a copy: the request's buffer is not kept alive by its answer).
 */
function readParamEntry(r: WireReader, into: Params, wire?: Map<string, WireParameter>): void {
  const [s, e] = r.bytesRange();
  const entry = new WireReader(r.buf, s, e);
  let key = '';
  let value: Record<string, unknown> = {};
  let message: [number, number] = [0, 0];
  while (!entry.done) {
    const tag = entry.uint32();
    if (tag === ((1 << 3) | 2)) key = entry.string();
    else if (tag === ((2 << 3) | 2)) {
      message = entry.bytesRange();
      value = readParam(new WireReader(r.buf, message[0], message[1]));
    } else entry.skip(tag & 7, tag >>> 3);
  }
  into[key] = value as ParamMessage;
  if (!wire) return;
  const choice = (value as ParamMessage).parameter_choice;
  wire.set(key, { value: choice === undefined ? undefined : (value[choice] as string | number | boolean), message: new Uint8Array(r.buf.subarray(message[0], message[1])) });
}

function readParam(r: WireReader): Record<string, unknown> {
  let choice: (typeof PARAM_CHOICE)[number] = '';
  let v: unknown;
  while (!r.done) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field >= 1 && field <= 5 && wire === (field === 3 ? 2 : field === 4 ? 1 : 0)) {
      choice = PARAM_CHOICE[field]!;
      v = field === 1 ? r.uint32() !== 0 : field === 2 ? r.int64(true) : field === 3 ? r.string() : field === 4 ? r.double() : r.int64(false);
    } else r.skip(wire, field);
  }
  return choice === '' ? {} : { [choice]: v, parameter_choice: choice };
}
