import { describe, expect, it } from 'vitest';
import { affineProfile } from '../profiles/latency-profile.js';
import type { ServiceSpec } from '../model/service.js';
import { classify, singleCapacity } from './classify.js';
import { segDeviceKinds, segService } from '../testing/classify-fixture.js';

const GB = 1e9;
const seg = segService;
const kinds = segDeviceKinds;

describe('classify at its edges', () => {
  it('is single at a demand equal to the best capacity, compute just above it', () => {
    const best = classify({ service: seg, demandPerSec: 0, deviceKinds: kinds }).bestCapacityPerSec;
    expect(classify({ service: seg, demandPerSec: best, deviceKinds: kinds }).category.devices).toBe('single');
    expect(classify({ service: seg, demandPerSec: best * 1.001, deviceKinds: kinds }).category).toEqual({ sensitivity: 'latency', devices: 'multi', reason: 'compute' });
  });

  it('hosts one instance in exactly its memory need, and not a byte less', () => {
    const exact = classify({ service: seg, demandPerSec: 1, deviceKinds: [{ kind: 'gpu', memoryBytes: 0.12 * GB }], options: { reserveFraction: 0 } });
    expect(exact.kinds[0]!.canHost).toBe(true);
    expect(exact.category.devices).toBe('single');
    const short = classify({ service: seg, demandPerSec: 1, deviceKinds: [{ kind: 'gpu', memoryBytes: 0.12 * GB - 1 }], options: { reserveFraction: 0 } });
    expect(short.kinds[0]).toEqual({ kind: 'gpu', memoryBytes: 0.12 * GB - 1, canHost: false, capacityPerSec: 0 });
    expect(short.category).toEqual({ sensitivity: 'latency', devices: 'multi', reason: 'memory' });
  });

  it('takes the largest usable memory among profiled kinds only, or among all kinds when none is profiled', () => {
    const withTpu = classify({ service: seg, demandPerSec: 1, deviceKinds: [...kinds, { kind: 'tpu', memoryBytes: 64 * GB }], options: { reserveFraction: 0 } });
    expect(withTpu.largestUsableMemoryBytes).toBe(8 * GB);
    expect(withTpu.kinds.find((k) => k.kind === 'tpu')).toEqual({ kind: 'tpu', memoryBytes: 64 * GB, canHost: false, capacityPerSec: 0 });
    const none = classify({ service: seg, demandPerSec: 1, deviceKinds: [{ kind: 'tpu', memoryBytes: 64 * GB }], options: { reserveFraction: 0 } });
    expect(none.largestUsableMemoryBytes).toBe(64 * GB);
    expect(none.bestCapacityPerSec).toBe(0);
    expect('bestKind' in none).toBe(false);
    expect(none.category.reason).toBe('compute');
  });

  it('names the first kind of the highest capacity', () => {
    const twin: ServiceSpec = { ...seg, profiles: { ...seg.profiles, gpu2: affineProfile('gpu2', { fixedMs: 2, perItemMs: 0.5 }) } };
    const twins = [{ kind: 'gpu', memoryBytes: 8 * GB }, { kind: 'gpu2', memoryBytes: 8 * GB }, { kind: 'cpu', memoryBytes: 4 * GB }];
    const c = classify({ service: twin, demandPerSec: 1, deviceKinds: twins });
    expect(c.kinds[1]!.capacityPerSec).toBe(c.kinds[0]!.capacityPerSec);
    expect(c.bestKind).toBe('gpu');
    expect(classify({ service: twin, demandPerSec: 1, deviceKinds: [twins[1]!, twins[0]!] }).bestKind).toBe('gpu2');
    expect(c.bestCapacityPerSec).toBe(c.kinds[0]!.capacityPerSec);
    expect(c.kinds[2]!.capacityPerSec).toBeLessThan(c.bestCapacityPerSec);
  });
});

describe('singleCapacity', () => {
  it('is 0 for a latency service whose deadline one item cannot meet, and for a kind without a profile', () => {
    expect(singleCapacity({ ...seg, slo: { kind: 'latency', deadlineMs: 1 } }, kinds[0]!)).toBe(0);
    const video: ServiceSpec = { ...seg, id: 'video', sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 30, stalenessMs: 200 } };
    expect(singleCapacity(video, { kind: 'tpu', memoryBytes: GB })).toBe(0);
    expect(singleCapacity(video, kinds[1]!)).toBeGreaterThan(0);
  });
});
