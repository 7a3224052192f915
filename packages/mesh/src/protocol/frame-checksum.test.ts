import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frameCrc32 } from './frame-checksum.js';

// Bit by bit, as the polynomial is defined: the reference zlib's native CRC must agree with.
function reference(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

describe('frameCrc32 (CRC-32, IEEE)', () => {
  it('matches the standard check value and the empty input', () => {
    expect(frameCrc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(frameCrc32(new Uint8Array(0))).toBe(0);
  });

  it('agrees with the bitwise definition at every length and offset, and skips the checksum field', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(8), (raw, offset) => {
        const bytes = new Uint8Array(raw.byteLength + offset).subarray(offset);
        bytes.set(raw);
        expect(frameCrc32(bytes)).toBe(reference(bytes));
        if (bytes.byteLength >= 4) {
          const without = new Uint8Array([...bytes.subarray(0, 0), ...bytes.subarray(4)]);
          expect(frameCrc32(bytes, 0)).toBe(reference(without));
        }
      }),
      { seed: 7 },
    );
  });

  it('changes with any single flipped bit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), fc.nat(7), (bytes, at, bit) => {
        const flipped = Uint8Array.from(bytes);
        flipped[at % bytes.length]! ^= 1 << bit;
        expect(frameCrc32(flipped)).not.toBe(frameCrc32(bytes));
      }),
      { seed: 11 },
    );
  });
});
