import { describe, expect, it } from 'vitest';
import { affineProfile, createProfile } from '../profiles/latency-profile.js';
import type { ServiceSpec } from '../model/service.js';
import { planBatching } from './batching.js';
import { planMultiFrame } from './multi-frame.js';
import { planDataParallel } from './data-parallel.js';
import { planModelParallel } from './model-parallel.js';
import { checkMultiTask } from './multi-task.js';
import { DEFAULT_STRATEGY_OPTIONS, itemsThatFit, resolveStrategyOptions } from './strategy-options.js';

const MB = 1e6;
const cpu = { kind: 'cpu', memoryBytes: 1000 * MB };
const seg: ServiceSpec = {
  id: 'seg',
  sensitivity: 'latency',
  slo: { kind: 'latency', deadlineMs: 100 },
  memory: { weightsBytes: 5 * MB, perItemBytes: 2 * MB },
  profiles: { cpu: affineProfile('cpu', { fixedMs: 4, perItemMs: 6 }) },
};
const video: ServiceSpec = {
  id: 'video',
  sensitivity: 'frequency',
  slo: { kind: 'frequency', rateHz: 30, stalenessMs: 200 },
  memory: { weightsBytes: 5 * MB, perItemBytes: 2 * MB },
  profiles: { cpu: affineProfile('cpu', { fixedMs: 10, perItemMs: 8 }) },
};

function plan<T extends { feasible: boolean }>(out: T): Extract<T, { feasible: true }> {
  if (!out.feasible) throw new Error(`expected a feasible plan, got ${JSON.stringify(out)}`);
  return out as Extract<T, { feasible: true }>;
}

describe('resolveStrategyOptions', () => {
  it('fills defaults and passes resolved options through', () => {
    const o = resolveStrategyOptions({ maxBatch: 32 });
    expect(o).toMatchObject({ ...DEFAULT_STRATEGY_OPTIONS, maxBatch: 32 });
    expect(resolveStrategyOptions(o)).toBe(o);
  });

  it.each([
    ['reserveFraction', 1],
    ['reserveFraction', -0.1],
    ['maxBatch', 0],
    ['maxBatch', 2.5],
    ['batchingWaitFactor', 0.5],
    ['packChoice', 'middle'],
    ['batchChoice', 'biggest'],
    ['modelParallelEfficiency', 0],
    ['modelParallelEfficiency', 1.5],
    ['commPerStageMs', -1],
    ['maxStages', 0],
    ['maxReplicas', 0],
    ['interferenceFactor', 0.9],
    ['modelParallelCandidates', 'never'],
  ])('rejects %s = %j with INVALID_OPTIONS naming the field', (field, value) => {
    expect(() => resolveStrategyOptions({ [field]: value })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field }) }),
    );
  });
});

