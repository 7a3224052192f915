import { EparaError } from '@epara/core';
import type { OnnxDimension, OnnxType, OnnxValueInfo } from '@epara/runtime';
import { WireReader } from '../grpc/proto-wire.js';

/** What the gateway reads of an ONNX model: its graph's inputs and outputs, and the names of its initializers. */
export interface OnnxBoundary {
  readonly graph: {
    readonly input: OnnxValueInfo[];
    readonly output: OnnxValueInfo[];
    readonly initializer: { name?: string }[];
  };
}

const LEN = 2;

/**
 * Reads the boundary of an ONNX model's graph from its bytes (`ModelProto.graph`: `input`, `output`, the
 * `initializer`s' names), the fields as `decodeModel` of `@epara/runtime` gives them, skipping the rest: the
 * weights are not decoded (reading the whole model was a tenth of a server's start-up CPU, most of it building
 * protobuf.js decoders for fields the gateway does not read). Onnxruntime reads the whole file when it loads it.
 *
 * @throws EparaError `INVALID_INPUT` when the bytes are not a protobuf message (`not an ONNX model: …`) or hold no graph.
 */
export function readOnnxBoundary(bytes: Buffer): OnnxBoundary {
  let graph: OnnxBoundary['graph'] | undefined;
  try {
    const r = new WireReader(bytes);
    while (!r.done) {
      const tag = r.uint32();
      // A message field given more than once is merged: the repeated fields of each part add up.
      if (tag === ((7 << 3) | LEN)) graph = readGraph(sub(r), graph ?? { input: [], output: [], initializer: [] });
      else r.skip(tag & 7, tag >>> 3);
    }
  } catch (err) {
    throw new EparaError('INVALID_INPUT', `not an ONNX model: ${(err as Error).message}`, {}, { cause: err });
  }
  if (graph === undefined) throw new EparaError('INVALID_INPUT', 'ONNX model has no graph', {});
  return { graph };
}

/** A reader of the length-delimited field at the reader's position (which moves past it). */
function sub(r: WireReader): WireReader {
  const [start, end] = r.bytesRange();
  return new WireReader(r.buf, start, end);
}

function readGraph(r: WireReader, into: OnnxBoundary['graph']): OnnxBoundary['graph'] {
  while (!r.done) {
    const tag = r.uint32();
    if (tag === ((5 << 3) | LEN)) into.initializer.push(named(tensorName(sub(r))));
    else if (tag === ((11 << 3) | LEN)) into.input.push(valueInfo(sub(r)));
    else if (tag === ((12 << 3) | LEN)) into.output.push(valueInfo(sub(r)));
    else r.skip(tag & 7, tag >>> 3);
  }
  return into;
}

const named = (name: string | undefined): { name?: string } => (name === undefined ? {} : { name });

/** `TensorProto.name` (field 8); its data is skipped. */
function tensorName(r: WireReader): string | undefined {
  let name: string | undefined;
  while (!r.done) {
    const tag = r.uint32();
    if (tag === ((8 << 3) | LEN)) name = r.string();
    else r.skip(tag & 7, tag >>> 3);
  }
  return name;
}

function valueInfo(r: WireReader): OnnxValueInfo {
  const v: OnnxValueInfo = {};
  while (!r.done) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | LEN)) v.name = r.string();
    else if (tag === ((2 << 3) | LEN)) v.type = typeProto(sub(r), v.type ?? {});
    else r.skip(tag & 7, tag >>> 3);
  }
  return v;
}

/** `TypeProto`: a tensor (1), a sequence (4), a map (5), a sparse tensor (8), an optional (9), its denotation (6). */
function typeProto(r: WireReader, t: OnnxType): OnnxType {
  while (!r.done) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | LEN)) t.tensorType = tensorType(sub(r), t.tensorType ?? {});
    else if (tag === ((8 << 3) | LEN)) t.sparseTensorType = tensorType(sub(r), t.sparseTensorType ?? {});
    else if (tag === ((4 << 3) | LEN)) t.sequenceType = { elemType: elemTypeOf(sub(r), t.sequenceType?.elemType) };
    else if (tag === ((9 << 3) | LEN)) t.optionalType = { elemType: elemTypeOf(sub(r), t.optionalType?.elemType) };
    else if (tag === ((5 << 3) | LEN)) t.mapType = mapType(sub(r), t.mapType ?? {});
    else if (tag === ((6 << 3) | LEN)) t.denotation = r.string();
    else r.skip(tag & 7, tag >>> 3);
  }
  return t;
}

/** `TypeProto.Tensor` and `TypeProto.SparseTensor`: `elem_type` (1), `shape` (2, `TensorShapeProto`). */
function tensorType(r: WireReader, t: NonNullable<OnnxType['tensorType']>): NonNullable<OnnxType['tensorType']> {
  while (!r.done) {
    const tag = r.uint32();
    if (tag === (1 << 3)) t.elemType = r.uint32() | 0;
    else if (tag === ((2 << 3) | LEN)) {
      const shape = (t.shape ??= {});
      const s = sub(r);
      while (!s.done) {
        const dimTag = s.uint32();
        if (dimTag === ((1 << 3) | LEN)) (shape.dim ??= []).push(dimension(sub(s)));
        else s.skip(dimTag & 7, dimTag >>> 3);
      }
    } else r.skip(tag & 7, tag >>> 3);
  }
  return t;
}

/** `TensorShapeProto.Dimension`: `dim_value` (1, int64: a number within 2^53, else a bigint), `dim_param` (2), `denotation` (3). */
function dimension(r: WireReader): OnnxDimension {
  const d: { dimValue?: number | bigint; dimParam?: string; denotation?: string } = {};
  while (!r.done) {
    const tag = r.uint32();
    if (tag === (1 << 3)) d.dimValue = r.int64Exact(true);
    else if (tag === ((2 << 3) | LEN)) d.dimParam = r.string();
    else if (tag === ((3 << 3) | LEN)) d.denotation = r.string();
    else r.skip(tag & 7, tag >>> 3);
  }
  return d as OnnxDimension; // a bigint past 2^53, as decodeModel gives it
}

/** `TypeProto.Sequence` and `TypeProto.Optional`: `elem_type` (1, a `TypeProto`). */
function elemTypeOf(r: WireReader, into: OnnxType | undefined): OnnxType | undefined {
  let elem = into;
  while (!r.done) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | LEN)) elem = typeProto(sub(r), elem ?? {});
    else r.skip(tag & 7, tag >>> 3);
  }
  return elem;
}

/** `TypeProto.Map`: `key_type` (1, a data type code), `value_type` (2, a `TypeProto`). */
function mapType(r: WireReader, m: NonNullable<OnnxType['mapType']>): NonNullable<OnnxType['mapType']> {
  while (!r.done) {
    const tag = r.uint32();
    if (tag === (1 << 3)) m.keyType = r.uint32() | 0;
    else if (tag === ((2 << 3) | LEN)) m.valueType = typeProto(sub(r), m.valueType ?? {});
    else r.skip(tag & 7, tag >>> 3);
  }
  return m;
}
