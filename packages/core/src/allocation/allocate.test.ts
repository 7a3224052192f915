import { describe, expect, it } from 'vitest';
import { affineProfile } from '../profiles/latency-profile.js';
import type { ServiceSpec } from '../model/service.js';
import { allocate } from './allocate.js';

const GB = 1e9;
const kinds = [{ kind: 'cpu', memoryBytes: 4 * GB }, { kind: 'gpu', memoryBytes: 8 * GB }];
const seg: ServiceSpec = {
  id: 'seg',
  sensitivity: 'latency',
  slo: { kind: 'latency', deadlineMs: 100 },
  memory: { weightsBytes: 0.1 * GB, perItemBytes: 0.02 * GB },
  profiles: { cpu: affineProfile('cpu', { fixedMs: 4, perItemMs: 6 }), gpu: affineProfile('gpu', { fixedMs: 2, perItemMs: 0.5 }) },
};

describe('allocate', () => {
  it('offers batching per kind and data parallelism where one device is not enough, ranked by goodput per device', () => {
    const a = allocate({ service: seg, demand: 400, deviceKinds: kinds });
    expect(a.category).toEqual({ sensitivity: 'latency', devices: 'single' });
    expect(a.plans.map((p) => `${p.deviceKind}/${p.serviceStrategy}/${p.devices}`)).toEqual(['gpu/single/1', 'cpu/single/1', 'cpu/data-parallel/3']);
    expect(a.plans[0]!.goodputPerDevice).toBe(400);
    expect(a.infeasible).toEqual([]);
  });

  it('accepts a ServiceDemand and sums requests and streams', () => {
    const a = allocate({ service: seg, demand: { serviceId: 'seg', ratePerServer: { a: 100, b: 50 } }, deviceKinds: kinds });
    expect(a.plans[0]!.goodputPerDevice).toBe(150);
    expect(() => allocate({ service: seg, demand: { serviceId: 'other', ratePerServer: {} }, deviceKinds: kinds })).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ field: 'demand.serviceId' }) }),
    );
  });

  it('uses multi-frame for frequency services and stripes over replicas when one device cannot keep up', () => {
    const video: ServiceSpec = { ...seg, id: 'video', sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 30, stalenessMs: 200 }, profiles: { cpu: seg.profiles['cpu']! } };
    const a = allocate({ service: video, demand: 300, deviceKinds: kinds });
    expect(a.category).toEqual({ sensitivity: 'frequency', devices: 'multi', reason: 'compute' });
    // first: one device serving as many whole 30/s streams as it keeps up with (placement adds instances)
    expect(a.plans[0]).toMatchObject({ requestStrategy: 'multi-frame', serviceStrategy: 'single', deviceKind: 'cpu', goodputPerDevice: 150 }); // best 160/s → 5 streams
    expect(a.plans[0]!.notes[0]).toContain('serves 5 whole stream(s)');
    // then: frames striped over replicas that together keep up with all 300/s
    expect(a.plans[1]).toMatchObject({ requestStrategy: 'multi-frame', serviceStrategy: 'data-parallel', deviceKind: 'cpu' });
    expect(a.plans[1]!.capacityPerSec).toBeGreaterThanOrEqual(300);
    expect(a.infeasible.map((i) => `${i.deviceKind}/${i.strategy}`)).toEqual(['cpu/multi-frame', 'gpu/multi-frame']);
  });

  it('plans model parallelism for a memory-bound model and says why the single device is ruled out', () => {
    const llm: ServiceSpec = { ...seg, id: 'llm', slo: { kind: 'latency', deadlineMs: 3000 }, memory: { weightsBytes: 14 * GB, perItemBytes: 0.2 * GB }, profiles: { gpu: affineProfile('gpu', { fixedMs: 120, perItemMs: 15 }) } };
    const a = allocate({ service: llm, demand: 4, deviceKinds: kinds });
    expect(a.category).toEqual({ sensitivity: 'latency', devices: 'multi', reason: 'memory' });
    expect(a.plans).toHaveLength(1);
    expect(a.plans[0]).toMatchObject({ serviceStrategy: 'model-parallel', devices: 2, stages: 2 }); // ceil(14.2 GB / 7.2 GB)
    expect(a.infeasible).toContainEqual(expect.objectContaining({ deviceKind: 'gpu', reason: 'the model does not fit one device' }));
    expect(a.infeasible).toContainEqual(expect.objectContaining({ deviceKind: 'cpu', reason: expect.stringContaining('no latency profile') }));
  });

  it('uses measured stage profiles for a device kind when given', () => {
    const llm: ServiceSpec = { ...seg, id: 'llm', slo: { kind: 'latency', deadlineMs: 3000 }, memory: { weightsBytes: 14 * GB, perItemBytes: 0.2 * GB }, profiles: { gpu: affineProfile('gpu', { fixedMs: 120, perItemMs: 15 }) } };
    const stages = [affineProfile('gpu', { fixedMs: 50, perItemMs: 5 }), affineProfile('gpu', { fixedMs: 90, perItemMs: 12 })];
    const a = allocate({ service: llm, demand: 4, deviceKinds: kinds, stageProfiles: { gpu: { 2: stages } } });
    const p = a.plans[0]!;
    expect(p.stages).toBe(2);
    // the slowest measured stage (90 + 12b ms, plus 1 ms hand-off) bounds the pipeline's throughput
    expect(p.capacityPerSec).toBeCloseTo((p.batchSize * 1000) / (91 + 12 * p.batchSize));
  });

  it("adds model-parallel alternatives with modelParallelCandidates: 'always'", () => {
    const a = allocate({ service: seg, demand: 10, deviceKinds: kinds, options: { modelParallelCandidates: 'always' } });
    expect(a.plans.some((p) => p.serviceStrategy === 'model-parallel' && p.devices >= 2)).toBe(true);
  });

  it('returns no plan with reasons when the SLO is infeasible everywhere', () => {
    const a = allocate({ service: { ...seg, slo: { kind: 'latency', deadlineMs: 3 } }, demand: 10, deviceKinds: kinds });
    expect(a.plans).toEqual([]);
    expect(a.infeasible).toHaveLength(2);
    expect(a.infeasible[0]!.reason).toContain('exceeds D');
  });

  it('throws INVALID_OPTIONS naming the field for invalid input', () => {
    expect(() => allocate({ service: seg, demand: -1, deviceKinds: kinds })).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'demand' }) }));
    expect(() => allocate({ service: seg, demand: 1, deviceKinds: kinds, options: { maxBatch: -2 } })).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'maxBatch' }) }));
    expect(() => allocate({ service: { ...seg, sensitivity: 'fast' as never, id: 'x' }, demand: 1, deviceKinds: kinds })).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ field: 'service.sensitivity' }) }),
    );
  });
});
