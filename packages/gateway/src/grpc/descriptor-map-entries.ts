import { WireReader, WireWriter } from './proto-wire.js';

/** One field of a message as it was encoded: its number, its bytes (tag included), and a length-delimited one's payload. */
interface RawField {
  readonly field: number;
  readonly bytes: Buffer;
  readonly payload: Buffer | undefined;
}

function fieldsOf(message: Buffer): RawField[] {
  const r = new WireReader(message);
  const out: RawField[] = [];
  while (!r.done) {
    const start = r.pos;
    const tag = r.uint32();
    const field = tag >>> 3;
    if ((tag & 7) === 2) {
      const [s, e] = r.bytesRange();
      out.push({ field, bytes: message.subarray(start, e), payload: message.subarray(s, e) });
    } else {
      r.skip(tag & 7, field);
      out.push({ field, bytes: message.subarray(start, r.pos), payload: undefined });
    }
  }
  return out;
}

function lengthDelimited(field: number, payload: Uint8Array): Buffer {
  const w = new WireWriter(10 + 5 + payload.byteLength);
  w.bytes(field, payload);
  return w.buf.subarray(0, w.pos);
}

/** A message with its string field `field` (the first of that number) set to `value`. */
function withString(message: Buffer, field: number, value: string): Buffer {
  let done = false;
  return Buffer.concat(
    fieldsOf(message).map((f) => {
      if (f.field !== field || done) return f.bytes;
      done = true;
      return lengthDelimited(field, Buffer.from(value));
    }),
  );
}

const text = (fields: RawField[], field: number): string => fields.find((f) => f.field === field)?.payload?.toString('utf8') ?? '';

/** `DescriptorProto.options.map_entry` (options: field 7, map_entry: field 7 of `MessageOptions`). */
function isMapEntry(message: RawField[]): boolean {
  const options = message.find((f) => f.field === 7)?.payload;
  if (!options) return false;
  const r = new WireReader(options);
  let entry = false;
  while (!r.done) {
    const tag = r.uint32();
    if (tag === ((7 << 3) | 0)) entry = r.uint32() !== 0;
    else r.skip(tag & 7, tag >>> 3);
  }
  return entry;
}

/** protoc's name of a map field's entry type: the field's name in CamelCase, then `Entry` (`max_size` → `MaxSizeEntry`). */
export function mapEntryName(field: string): string {
  return `${field.split('_').map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('')}Entry`;
}

/** A `DescriptorProto` whose map fields' entry types (its own and its nested types') carry protoc's names. */
function fixMessage(message: Buffer): Buffer {
  const fields = fieldsOf(message);
  const nested = new Map<RawField, Buffer>();
  const entries = new Set<string>();
  for (const f of fields) {
    if (f.field !== 3) continue;
    const fixed = fixMessage(f.payload!);
    nested.set(f, fixed);
    const inner = fieldsOf(fixed);
    if (isMapEntry(inner)) entries.add(text(inner, 1));
  }
  // Each map field (FieldDescriptorProto: name 1, type_name 6) names its entry type; rename both to protoc's name.
  const renamed = new Map<string, string>();
  const fieldOut = new Map<RawField, Buffer>();
  for (const f of fields) {
    if (f.field !== 2) continue;
    const inner = fieldsOf(f.payload!);
    const typeName = text(inner, 6);
    const last = typeName.slice(typeName.lastIndexOf('.') + 1);
    if (!entries.has(last)) continue;
    const want = mapEntryName(text(inner, 1));
    if (want === last) continue;
    renamed.set(last, want);
    fieldOut.set(f, lengthDelimited(2, withString(f.payload!, 6, typeName.slice(0, typeName.length - last.length) + want)));
  }
  return Buffer.concat(
    fields.map((f) => {
      const out = fieldOut.get(f);
      if (out) return out;
      const fixed = nested.get(f);
      if (!fixed) return f.bytes;
      const name = renamed.get(text(fieldsOf(fixed), 1));
      return lengthDelimited(3, name === undefined ? fixed : withString(fixed, 1, name));
    }),
  );
}

/**
 * A serialized `FileDescriptorProto` from protobuf.js (what `@grpc/proto-loader` makes) with each map field's entry
 * type named as protoc names it. protobuf.js names it after the field alone (`parameters` → `Parameters`), which
 * protoc's own descriptor check refuses, and so do Go's protodesc (under grpcurl) and Python's protobuf: a
 * reflection client could list the services but not load the file that describes them.
 */
export function withProtocMapEntries(file: Buffer): Buffer {
  return Buffer.concat(fieldsOf(file).map((f) => (f.field === 4 ? lengthDelimited(4, fixMessage(f.payload!)) : f.bytes)));
}
