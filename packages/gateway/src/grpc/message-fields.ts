/** Writing protobuf messages field by field, for the answers the gateway encodes by hand. */
import { WireWriter, varintSize } from './proto-wire.js';

/** A message under construction: its fields, each already encoded. */
export type Fields = Buffer[];

export function field(fields: Fields, size: number, write: (w: WireWriter) => void): void {
  const w = new WireWriter(size);
  write(w);
  fields.push(w.buf.subarray(0, w.pos));
}

export function stringField(fields: Fields, n: number, s: string): void {
  if (s === '') return; // proto3 leaves defaults out
  const len = Buffer.byteLength(s);
  field(fields, 10 + 5 + len, (w) => w.string(n, s, len));
}

export function varintField(fields: Fields, n: number, v: number): void {
  if (v === 0) return;
  field(fields, 10 + varintSize(v), (w) => (w.tag(n, 0), w.varint(v)));
}

export function messageField(fields: Fields, n: number, body: Buffer): void {
  field(fields, 10 + 5 + body.length, (w) => w.bytes(n, body));
}
