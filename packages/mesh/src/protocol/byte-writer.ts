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
    const bytes = encoder.encode(v);
    if (bytes.byteLength > Math.min(maxBytes, 0xffff)) {
      throw new EparaError('INVALID_INPUT', `${field} is ${bytes.byteLength} bytes of UTF-8, above the limit of ${maxBytes}`, { field });
    }
    this.u16(bytes.byteLength);
    this.raw(bytes);
  }

  /** A UTF-8 string with a u32 byte length (JSON payloads). */
  longStr(v: string, maxBytes: number, field = 'payload'): void {
    const bytes = encoder.encode(v);
    if (bytes.byteLength > maxBytes) {
      throw new EparaError('INVALID_INPUT', `${field} is ${bytes.byteLength} bytes, above the limit of ${maxBytes}`, { field });
    }
    this.u32(bytes.byteLength);
    this.raw(bytes);
  }

  /** Bytes with a u16 length (nonces, proofs). */
  shortBytes(v: Uint8Array, field = 'bytes'): void {
    if (v.byteLength > 0xffff) throw new EparaError('INVALID_INPUT', `${field} is longer than 65535 bytes`, { field });
    this.u16(v.byteLength);
    this.raw(v);
  }
}
