import { describe, expect, it } from 'vitest';
import { totalDemandRate } from './demand.js';
import { tensorsByteLength, utf8ByteLength } from './tensor.js';

describe('model helpers', () => {
  it('totalDemandRate sums requests and stream rates', () => {
    expect(
      totalDemandRate({ serviceId: 's', ratePerServer: { a: 10, b: 5 }, streams: [{ accessServer: 'a', rateHz: 30 }] }),
    ).toBe(45);
    expect(totalDemandRate({ serviceId: 's', ratePerServer: {} })).toBe(0);
  });

  it('tensorsByteLength counts the bytes of every tensor', () => {
    const bytes = tensorsByteLength({
      x: { type: 'float32', dims: [2, 3], data: new Float32Array(6) },
      y: { type: 'int64', dims: [1], data: new BigInt64Array(1) },
    });
    expect(bytes).toBe(6 * 4 + 8);
  });

  it('counts a string tensor as its elements in UTF-8, each with a 4-byte length prefix', () => {
    const words = ['a', 'é', '日本', '🎉', '', '\ud800x'];
    for (const w of words) expect(utf8ByteLength(w), JSON.stringify(w)).toBe(new TextEncoder().encode(w).byteLength);
    expect(tensorsByteLength({ s: { type: 'string', dims: [words.length], data: words } })).toBe(words.length * 4 + 1 + 2 + 6 + 4 + 0 + 4);
  });
});