describe('itemsThatFit', () => {
  it('is exact at the float boundary and never loops on extreme sizes', () => {
    expect(itemsThatFit(21_599_999_999.99997, 0, 199_999_999.99999973, 256)).toBe(108); // 108 items fit exactly
    expect(itemsThatFit(100, 0, 5e-324, 256)).toBe(256);
    expect(itemsThatFit(100, 200, 1, 256)).toBe(0);
    expect(itemsThatFit(100, 10, 0, 7)).toBe(7);
    expect(itemsThatFit(1e300, 0, 1, Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('planBatching', () => {
  it('takes the largest b with 2·L(b) ≤ D: L = 4 + 6b, D = 100 → b = 7', () => {
    const p = plan(planBatching({ service: seg, device: cpu, demandPerSec: 100 })).plan;
    expect(p).toMatchObject({ batchSize: 7, runMs: 46, expectedLatencyMs: 92, devices: 1, requestStrategy: 'batching', serviceStrategy: 'single' });
    expect(p.capacityPerSec).toBeCloseTo(7000 / 46);
    expect(p.goodputPerDevice).toBe(100);
    expect(p.utilization).toBeCloseTo(100 / (7000 / 46));
    expect(p.memoryPerDeviceBytes).toBe(5 * MB + 7 * 2 * MB);
  });

  it('subtracts the network budget from the deadline', () => {
    const p = plan(planBatching({ service: { ...seg, networkBudgetMs: 20 }, device: cpu })).plan;
    expect(p.batchSize).toBe(6); // 2·(4 + 6b) ≤ 80
  });

  it('is bound by memory: usable = memory × (1 − reserve)', () => {
    const p = plan(planBatching({ service: seg, device: { kind: 'cpu', memoryBytes: 20 * MB } })).plan;
    expect(p.batchSize).toBe(6); // 5 + 2b ≤ 18
    expect(p.notes[0]).toContain('memory');
  });

  it('prefers the batch with the best throughput when per-item cost grows past a size', () => {
    const slow = createProfile('cpu', [{ batch: 1, ms: 10 }, { batch: 8, ms: 20 }, { batch: 16, ms: 80 }]);
    const service = { ...seg, slo: { kind: 'latency', deadlineMs: 200 }, profiles: { cpu: slow } } as const;
    const p = plan(planBatching({ service, device: cpu })).plan;
    expect(p.batchSize).toBe(8);
    expect(p.capacityPerSec).toBe(400);
    // the design's literal rule stays within the measured range by default: b = 16, the largest profiled batch
    const capped = plan(planBatching({ service, device: cpu, options: { batchChoice: 'largest' } })).plan;
    expect(capped.batchSize).toBe(16);
    expect(capped.notes.join(' ')).toContain('the largest measured batch');
    // trusting the extrapolation: the largest b with 2·L(b) ≤ 200, i.e. L(b) ≤ 100 → b = 18 (80 + 7.5·2 = 95)
    const literal = plan(planBatching({ service, device: cpu, options: { batchChoice: 'largest', profileExtrapolation: Infinity } })).plan;
    expect(literal.batchSize).toBe(18);
    expect(literal.capacityPerSec).toBeCloseTo(18_000 / 95);
  });

  it('reports the constraint when infeasible', () => {
    expect(planBatching({ service: { ...seg, slo: { kind: 'latency', deadlineMs: 19 } }, device: cpu })).toMatchObject({ feasible: false, constraint: 'deadline' });
    expect(planBatching({ service: seg, device: { kind: 'cpu', memoryBytes: 7 * MB } })).toMatchObject({ feasible: false, constraint: 'memory' });
    expect(planBatching({ service: seg, device: { kind: 'gpu', memoryBytes: 1e9 } })).toMatchObject({ feasible: false, constraint: 'profile' });
  });

  it('throws INVALID_OPTIONS naming bad input', () => {
    const bad = { ...seg, slo: { kind: 'latency', deadlineMs: -5 } } as const;
    expect(() => planBatching({ service: bad, device: cpu })).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'service.slo.deadlineMs' }) }));
    expect(() => planBatching({ service: seg, device: { kind: 'cpu', memoryBytes: 0 } })).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'device.memoryBytes' }) }));
    expect(() => planBatching({ service: seg, device: cpu, demandPerSec: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(() => planBatching({ service: { ...seg, networkBudgetMs: 100 }, device: cpu })).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'service.networkBudgetMs' }) }));
  });
});

describe('planMultiFrame', () => {
  it('picks the smallest pack that keeps up: L = 10 + 8n, F = 100/s, S = 200 ms → n = 5', () => {
    const p = plan(planMultiFrame({ service: video, device: cpu, rateHz: 100 })).plan;
    expect(p).toMatchObject({ batchSize: 5, runMs: 50, capacityPerSec: 100, requestStrategy: 'multi-frame' });
    expect(p.expectedLatencyMs).toBeCloseTo(4 * 10 + 50); // (n−1)/F + L(n)
  });

  it('defaults F to one stream at the SLO rate', () => {
    expect(plan(planMultiFrame({ service: video, device: cpu })).plan.batchSize).toBe(1);
  });

  it("with packChoice 'max' takes the feasible pack with the most spare rate", () => {
    const p = plan(planMultiFrame({ service: video, device: cpu, rateHz: 100, options: { packChoice: 'max' } })).plan;
    expect(p.batchSize).toBe(11); // (n−1)·10 + 10 + 8n ≤ 200 → n ≤ 11
    expect(p.capacityPerSec).toBeCloseTo(11000 / 98);
  });

  it('reports rate and staleness infeasibility', () => {
    expect(planMultiFrame({ service: video, device: cpu, rateHz: 300 })).toMatchObject({ feasible: false, constraint: 'rate' });
    const tight = { ...video, slo: { kind: 'frequency', rateHz: 30, stalenessMs: 15 } } as const;
    expect(planMultiFrame({ service: tight, device: cpu })).toMatchObject({ feasible: false, constraint: 'staleness' });
  });
});

