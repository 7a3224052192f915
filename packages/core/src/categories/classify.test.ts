import { describe, expect, it } from 'vitest';
import type { ServiceSpec } from '../model/service.js';
import { classify } from './classify.js';
import { deviceKindsOf } from './device-kinds.js';
import { segDeviceKinds, segService } from '../testing/classify-fixture.js';

const GB = 1e9;
const seg = segService;
const kinds = segDeviceKinds;

describe('classify', () => {
  it('is single when one device keeps up, and names the best kind and its capacity', () => {
    // The profile is affine; let plans extrapolate it past its last measured batch (default: stay within it).
    const c = classify({ service: seg, demandPerSec: 100, deviceKinds: kinds, options: { profileExtrapolation: Infinity } });
    expect(c.category).toEqual({ sensitivity: 'latency', devices: 'single' });
    expect(c.bestKind).toBe('gpu');
    expect(c.bestCapacityPerSec).toBeCloseTo(96_000 / 50); // b = 96: 2·(2 + 0.5b) ≤ 100
    expect(c.memoryNeedBytes).toBe(0.12 * GB);
    expect(c.largestUsableMemoryBytes).toBeCloseTo(7.2 * GB);
  });

  it('is multi/compute when demand exceeds the best single-device capacity', () => {
    const c = classify({ service: seg, demandPerSec: 5000, deviceKinds: kinds });
    expect(c.category).toEqual({ sensitivity: 'latency', devices: 'multi', reason: 'compute' });
  });

  it('is multi/memory when weights plus one item exceed the largest usable memory of a profiled kind', () => {
    const llm = { ...seg, memory: { weightsBytes: 7.5 * GB, perItemBytes: 0.1 * GB } };
    const c = classify({ service: llm, demandPerSec: 1, deviceKinds: [...kinds, { kind: 'unprofiled', memoryBytes: 80 * GB }] });
    expect(c.category).toEqual({ sensitivity: 'latency', devices: 'multi', reason: 'memory' });
    expect(c.bestKind).toBeUndefined();
    expect(c.kinds.every((k) => !k.canHost)).toBe(true);
  });

  it('keeps the declared sensitivity and uses the best pack rate for frequency services', () => {
    const video: ServiceSpec = { ...seg, id: 'video', sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 30, stalenessMs: 200 } };
    const c = classify({ service: video, demandPerSec: 60, deviceKinds: [{ kind: 'cpu', memoryBytes: 4 * GB }] });
    expect(c.category).toEqual({ sensitivity: 'frequency', devices: 'single' });
    // best n with (n−1)·L(n)/n + L(n) ≤ 200, L = 4 + 6n → n = 16 (196.25 ms): 16000/100 = 160/s
    expect(c.bestCapacityPerSec).toBeCloseTo(160);
    expect(classify({ service: video, demandPerSec: 200, deviceKinds: [{ kind: 'cpu', memoryBytes: 4 * GB }] }).category.reason).toBe('compute');
  });

  it('throws INVALID_OPTIONS for empty kinds or bad demand', () => {
    expect(() => classify({ service: seg, demandPerSec: 1, deviceKinds: [] })).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'deviceKinds' }) }));
    expect(() => classify({ service: seg, demandPerSec: Number.NaN, deviceKinds: kinds })).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'demandPerSec' }) }));
    expect(() => classify({ service: seg, demandPerSec: 1, deviceKinds: [{ kind: 'cpu', memoryBytes: -1 }] })).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'deviceKinds[0].memoryBytes' }) }));
  });
});

describe('deviceKindsOf', () => {
  it('lists distinct kind/memory pairs of healthy devices on healthy servers, sorted', () => {
    const kindsOut = deviceKindsOf([
      { id: 'a', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }, { id: 'c0', kind: 'cpu', memoryBytes: 8 * GB }] },
      { id: 'b', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }, { id: 'g1', kind: 'gpu', memoryBytes: 24 * GB, healthy: false }] },
      { id: 'c', healthy: false, devices: [{ id: 'g0', kind: 'tpu', memoryBytes: 8 * GB }] },
      { id: 'd', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 12 * GB }] },
    ]);
    expect(kindsOut).toEqual([
      { kind: 'cpu', memoryBytes: 8 * GB, maxPerServer: 1 },
      { kind: 'gpu', memoryBytes: 12 * GB, maxPerServer: 1 },
      { kind: 'gpu', memoryBytes: 16 * GB, maxPerServer: 1 },
    ]);
    const pairs = deviceKindsOf([
      { id: 'a', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }, { id: 'g1', kind: 'gpu', memoryBytes: 24 * GB }, { id: 'g2', kind: 'gpu', memoryBytes: 24 * GB }] },
    ]);
    // a 16 GB plan fits all three devices of server a; a 24 GB plan only two
    expect(pairs).toEqual([{ kind: 'gpu', memoryBytes: 16 * GB, maxPerServer: 3 }, { kind: 'gpu', memoryBytes: 24 * GB, maxPerServer: 2 }]);
  });

  it('rejects a server without a device array', () => {
    expect(() => deviceKindsOf([{ id: 'a' } as never])).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'servers[0].devices' }) }));
  });
});
