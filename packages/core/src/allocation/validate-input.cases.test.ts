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

describe('SLO and device validation names the part', () => {
  it.each<[string, Record<string, unknown>]>([
    ['service.slo', { slo: null }],
    ['service.slo', { slo: 'fast' }],
    ['service.slo.kind', { slo: { kind: 'throughput', deadlineMs: 10 } }],
    ['service.networkBudgetMs', { networkBudgetMs: 100 }],
    ['service.networkBudgetMs', { sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 30, stalenessMs: 50 }, networkBudgetMs: 50 }],
    ['service.slo.stalenessMs', { sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 30, stalenessMs: 0 } }],
    ['service.slo.rateHz', { sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: -1, stalenessMs: 50 } }],
  ])('%s', (field, change) => {
    expect(() => planBatching({ service: { ...seg, ...change } as unknown as ServiceSpec, device: cpu })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field }) }),
    );
  });

  it.each<[string, unknown]>([
    ['device', null],
    ['device.kind', { kind: '', memoryBytes: 1e9 }],
    ['device.memoryBytes', { kind: 'cpu', memoryBytes: 0 }],
    ['device.maxPerServer', { kind: 'cpu', memoryBytes: 1e9, maxPerServer: 0 }],
    ['device.maxPerServer', { kind: 'cpu', memoryBytes: 1e9, maxPerServer: 1.5 }],
  ])('%s', (field, device) => {
    expect(() => planBatching({ service: seg, device: device as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field }) }),
    );
  });

  it('accepts a frequency SLO whose network budget stays below the staleness, and one device per server', () => {
    const video = { ...seg, sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 30, stalenessMs: 50 }, networkBudgetMs: 49 } as ServiceSpec;
    expect(() => planBatching({ service: video, device: { ...cpu, maxPerServer: 1 } })).not.toThrow();
  });
});

describe('a service that is not an object', () => {
  it.each<[string, unknown]>([
    ['service', null],
    ['service', 'seg'],
    ['service.id', { ...seg, id: 7 }],
    ['service.profiles', { ...seg, profiles: 'cpu' }],
    ['service.profiles.cpu', { ...seg, profiles: { cpu: null } }],
    ['service.profiles.cpu', { ...seg, profiles: { cpu: { deviceKind: 'cpu', points: 'fast' } } }],
  ])('%s', (field, service) => {
    expect(() => planBatching({ service: service as ServiceSpec, device: cpu })).toThrow(
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
