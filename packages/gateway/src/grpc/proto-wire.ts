/**
 * Protocol buffers wire format, the few pieces the `ModelInfer` codec needs: a bounds-checked reader
 * (varints, fixed 32/64, length-delimited fields, skipping unknown fields) and a writer into one buffer whose
 * size is computed first.
 */

/** Thrown by the reader on bytes that are not a valid message; the codec turns it into `INVALID_INPUT`. */
export class WireError extends Error {}

const TWO_32 = 4294967296;

/** Reads one message (or a sub-message: a window of the same buffer). */
export class WireReader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint's low 32 bits, unsigned (enough for tags, lengths, bool, int32 and uint32 fields). */
  uint32(): number {
    const b = this.buf;
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('message ends inside a varint');
      const byte = b[this.pos++]!;
      if (shift < 32) result |= (byte & 0x7f) << shift;
      if (byte < 0x80) return result >>> 0;
      shift += 7;
    }
    throw new WireError('varint longer than 10 bytes');
  }

  /**
   * A 64-bit varint as tensor data needs it: a number while it is a safe integer, else the exact `bigint`
   * (an id, a hash or a timestamp in ns past 2^53, which {@link int64} would round).
   */
  int64Exact(signed: boolean): number | bigint {
    const start = this.pos;
    const n = this.int64(signed);
    if (Number.isSafeInteger(n)) return n;
    let v = 0n;
    for (let i = start, shift = 0n; i < this.pos; i++, shift += 7n) v |= BigInt(this.buf[i]! & 0x7f) << shift;
    return signed ? BigInt.asIntN(64, v) : BigInt.asUintN(64, v);
  }

  /** A 64-bit varint as a number (the protocol's int64 as `longs: Number` gives it: high * 2^32 + low). */
  int64(signed: boolean): number {
    const b = this.buf;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('message ends inside a varint');
      const byte = b[this.pos++]!;
      const bits = byte & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= bits << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (byte < 0x80) return (signed ? hi | 0 : hi >>> 0) * TWO_32 + (lo >>> 0);
    }
    throw new WireError('varint longer than 10 bytes');
  }

  /** The bounds `[start, end)` of a length-delimited field's bytes. */
  bytesRange(): [number, number] {
    const n = this.uint32();
    const start = this.pos;
    if (n > this.end - start) throw new WireError(`a field claims ${n} bytes but only ${this.end - start} remain`);
    this.pos = start + n;
    return [start, start + n];
  }

  string(): string {
    const [s, e] = this.bytesRange();
    return this.buf.toString('utf8', s, e);
  }

  float(): number {
    if (this.end - this.pos < 4) throw new WireError('message ends inside a fixed32');
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }

  double(): number {
    if (this.end - this.pos < 8) throw new WireError('message ends inside a fixed64');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Skips a field of wire type `wire` (after its tag), as decoders of other versions of the message do. */
  skip(wire: number, field: number): void {
    switch (wire) {
      case 0:
        this.int64(false);
        return;
      case 1:
        this.#advance(8);
        return;
      case 2:
        this.bytesRange();
        return;
      case 5:
        this.#advance(4);
        return;
      case 3:
        for (;;) {
          const tag = this.uint32();
          if ((tag & 7) === 4) {
            if (tag >>> 3 !== field) throw new WireError(`group ${field} closed by the end of group ${tag >>> 3}`);
            return;
          }
          this.skip(tag & 7, tag >>> 3);
        }
      default:
        throw new WireError(`invalid wire type ${wire} (field ${field})`);
    }
  }

  #advance(n: number): void {
    if (this.end - this.pos < n) throw new WireError('message ends inside a field');
    this.pos += n;
  }
}

/** Bytes of a varint holding `v` (a non-negative integer below 2^53, or a negative one: 10 bytes). */
export function varintSize(v: number): number {
  if (v < 0) return 10;
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Writes into a buffer sized beforehand. */
export class WireWriter {
  readonly buf: Buffer;
  pos: number;

  /** `size` bytes of message after `headroom` bytes the caller fills itself (a gRPC message prefix). */
  constructor(size: number, headroom = 0) {
    this.buf = Buffer.allocUnsafe(headroom + size);
    this.pos = headroom;
  }

  /** A varint of a safe integer; negatives as 64-bit two's complement (10 bytes), as int64 fields do. */
  varint(v: number): void {
    const b = this.buf;
    if (v >= 0 && v < 0x80000000) {
      while (v >= 0x80) {
        b[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      b[this.pos++] = v;
      return;
    }
    let big = BigInt.asUintN(64, BigInt(v));
    while (big >= 0x80n) {
      b[this.pos++] = Number(big & 0x7fn) | 0x80;
      big >>= 7n;
    }
    b[this.pos++] = Number(big);
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.byteLength);
    this.buf.set(data, this.pos);
    this.pos += data.byteLength;
  }

  /** A string field whose UTF-8 length `len` was computed when sizing. */
  string(field: number, s: string, len: number): void {
    this.tag(field, 2);
    this.varint(len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }

  double(field: number, v: number): void {
    this.tag(field, 1);
    this.pos = this.buf.writeDoubleLE(v, this.pos);
  }
}
