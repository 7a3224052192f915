import type { InferResponse } from '../protocol/infer-types.js';
import { toParamMessages } from './grpc-codec.js';
import type { WireParameter } from './grpc-codec.js';
import { WireWriter, varintSize } from './proto-wire.js';

/**
 * A response to a gRPC request: its parameters (the request's, echoed) are written in the form the request sent
 * each one (`parameterWire`, by name) when the value is still the one read from it, rather than in the form a
 * plain value suggests (a number that is an integer would become an `int64_param`).
 */
export type GrpcInferResponse = InferResponse & { readonly parameterWire?: ReadonlyMap<string, WireParameter> | undefined };

/**
 * Encodes a `ModelInferResponse` with every output in `raw_output_contents`, into one buffer (the output bytes
 * are copied once, from the result tensors into it).
 */
export function encodeModelInferResponse(r: GrpcInferResponse): Buffer {
  return encode(r, 0);
}

/**
 * The same `ModelInferResponse` as one uncompressed gRPC message, its 5-byte prefix included: the buffer the
 * call writes as its DATA, with no second copy of the outputs to prepend the prefix.
 */
export function frameModelInferResponse(r: GrpcInferResponse): Buffer {
  const buf = encode(r, 5);
  buf[0] = 0;
  buf.writeUInt32BE(buf.length - 5, 1);
  return buf;
}

const strLen = (s: string): number => Buffer.byteLength(s, 'utf8');
/** Bytes of a length-delimited field (1-byte tag) holding `len` bytes. */
const field = (len: number): number => 1 + varintSize(len) + len;

function encode(r: GrpcInferResponse, headroom: number): Buffer {
  const messages = toParamMessages(r.parameters);
  const params = Object.keys(messages).map((k): [string, Record<string, unknown> | Uint8Array] => {
    const sent = r.parameterWire?.get(k);
    return [k, sent !== undefined && Object.is(sent.value, r.parameters[k]) ? sent.message : messages[k]!];
  });
  const nameLen = strLen(r.model);
  const versionLen = strLen(r.version);
  const id = r.id ?? '';
  const idLen = strLen(id);
  let size = (nameLen ? field(nameLen) : 0) + (versionLen ? field(versionLen) : 0) + (idLen ? field(idLen) : 0);
  const paramSizes = params.map(([k, v]) => {
    const valueLen = paramSize(v);
    const entryLen = field(strLen(k)) + field(valueLen);
    size += field(entryLen);
    return { k, v, valueLen, entryLen };
  });
  const outputSizes = r.outputs.map((o) => {
    const n = strLen(o.name);
    const d = strLen(o.datatype);
    let shapeLen = 0;
    for (const x of o.shape) shapeLen += varintSize(x);
    const len = field(n) + field(d) + (o.shape.length ? field(shapeLen) : 0);
    size += field(len) + field(o.bytes.byteLength);
    return { n, d, shapeLen, len };
  });
  const w = new WireWriter(size, headroom);
  if (nameLen) w.string(1, r.model, nameLen);
  if (versionLen) w.string(2, r.version, versionLen);
  if (idLen) w.string(3, id, idLen);
  for (const { k, v, valueLen, entryLen } of paramSizes) {
    w.tag(4, 2);
    w.varint(entryLen);
    w.string(1, k, strLen(k));
    w.tag(2, 2);
    w.varint(valueLen);
    writeParam(w, v);
  }
  r.outputs.forEach((o, i) => {
    const s = outputSizes[i]!;
    w.tag(5, 2);
    w.varint(s.len);
    w.string(1, o.name, s.n);
    w.string(2, o.datatype, s.d);
    if (o.shape.length) {
      w.tag(3, 2);
      w.varint(s.shapeLen);
      for (const x of o.shape) w.varint(x);
    }
  });
  for (const o of r.outputs) w.bytes(6, o.bytes);
  if (w.pos !== headroom + size) throw new Error(`ModelInferResponse encoder wrote ${w.pos} bytes, sized ${size}`);
  return w.buf;
}

function paramSize(v: Record<string, unknown> | Uint8Array): number {
  if (v instanceof Uint8Array) return v.byteLength;
  if ('bool_param' in v) return 2;
  if ('int64_param' in v) return 1 + varintSize(v['int64_param'] as number);
  if ('string_param' in v) {
    const n = Buffer.byteLength(v['string_param'] as string, 'utf8');
    return 1 + varintSize(n) + n;
  }
  return 9;
}

function writeParam(w: WireWriter, v: Record<string, unknown> | Uint8Array): void {
  if (v instanceof Uint8Array) {
    w.buf.set(v, w.pos);
    w.pos += v.byteLength;
  } else if ('bool_param' in v) {
    w.tag(1, 0);
    w.varint(v['bool_param'] ? 1 : 0);
  } else if ('int64_param' in v) {
    w.tag(2, 0);
    w.varint(v['int64_param'] as number);
  } else if ('string_param' in v) {
    const s = v['string_param'] as string;
    w.string(3, s, Buffer.byteLength(s, 'utf8'));
  } else w.double(4, v['double_param'] as number);
}
