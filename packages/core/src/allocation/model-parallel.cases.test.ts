import { describe, expect, it } from 'vitest';
import { affineProfile } from '../profiles/latency-profile.js';
import type { ServiceSpec } from '../model/service.js';
import { planModelParallel } from './model-parallel.js';

const GB = 1e9;
const llm: ServiceSpec = {
  id: 'llm',
  sensitivity: 'latency',
  slo: { kind: 'latency', deadlineMs: 3000 },
  memory: { weightsBytes: 14 * GB, perItemBytes: 0.2 * GB },
  profiles: { gpu: affineProfile('gpu', { fixedMs: 120, perItemMs: 15 }) },
};
const gpu = { kind: 'gpu', memoryBytes: 8 * GB };

describe('planModelParallel input', () => {
  it('rejects a request strategy other than batching or multi-frame, naming the field', () => {
    expect(() => planModelParallel({ service: llm, device: gpu, requestStrategy: 'fifo' as 'batching' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'requestStrategy' }) }),
    );
  });
});