describe('checkMultiTask', () => {
  const small: ServiceSpec = { ...seg, id: 'small', slo: { kind: 'latency', deadlineMs: 40 }, profiles: { cpu: affineProfile('cpu', { fixedMs: 2, perItemMs: 1 }) } };

  it('computes the cycle, per-service slack and the failed constraint', () => {
    const v = checkMultiTask({ device: cpu, members: [{ service: seg, batchSize: 4, ratePerSec: 50 }, { service: small, batchSize: 8, ratePerSec: 100 }] });
    expect(v.cycleMs).toBe(28 + 10);
    expect(v.members[0]).toMatchObject({ serviceId: 'seg', timeSlackMs: 100 - 66, failed: [] });
    expect(v.members[0]!.rateSlackPerSec).toBeCloseTo(4000 / 38 - 50);
    expect(v.members[1]).toMatchObject({ serviceId: 'small', timeSlackMs: 40 - 48, failed: ['deadline'] });
    expect(v.feasible).toBe(false);
    expect(v.failed).toEqual(['deadline']);
  });

  it('accepts a set that fits and flags memory and rate violations', () => {
    expect(checkMultiTask({ device: cpu, members: [{ service: seg, batchSize: 2 }, { service: small, batchSize: 2 }] }).feasible).toBe(true);
    const mem = checkMultiTask({ device: { kind: 'cpu', memoryBytes: 20 * MB }, members: [{ service: seg, batchSize: 4 }, { service: small, batchSize: 4 }] });
    expect(mem.failed).toContain('memory');
    const rate = checkMultiTask({ device: cpu, members: [{ service: seg, batchSize: 1, ratePerSec: 500 }] });
    expect(rate.failed).toEqual(['rate']);
  });

  it('checks a frequency member’s staleness including its pack fill time', () => {
    const v = checkMultiTask({ device: cpu, members: [{ service: video, batchSize: 5, ratePerSec: 30 }, { service: seg, batchSize: 4 }] });
    // fill 4/30 s = 133.3 ms, cycle 50 + 28, own run 50 → 261 ms > 200 ms
    expect(v.members[0]!.failed).toContain('staleness');
  });

  it('throws on an empty member list or a bad batch size', () => {
    expect(() => checkMultiTask({ device: cpu, members: [] })).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'members' }) }));
    expect(() => checkMultiTask({ device: cpu, members: [{ service: seg, batchSize: 0 }] })).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'members[0].batchSize' }) }));
  });
});

