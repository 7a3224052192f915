import { describe, expect, it } from 'vitest';
import { totalDemandRate } from './demand.js';
import { tensorsByteLength } from './tensor.js';

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
});
