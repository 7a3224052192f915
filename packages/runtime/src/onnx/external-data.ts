import { EparaError } from '@epara/core';

/** A tensor of a model whose values are ONNX external data: a file named relative to the model's folder. */
export interface ExternalTensor {
  readonly name: string;
  /** The `location` entry (undefined when the tensor names none). */
  readonly location: string | undefined;
}

/**
 * The tensors of ONNX model bytes stored as external data (`data_location: EXTERNAL`, as onnxruntime reads it:
 * `external_data` entries alone do not make a tensor external): initializers and sparse initializers of the graph and of every subgraph, and tensors held by node
 * attributes (a `Constant`'s value). Reads the protobuf wire format directly and skips every payload (raw
 * weights are never copied or decoded), so it costs next to nothing even for a model of gigabytes. Bytes that
 * are not a well-formed model give what could be read (onnxruntime then says what is wrong with them).
 */
export function externalTensors(bytes: Uint8Array): ExternalTensor[] {
  const found: ExternalTensor[] = [];
  try {
    // ModelProto.graph = 7.
    for (const [field, start, end] of messageFields(bytes, 0, bytes.length)) if (field === 7) scanGraph(bytes, start, end, found, 0);
  } catch {
    // Malformed: what was read stands.
  }
  return found;
}

/**
 * Throws when model bytes hold external data: bytes have no folder, and onnxruntime resolves such a file
 * against the process's working directory (a file of that name there would silently become the weights), or
 * fails with an opaque "model_path must not be empty".
 *
 * @throws EparaError `LOAD_FAILED` naming the first such tensor and its file.
 */
export function refuseExternalDataInBytes(bytes: Uint8Array): void {
  const external = externalTensors(bytes);
  if (external.length === 0) return;
  const t = external[0]!;
  const more = external.length > 1 ? ` (and ${external.length - 1} more)` : '';
  throw new EparaError(
    'LOAD_FAILED',
    `initializer '${t.name}'${more} is stored as external data in '${t.location ?? '?'}', which a model given as bytes has no folder to find: give the model's path instead (its external data is read from the model's own folder)`,
    { initializer: t.name, location: t.location },
  );
}

/** Subgraphs nest (an `If` in a `Loop`…); deeper than this is no model, and the scan stops there. */
const MAX_DEPTH = 64;

/** GraphProto: node = 1, initializer = 5, sparse_initializer = 15. */
function scanGraph(b: Uint8Array, from: number, to: number, found: ExternalTensor[], depth: number): void {
  if (depth > MAX_DEPTH) return;
  for (const [field, start, end] of messageFields(b, from, to)) {
    if (field === 1) scanNode(b, start, end, found, depth);
    else if (field === 5) scanTensor(b, start, end, found);
    else if (field === 15) scanSparse(b, start, end, found);
  }
}

/** NodeProto.attribute = 5; AttributeProto: t = 5, g = 6, tensors = 10, graphs = 11, sparse_tensor = 22, sparse_tensors = 23. */
function scanNode(b: Uint8Array, from: number, to: number, found: ExternalTensor[], depth: number): void {
  for (const [field, start, end] of messageFields(b, from, to)) {
    if (field !== 5) continue;
    for (const [f, s, e] of messageFields(b, start, end)) {
      if (f === 5 || f === 10) scanTensor(b, s, e, found);
      else if (f === 6 || f === 11) scanGraph(b, s, e, found, depth + 1);
      else if (f === 22 || f === 23) scanSparse(b, s, e, found);
    }
  }
}

/** SparseTensorProto: values = 1, indices = 2. */
function scanSparse(b: Uint8Array, from: number, to: number, found: ExternalTensor[]): void {
  for (const [field, start, end] of messageFields(b, from, to)) if (field === 1 || field === 2) scanTensor(b, start, end, found);
}

/** TensorProto: name = 8, external_data = 13 (key = 1, value = 2), data_location = 14 (EXTERNAL = 1). */
function scanTensor(b: Uint8Array, from: number, to: number, found: ExternalTensor[]): void {
  let name = '';
  let location: string | undefined;
  let external = false;
  let pos = from;
  while (pos < to) {
    const [key, afterKey] = varint(b, pos);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) {
      const [value, next] = varint(b, afterKey);
      if (field === 14 && value === 1) external = true;
      pos = next;
      continue;
    }
    const [start, end] = span(b, afterKey, wire, to);
    if (wire === 2 && field === 8) name = text(b, start, end);
    else if (wire === 2 && field === 13) {
      let k = '';
      let v = '';
      for (const [f, s, e] of messageFields(b, start, end)) {
        if (f === 1) k = text(b, s, e);
        else if (f === 2) v = text(b, s, e);
      }
      if (k === 'location') location = v;
    }
    pos = end;
  }
  if (external) found.push({ name, location });
}

/** The length-delimited fields of a message between `from` and `to`: `[field, start, end]` of each payload. */
export function* messageFields(b: Uint8Array, from: number, to: number): Generator<[number, number, number]> {
  let pos = from;
  while (pos < to) {
    const [key, afterKey] = varint(b, pos);
    const wire = key % 8;
    const [start, end] = span(b, afterKey, wire, to);
    if (wire === 2) yield [Math.floor(key / 8), start, end];
    pos = end;
  }
}

/** Where the payload of a field of wire type `wire` starting at `pos` lies; throws past `limit` or on a group. */
function span(b: Uint8Array, pos: number, wire: number, limit: number): [number, number] {
  let end: number;
  let start = pos;
  if (wire === 0) end = varint(b, pos)[1];
  else if (wire === 1) end = pos + 8;
  else if (wire === 5) end = pos + 4;
  else if (wire === 2) {
    const [length, after] = varint(b, pos);
    start = after;
    end = after + length;
  } else throw new Error(`wire type ${wire}`);
  if (end > limit) throw new Error('truncated');
  return [start, end];
}

/** A varint at `pos` as a number (exact to 2^53: lengths, field keys and enums) and the position after it. */
function varint(b: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= b.length) throw new Error('truncated');
    const byte = b[pos++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, pos];
    scale *= 128;
  }
  throw new Error('varint too long');
}

const decoder = new TextDecoder();

export function text(b: Uint8Array, start: number, end: number): string {
  return decoder.decode(b.subarray(start, end));
}
