import { describe, expect, it } from 'vitest';
import { affineProfile } from '../profiles/latency-profile.js';
import type { ServiceSpec } from '../model/service.js';
import { planBatching } from './batching.js';

// Each malformed part of a service is reported as INVALID_OPTIONS naming that part.
const seg: ServiceSpec = {
  id: 'seg',
  sensitivity: 'latency',
  slo: { kind: 'latency', deadlineMs: 100 },
  memory: { weightsBytes: 5e6, perItemBytes: 2e6 },
  profiles: { cpu: affineProfile('cpu', { fixedMs: 4, perItemMs: 6 }) },
};
const cpu = { kind: 'cpu', memoryBytes: 1e9 };

describe('service validation names the part', () => {
  it.each<[string, Record<string, unknown>]>([
    ['service.memory', { memory: null }],
    ['service.memory.weightsBytes', { memory: { weightsBytes: -1, perItemBytes: 0 } }],
    ['service.memory.perItemBytes', { memory: { weightsBytes: 0, perItemBytes: Number.NaN } }],
    ['service.networkBudgetMs', { networkBudgetMs: -5 }],
    ['service.profiles', { profiles: null }],
    ['service.profiles.cpu', { profiles: { cpu: { points: [] } } }],
    ['service.profiles.gpu', { profiles: { cpu: seg.profiles['cpu'], gpu: 'fast' } }],
  ])('%s', (field, change) => {
    expect(() => planBatching({ service: { ...seg, ...change } as unknown as ServiceSpec, device: cpu })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field }) }),
    );
  });
});
