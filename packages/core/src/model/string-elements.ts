/**
 * The length-prefixed form of a string tensor's elements — per element a 4-byte little-endian byte length, then
 * its UTF-8 bytes — which both the Open Inference Protocol (BYTES in binary data and `raw_*_contents`) and the
 * mesh's wire format use. Each caller words its own errors from a {@link StringElementsFault}.
 */

// Core compiles with no host types; every JavaScript host EPARA runs on (Node 20+, browsers) has both codecs.
declare const TextEncoder: new () => { encode(text: string): Uint8Array };
declare const TextDecoder: new (label: 'utf-8', options: { fatal: boolean }) => { decode(bytes: Uint8Array): string };

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Why bytes are not `count` length-prefixed UTF-8 strings that fill them exactly. */
export type StringElementsFault =
  /** Element `index` has fewer than 4 bytes (`left`) for its length. */
  | { readonly fault: 'no-length'; readonly index: number; readonly left: number }
  /** Element `index`'s length prefix says `length` bytes, only `left` remain. */
  | { readonly fault: 'overrun'; readonly index: number; readonly length: number; readonly left: number }
  /** Element `index`'s bytes are not valid UTF-8. */
  | { readonly fault: 'not-utf8'; readonly index: number }
  /** The `count` elements end after `used` bytes, before the end of the data. */
  | { readonly fault: 'leftover'; readonly used: number };

/** `strings` in the length-prefixed form. */
export function encodeStringElements(strings: readonly string[]): Uint8Array {
  const parts = strings.map((s) => utf8.encode(s));
  let total = 0;
  for (const p of parts) total += 4 + p.byteLength;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const p of parts) {
    view.setUint32(at, p.byteLength, true);
    out.set(p, at + 4);
    at += 4 + p.byteLength;
  }
  return out;
}

/** Reads `count` length-prefixed UTF-8 strings that must fill `bytes` exactly; a fault says where they do not. */
export function decodeStringElements(bytes: Uint8Array, count: number): string[] | StringElementsFault {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = [];
  let at = 0;
  for (let index = 0; index < count; index++) {
    if (at + 4 > bytes.byteLength) return { fault: 'no-length', index, left: bytes.byteLength - at };
    const length = view.getUint32(at, true);
    at += 4;
    if (length > bytes.byteLength - at) return { fault: 'overrun', index, length, left: bytes.byteLength - at };
    try {
      out.push(utf8Strict.decode(bytes.subarray(at, at + length)));
    } catch {
      return { fault: 'not-utf8', index };
    }
    at += length;
  }
  return at === bytes.byteLength ? out : { fault: 'leftover', used: at };
}
