import { EparaError } from '@epara/core';

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The error every decoding failure becomes. */
export function protocolError(message: string, details: Record<string, unknown> = {}): EparaError {
  return new EparaError('PROTOCOL_ERROR', message, details);
}

/**
 * A bounds-checked little-endian reader over the metadata section of a frame. Every read past the end,
 * invalid UTF-8 or out-of-range value throws `PROTOCOL_ERROR`; nothing else escapes.
 */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #pos = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.#bytes.byteLength - this.#pos;
  }

  #take(n: number, what: string): number {
    if (n > this.remaining) throw protocolError(`truncated frame: ${what} needs ${n} bytes, ${this.remaining} left`);
    const at = this.#pos;
    this.#pos += n;
    return at;
  }

  u8(what = 'u8'): number {
    return this.#view.getUint8(this.#take(1, what));
  }

  u16(what = 'u16'): number {
    return this.#view.getUint16(this.#take(2, what), true);
  }

  u32(what = 'u32'): number {
    return this.#view.getUint32(this.#take(4, what), true);
  }

  i32(what = 'i32'): number {
    return this.#view.getInt32(this.#take(4, what), true);
  }

  /** A float64; NaN is refused (infinities pass: "no capacity" is a legitimate value). */
  f64(what = 'f64'): number {
    const v = this.#view.getFloat64(this.#take(8, what), true);
    if (Number.isNaN(v)) throw protocolError(`${what} is NaN`, { field: what });
    return v;
  }

  bool(what = 'bool'): boolean {
    const v = this.u8(what);
    if (v > 1) throw protocolError(`${what} must be 0 or 1, got ${v}`, { field: what });
    return v === 1;
  }

  raw(n: number, what = 'bytes'): Uint8Array {
    const at = this.#take(n, what);
    return this.#bytes.subarray(at, at + n);
  }

  /** A UTF-8 string with a u16 byte length, at most `maxBytes`. */
  str(what = 'string', maxBytes = 0xffff): string {
    const n = this.u16(`${what} length`);
    if (n > maxBytes) throw protocolError(`${what} is ${n} bytes, above the limit of ${maxBytes}`, { field: what });
    return this.#utf8(this.raw(n, what), what);
  }

  /** A UTF-8 string with a u32 byte length, at most `maxBytes`. */
  longStr(what: string, maxBytes: number): string {
    const n = this.u32(`${what} length`);
    if (n > maxBytes) throw protocolError(`${what} is ${n} bytes, above the limit of ${maxBytes}`, { field: what });
    return this.#utf8(this.raw(n, what), what);
  }

  /** Bytes with a u16 length, copied (so they outlive the frame). */
  shortBytes(what = 'bytes', maxBytes = 0xffff): Uint8Array {
    const n = this.u16(`${what} length`);
    if (n > maxBytes) throw protocolError(`${what} is ${n} bytes, above the limit of ${maxBytes}`, { field: what });
    return this.raw(n, what).slice();
  }

  /** A count (u16) checked against a limit before anything is allocated for it. */
  count(what: string, max: number): number {
    const n = this.u16(`${what} count`);
    if (n > max) throw protocolError(`${n} ${what} exceed the limit of ${max}`, { field: what, count: n, max });
    return n;
  }

  /** Throws unless every byte was consumed (trailing garbage is malformed). */
  end(what = 'metadata'): void {
    if (this.remaining !== 0) throw protocolError(`${this.remaining} unexpected trailing bytes in ${what}`);
  }

  #utf8(bytes: Uint8Array, what: string): string {
    // Ids, codes and addresses are short ASCII, read on every frame: decoded by char code, no decoder call.
    if (bytes.byteLength <= 64) {
      let out = '';
      for (let i = 0; i < bytes.byteLength; i++) {
        const c = bytes[i]!;
        if (c >= 0x80) return this.#decode(bytes, what);
        out += String.fromCharCode(c);
      }
      return out;
    }
    return this.#decode(bytes, what);
  }

  #decode(bytes: Uint8Array, what: string): string {
    try {
      return decoder.decode(bytes);
    } catch {
      throw protocolError(`${what} is not valid UTF-8`, { field: what });
    }
  }
}
