import { describe, expect, it } from 'vitest';
import { affineProfile } from '../profiles/latency-profile.js';
import type { ServiceSpec } from '../model/service.js';
import { planBatching } from './batching.js';
import { assertService } from './validate-input.js';

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

describe('a service whose SLO kind is not its sensitivity', () => {
  it.each<[string, Record<string, unknown>]>([
    ['latency-sensitive with a frequency SLO', { sensitivity: 'latency', slo: { kind: 'frequency', rateHz: 30, stalenessMs: 200 } }],
    ['frequency-sensitive with a latency SLO', { sensitivity: 'frequency', slo: { kind: 'latency', deadlineMs: 100 } }],
  ])('is refused: %s', (_, change) => {
    const service = { ...seg, ...change } as unknown as ServiceSpec;
    expect(() => assertService(service)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'service.slo.kind' }) }));
    expect(() => assertService(service, 'services[3]')).toThrow(/`services\[3\]\.slo\.kind`.*sensitivity/);
    expect(() => planBatching({ service, device: cpu })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });

  it('is accepted when they match', () => {
    expect(() => assertService({ ...seg, id: 'video', sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 30, stalenessMs: 200 } })).not.toThrow();
    expect(() => assertService(seg)).not.toThrow();
  });
});
