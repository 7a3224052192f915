/*
 * CRC-32 (IEEE 802.3, zlib's) of a frame, computed by Node's zlib binding. TCP's own 16-bit checksum misses some
 * corruption (and a proxy, a faulty NIC offload or a broker's memory sits outside it); a flipped bit in a result's
 * tensor bytes would otherwise reach the caller as a wrong answer. zlib's native CRC runs at several GB/s, 5–10×
 * a sliced table in JavaScript, so checking every frame costs well under a millisecond per 4 MiB.
 */
import { crc32 as zlibCrc32 } from 'node:zlib';

/**
 * CRC-32 of `bytes`, leaving out the four bytes at `skip` (where the checksum itself is stored).
 *
 * @example
 * ```ts
 * frameCrc32(new TextEncoder().encode('123456789')); // 0xcbf43926
 * ```
 */
export function frameCrc32(bytes: Uint8Array, skip?: number): number {
  if (skip === undefined) return zlibCrc32(bytes);
  return zlibCrc32(bytes.subarray(skip + 4), zlibCrc32(bytes.subarray(0, skip)));
}

/** CRC-32 of `bytes` continued from `crc` (the CRC of the bytes before them; none: a new one). */
export function crc32Update(bytes: Uint8Array, crc?: number): number {
  return crc === undefined ? zlibCrc32(bytes) : zlibCrc32(bytes, crc);
}
