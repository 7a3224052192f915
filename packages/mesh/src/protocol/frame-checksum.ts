/*
 * CRC-32C (Castagnoli) of a frame, slice-by-8: eight table lookups per 8 bytes. TCP's own 16-bit checksum
 * misses some corruption (and a proxy, a faulty NIC offload or a broker's memory sits outside it); a flipped bit
 * in a result's tensor bytes would otherwise reach the caller as a wrong answer.
 */

const POLY = 0x82f63b78;

const TABLES: readonly Int32Array[] = (() => {
  const t = Array.from({ length: 8 }, () => new Int32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[0]![n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) t[k]![n] = (t[k - 1]![n]! >>> 8) ^ t[0]![t[k - 1]![n]! & 0xff]!;
  }
  return t;
})();

/** Continues a CRC-32C over `bytes[start, end)` from the running (pre-inverted) value `crc`. */
function update(crc: number, bytes: Uint8Array, start: number, end: number): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];
  let c = crc;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const lo = c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    c =
      t7[lo & 0xff]! ^
      t6[(lo >>> 8) & 0xff]! ^
      t5[(lo >>> 16) & 0xff]! ^
      t4[lo >>> 24]! ^
      t3[bytes[i + 4]!]! ^
      t2[bytes[i + 5]!]! ^
      t1[bytes[i + 6]!]! ^
      t0[bytes[i + 7]!]!;
  }
  for (; i < end; i++) c = (c >>> 8) ^ t0[(c ^ bytes[i]!) & 0xff]!;
  return c;
}

/**
 * CRC-32C of `bytes`, leaving out the four bytes at `skip` (where the checksum itself is stored).
 *
 * @example
 * ```ts
 * crc32c(new TextEncoder().encode('123456789')); // 0xe3069283
 * ```
 */
export function crc32c(bytes: Uint8Array, skip?: number): number {
  if (skip === undefined) return (update(-1, bytes, 0, bytes.byteLength) ^ -1) >>> 0;
  const head = update(-1, bytes, 0, skip);
  return (update(head, bytes, skip + 4, bytes.byteLength) ^ -1) >>> 0;
}
