import { EparaError } from '@epara/core';

const encoder = new TextEncoder();

function checkUint(v: number, max: number, field: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new EparaError('INVALID_INPUT', `${field} must be an integer in [0, ${max}], got ${String(v)}`, { field });
  }
}

/**
 * A growable little-endian writer for the metadata section of a frame. Strings are UTF-8 with a u16 byte
 * length (ids, codes, messages) or a u32 byte length (JSON payloads).
 */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;

  constructor(initialBytes = 256) {
    this.#buf = new Uint8Array(initialBytes);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#pos;
  }

  /** Forgets what was written (the buffer is kept): a writer reused frame after frame allocates nothing. */
  reset(): void {
    this.#pos = 0;
  }

  /** Bytes the buffer holds now (what a reused writer keeps allocated). */
  get capacity(): number {
    return this.#buf.byteLength;
  }

  /** The written bytes (a view, valid until the next write). */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.byteLength) return;
    let size = this.#buf.byteLength * 2;
    while (size < this.#pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  u8(v: number, field = 'u8'): void {
    checkUint(v, 0xff, field);
    this.#ensure(1);
    this.#view.setUint8(this.#pos, v);
    this.#pos += 1;
  }

  u16(v: number, field = 'u16'): void {
    checkUint(v, 0xffff, field);
    this.#ensure(2);
    this.#view.setUint16(this.#pos, v, true);
    this.#pos += 2;
  }

  u32(v: number, field = 'u32'): void {
    checkUint(v, 0xffffffff, field);
    this.#ensure(4);
    this.#view.setUint32(this.#pos, v, true);
    this.#pos += 4;
  }

  i32(v: number, field = 'i32'): void {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
      throw new EparaError('INVALID_INPUT', `${field} must be a 32-bit integer, got ${String(v)}`, { field });
    }
    this.#ensure(4);
    this.#view.setInt32(this.#pos, v, true);
    this.#pos += 4;
  }

  /** @throws EparaError `INVALID_INPUT` for NaN or a non-number (the reader refuses NaN). */
  f64(v: number, field = 'number'): void {
    if (typeof v !== 'number' || Number.isNaN(v)) throw new EparaError('INVALID_INPUT', `${field} must be a number, got ${String(v)}`, { field });
    this.#ensure(8);
    this.#view.setFloat64(this.#pos, v, true);
    this.#pos += 8;
  }

  bool(v: boolean): void {
    this.u8(v ? 1 : 0);
  }

  raw(bytes: Uint8Array): void {
    this.#ensure(bytes.byteLength);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.byteLength;
  }

  /** A UTF-8 string with a u16 byte length, at most `maxBytes`. @throws EparaError `INVALID_INPUT` when longer */
  str(v: string, maxBytes = 0xffff, field = 'string'): void {
    this.#utf8(v, 2, Math.min(maxBytes, 0xffff), field, 'of UTF-8');
  }

  /** A UTF-8 string with a u32 byte length (JSON payloads). */
  longStr(v: string, maxBytes: number, field = 'payload'): void {
    this.#utf8(v, 4, maxBytes, field, '');
  }

  /**
   * Writes `v` as UTF-8 straight into the buffer after a `lengthBytes` length prefix: no intermediate array
   * (ids, codes and messages are written for every frame). ASCII is copied by char code; anything else goes
   * through `TextEncoder.encodeInto` into room for its worst case (3 bytes per UTF-16 unit).
   */
  #utf8(value: string, lengthBytes: 2 | 4, maxBytes: number, field: string, unit: string): void {
    // As `TextEncoder.encode` did: `undefined` is the empty string, anything else its string form.
    const v = typeof value === 'string' ? value : value === undefined ? '' : String(value);
    const start = this.#pos;
    this.#ensure(lengthBytes + v.length * 3);
    const at = start + lengthBytes;
    let n = 0;
    const buf = this.#buf;
    for (; n < v.length; n++) {
      const c = v.charCodeAt(n);
      if (c >= 0x80) break;
      buf[at + n] = c;
    }
    if (n < v.length) n += encoder.encodeInto(v.slice(n), buf.subarray(at + n)).written;
    if (n > maxBytes) {
      throw new EparaError('INVALID_INPUT', `${field} is ${n} bytes${unit ? ` ${unit}` : ''}, above the limit of ${maxBytes}`, { field });
    }
    if (lengthBytes === 2) this.#view.setUint16(start, n, true);
    else this.#view.setUint32(start, n, true);
    this.#pos = at + n;
  }

  /** Bytes with a u16 length (nonces, proofs). */
  shortBytes(v: Uint8Array, field = 'bytes'): void {
    if (v.byteLength > 0xffff) throw new EparaError('INVALID_INPUT', `${field} is longer than 65535 bytes`, { field });
    this.u16(v.byteLength);
    this.raw(v);
  }
}
