import { describe, expect, it } from 'vitest';
import { affineProfile } from '../profiles/latency-profile.js';
import type { ServiceSpec } from '../model/service.js';
import { checkMultiTask } from './multi-task.js';

// checkMultiTask's documented rules at their edges, with figures worked by hand.
const MB = 1e6;
const seg: ServiceSpec = {
  id: 'seg',
  sensitivity: 'latency',
  slo: { kind: 'latency', deadlineMs: 100 },
  memory: { weightsBytes: 5 * MB, perItemBytes: 2 * MB },
  profiles: { cpu: affineProfile('cpu', { fixedMs: 4, perItemMs: 6 }) },
};
const other: ServiceSpec = { ...seg, id: 'other' };

describe('checkMultiTask at its edges', () => {
  it('fits members whose weights and packs fill the usable memory exactly, and flags one byte less', () => {
    // (5 + 2·2) MB per member, two members: 18 MB; with no reserve the whole device is usable.
    const members = [{ service: seg, batchSize: 2 }, { service: other, batchSize: 2 }];
    const fits = checkMultiTask({ device: { kind: 'cpu', memoryBytes: 18 * MB }, members, options: { reserveFraction: 0 } });
    expect(fits.memoryBytes).toBe(18 * MB);
    expect(fits.usableMemoryBytes).toBe(18 * MB);
    expect(fits.failed).toEqual([]);
    expect(fits.feasible).toBe(true);
    const short = checkMultiTask({ device: { kind: 'cpu', memoryBytes: 18 * MB - 1 }, members, options: { reserveFraction: 0 } });
    expect(short.failed).toEqual(['memory']);
    expect(short.feasible).toBe(false);
  });

  it('fails a member with no profile for the device kind, and the set with it', () => {
    const gpuOnly: ServiceSpec = { ...seg, id: 'gpu-only', profiles: { gpu: affineProfile('gpu', { fixedMs: 1, perItemMs: 1 }) } };
    const v = checkMultiTask({ device: { kind: 'cpu', memoryBytes: 1000 * MB }, members: [{ service: seg, batchSize: 1 }, { service: gpuOnly, batchSize: 1 }] });
    expect(v.members[1]).toMatchObject({ serviceId: 'gpu-only', failed: ['profile'] });
    expect(v.members[1]!.runMs).toBeNaN();
    expect(v.failed).toContain('profile');
    expect(v.feasible).toBe(false);
    // The member without a profile adds nothing to the cycle: only seg's 4 + 6 ms.
    expect(v.cycleMs).toBe(10);
  });

  it('names the member whose service is invalid', () => {
    const bad = { ...seg, memory: { weightsBytes: -1, perItemBytes: 0 } };
    expect(() => checkMultiTask({ device: { kind: 'cpu', memoryBytes: 1000 * MB }, members: [{ service: seg, batchSize: 1 }, { service: bad, batchSize: 1 }] })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: expect.stringMatching(/^members\[1\]\.service/) }) }),
    );
  });
});

describe('checkMultiTask member rates', () => {
  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('rejects a member rate of %d naming the member', (rate) => {
    expect(() => checkMultiTask({ device: { kind: 'cpu', memoryBytes: 1000 * MB }, members: [{ service: seg, batchSize: 1 }, { service: other, batchSize: 1, ratePerSec: rate }] })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'members[1].ratePerSec' }) }),
    );
  });
});
