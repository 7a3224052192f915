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

  it('rejects a negative demand, naming demandPerSec', () => {
    expect(() => planModelParallel({ service: llm, device: gpu, demandPerSec: -1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'demandPerSec' }) }),
    );
  });

  it('pipelines a frequency service frame by frame when no request strategy is given', () => {
    const video: ServiceSpec = { ...llm, id: 'video', sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 30, stalenessMs: 200 }, memory: { weightsBytes: 14 * GB, perItemBytes: 0.002 * GB }, profiles: { gpu: affineProfile('gpu', { fixedMs: 10, perItemMs: 5 }) } };
    const out = planModelParallel({ service: video, device: gpu, demandPerSec: 30 });
    expect(out.feasible).toBe(true);
    if (out.feasible) expect(out.plan).toMatchObject({ requestStrategy: 'multi-frame', serviceStrategy: 'model-parallel', devices: 2 });
  });

  it('says how many stages the model needs when fewer are allowed', () => {
    // 14.2 GB is 13.22 GiB; asked for at least 5 stages with maxStages 4.
    expect(planModelParallel({ service: llm, device: gpu, minStages: 5, options: { maxStages: 4 } })).toEqual({
      feasible: false,
      constraint: 'stages',
      reason: 'needs 5 stages for 13.22 GiB, at most 4 allowed (maxStages, devices of this kind per server)',
    });
  });

  it('skips stage counts whose stage cannot hold its weights share and one item, and says which failed last', () => {
    // 4 GB of weights, 6 GB per item, 7.2 GB usable per device: 2 stages need 8 GB each, 3 need 7.33 GB, 4 need
    // 7 GB — the first that fits.
    const big: ServiceSpec = { ...llm, id: 'big', slo: { kind: 'latency', deadlineMs: 100 }, memory: { weightsBytes: 4 * GB, perItemBytes: 6 * GB }, profiles: { gpu: affineProfile('gpu', { fixedMs: 10, perItemMs: 5 }) } };
    const four = planModelParallel({ service: big, device: gpu, options: { maxStages: 4 } });
    expect(four.feasible && four.plan.devices).toBe(4);
    expect(planModelParallel({ service: big, device: gpu, options: { maxStages: 3 } })).toEqual({
      feasible: false,
      constraint: 'memory',
      reason: 'no stage count in [2, 3] meets the SLO: 3 stages: 6.83 GiB per stage at batch 1 exceeds usable 6.71 GiB',
    });
  });

  it('rejects stage profiles whose count is not the stage count, naming that entry', () => {
    const one = [affineProfile('gpu', { fixedMs: 60, perItemMs: 8 })];
    expect(() => planModelParallel({ service: llm, device: gpu, stageProfiles: { 2: one } })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'stageProfiles[2]' }) }),
    );
  });

  it('takes a measured pipeline\'s latency as the sum of its stages, each with its hand-off', () => {
    // Stages 50 + 5b and 90 + 12b ms, 1 ms hand-off each (commPerStageMs): 142 + 17b ms through the pipeline.
    const stages = [affineProfile('gpu', { fixedMs: 50, perItemMs: 5 }), affineProfile('gpu', { fixedMs: 90, perItemMs: 12 })];
    const out = planModelParallel({ service: llm, device: gpu, demandPerSec: 4, stageProfiles: { 2: stages }, options: { commPerStageMs: 1 } });
    expect(out.feasible).toBe(true);
    if (out.feasible) expect(out.plan.runMs).toBeCloseTo(142 + 17 * out.plan.batchSize, 9);
  });
});