describe('planDataParallel', () => {
  it('replicates batching: d = ceil(demand / capacityOfOne)', () => {
    const p = plan(planDataParallel({ service: seg, device: cpu, demandPerSec: 400 })).plan;
    expect(p).toMatchObject({ serviceStrategy: 'data-parallel', devices: 3, batchSize: 7 });
    expect(p.capacityPerSec).toBeCloseTo(3 * (7000 / 46));
    expect(p.goodputPerDevice).toBeCloseTo(400 / 3);
  });

  it('stripes frames: two devices nearly double the rate one device sustains', () => {
    const one = plan(planDataParallel({ service: video, device: cpu, demandPerSec: 100 })).plan;
    const two = plan(planDataParallel({ service: video, device: cpu, demandPerSec: 200 })).plan;
    expect(one.devices).toBe(1);
    expect(two.devices).toBe(2);
    expect(two.batchSize).toBe(one.batchSize); // each replica sees F/d = 100/s
    expect(two.capacityPerSec).toBeGreaterThanOrEqual(200);
  });

  it('caps replicas at maxReplicas and at the devices one server holds, serving part of the demand', () => {
    const capped = plan(planDataParallel({ service: seg, device: { ...cpu, maxPerServer: 4 }, demandPerSec: 10_000 })).plan;
    expect(capped.devices).toBe(4);
    expect(capped.capacityPerSec).toBeCloseTo(4 * (7000 / 46));
    expect(capped.notes[0]).toContain('place several groups');
    const framed = plan(planDataParallel({ service: video, device: cpu, demandPerSec: 1000, options: { maxReplicas: 3 } })).plan;
    expect(framed.devices).toBe(3);
    expect(framed.capacityPerSec).toBeLessThan(1000);
    expect(planDataParallel({ service: seg, device: { ...cpu, maxPerServer: 1 }, demandPerSec: 10_000 })).toMatchObject({ feasible: false, constraint: 'replicas' });
  });
});

describe('planModelParallel', () => {
  const llm: ServiceSpec = {
    id: 'llm',
    sensitivity: 'latency',
    slo: { kind: 'latency', deadlineMs: 2000 },
    memory: { weightsBytes: 14e9, perItemBytes: 0.5e9 },
    profiles: { gpu: affineProfile('gpu', { fixedMs: 100, perItemMs: 20 }) },
  };
  const gpu = { kind: 'gpu', memoryBytes: 8e9 };

  it('uses d_min = ceil(memory / usable) stages with the even split', () => {
    const p = plan(planModelParallel({ service: llm, device: gpu })).plan;
    expect(p).toMatchObject({ serviceStrategy: 'model-parallel', devices: 3, stages: 3 });
    expect(p.memoryPerDeviceBytes).toBeLessThanOrEqual(8e9 * 0.9);
    const stage = (100 + 20 * p.batchSize) / (3 * 0.9) + 1;
    expect(p.capacityPerSec).toBeCloseTo((p.batchSize * 1000) / stage);
    expect(p.expectedLatencyMs).toBeCloseTo(stage + 3 * stage);
  });

  it('uses measured stage profiles when given, limited by the slowest stage', () => {
    const stages = [affineProfile('gpu', { fixedMs: 30, perItemMs: 5 }), affineProfile('gpu', { fixedMs: 60, perItemMs: 10 }), affineProfile('gpu', { fixedMs: 30, perItemMs: 5 })];
    const p = plan(planModelParallel({ service: llm, device: gpu, stageProfiles: { 3: stages } })).plan;
    expect(p.capacityPerSec).toBeCloseTo((p.batchSize * 1000) / (60 + 10 * p.batchSize + 1));
    expect(() => planModelParallel({ service: llm, device: gpu, stageProfiles: { 3: stages.slice(0, 2) } })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });

  it('never uses more stages than one server has devices of the kind', () => {
    expect(planModelParallel({ service: llm, device: { ...gpu, maxPerServer: 2 } })).toMatchObject({ feasible: false, constraint: 'stages' });
    expect(plan(planModelParallel({ service: llm, device: { ...gpu, maxPerServer: 3 } })).plan.stages).toBe(3);
  });

  it('grows the stage count until the SLO is met, and reports stages when it cannot', () => {
    // worst case at batch 1 with d stages: (d + 1)·(120 / (0.9·d) + 1) ms → d=3: 181.8, d=4: 171.7, d=8: 159
    const tighter = { ...llm, slo: { kind: 'latency', deadlineMs: 175 } } as const;
    expect(plan(planModelParallel({ service: tighter, device: gpu })).plan).toMatchObject({ stages: 4, batchSize: 1 });
    const impossible = { ...llm, slo: { kind: 'latency', deadlineMs: 150 } } as const;
    expect(planModelParallel({ service: impossible, device: gpu })).toMatchObject({ feasible: false, constraint: 'deadline' });
    expect(planModelParallel({ service: llm, device: gpu, options: { maxStages: 2 } })).toMatchObject({ feasible: false, constraint: 'stages' });
  });
});
