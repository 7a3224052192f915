import { createProfile, type LatencyProfile } from '@epara/core';
import { describe, expect, it } from 'vitest';
import type { ExecutorServiceOptions } from './executor-options.js';
import { instanceSizes } from './instance-sizes.js';

const service: ExecutorServiceOptions = { id: 's', model: 'm.onnx', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 20 } };
const sizes = (profile: LatencyProfile) => instanceSizes({ service, planBatchSize: undefined, profile: () => profile, batchable: true, streamRateHz: 0, devices: 1 });

describe('instanceSizes (latency services)', () => {
  it('takes the largest batch within 5% of the best throughput when the profile is flat, to amortize per-batch host cost', () => {
    // 1 item/ms at every size, batch 2 a hair faster: the deadline rule alone would pick 2.
    const flat = createProfile('cpu', [
      { batch: 1, ms: 1 },
      { batch: 2, ms: 1.92 },
      { batch: 4, ms: 4 },
      { batch: 8, ms: 8 },
      { batch: 16, ms: 16 },
    ]);
    // 2·L(b) ≤ 20 allows b ≤ 10; b = 10 runs 10 items in 10 ms, 96% of batch 2's 1.042 items/ms (within 5%).
    expect(sizes(flat).batchSize).toBe(10);
  });

  it('keeps the best batch when larger ones lose more than 5% of its throughput', () => {
    const peaked = createProfile('cpu', [
      { batch: 1, ms: 1 },
      { batch: 2, ms: 1.2 },
      { batch: 4, ms: 4 },
      { batch: 8, ms: 9.5 },
    ]);
    expect(sizes(peaked).batchSize).toBe(2);
  });

  it('grows a backlog only to the largest batch the profile measured, not on its straight-line guess past it', () => {
    // Measured to 4 (a declared profile, as a host gives one): 300 ms would allow L(b) ≤ 300 up to b = 74 by
    // extrapolation, and the service sets no maxBatch (the runtime's default is 32).
    const short = createProfile('cpu', [
      { batch: 1, ms: 4 },
      { batch: 2, ms: 8 },
      { batch: 4, ms: 16 },
    ]);
    const slow: ExecutorServiceOptions = { ...service, slo: { kind: 'latency', deadlineMs: 300 } };
    const got = instanceSizes({ service: slow, planBatchSize: undefined, profile: () => short, batchable: true, streamRateHz: 0, devices: 1 });
    expect(got).toEqual({ batchSize: 4, maxBatchSize: 4 });
    // A plan's own batch size is kept, even past the profile: the host chose it.
    const planned = instanceSizes({ service: slow, planBatchSize: 8, profile: () => short, batchable: true, streamRateHz: 0, devices: 1 });
    expect(planned.batchSize).toBe(8);
    expect(planned.maxBatchSize).toBe(8);
  });
});
