import { describe, expect, it } from 'vitest';
import { createProfile, planMultiFrame, type ParallelPlan, type ServiceSpec } from '@epara/core';
import type { ExecutorServiceOptions } from './executor-options.js';
import { HoldCorrections } from './hold-corrections.js';
import { InstanceSizing } from './instance-sizing.js';

// L(n) grows far slower than n: 2 ms for one frame, 12 ms for eight.
const profile = createProfile('cpu-1t', [
  { batch: 1, ms: 2 },
  { batch: 2, ms: 4 },
  { batch: 4, ms: 6 },
  { batch: 8, ms: 12 },
]);
const video: ExecutorServiceOptions = { id: 'v', model: 'v.onnx', sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 10, stalenessMs: 250 }, maxBatch: 8 };
const spec: ServiceSpec = { id: 'v', sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 10, stalenessMs: 250 }, memory: { weightsBytes: 1, perItemBytes: 1 }, profiles: { 'cpu-1t': profile } };

function multiFramePlan(): ParallelPlan {
  const out = planMultiFrame({ service: spec, device: { kind: 'cpu-1t', memoryBytes: 1e9 }, rateHz: 10 });
  if (!out.feasible) throw new Error('feasible');
  return out.plan;
}
const sizing = (plan: Partial<ParallelPlan>, o: { service?: ExecutorServiceOptions; batchable?: boolean; devices?: number } = {}) =>
  new InstanceSizing({ service: o.service ?? video, plan, devices: o.devices ?? 1, profile: () => profile, batchable: () => o.batchable ?? true, streamRateHz: () => 0 });

describe("a stream service's capacity", () => {
  it("is the rate at the largest fresh pack, not the multi-frame plan's pack of 1", () => {
    const plan = multiFramePlan();
    expect(plan.batchSize).toBe(1);
    expect(plan.capacityPerSec).toBeCloseTo(500, 9);
    expect(sizing(plan).capacityPerSec()).toBeCloseTo(8000 / 12, 9);
    // At the learned hold time of the pack that runs: packs of 8 held 3× their profile.
    expect(sizing(plan).capacityPerSec((n) => (n === 8 ? 1 / 3 : 1))).toBeCloseTo(8000 / 36, 9);
    // Per device of a data-parallel instance.
    expect(sizing({ ...plan, serviceStrategy: 'data-parallel', devices: 2 }, { devices: 2 }).capacityPerSec()).toBeCloseTo(16_000 / 12, 9);
  });

  it('leaves out packs that would go stale at their learned time', () => {
    // Packs at 4× their profile: 2 × 4 × L(n) ≤ 80 ms holds up to L(6) = 9 ms (72 ms); L(7) = 10.5 ms does not.
    const tight: ExecutorServiceOptions = { ...video, slo: { kind: 'frequency', rateHz: 10, stalenessMs: 80 } };
    expect(sizing({}, { service: tight }).capacityPerSec(() => 0.25)).toBeCloseTo(6000 / 36, 9);
  });

  it('keeps a figure declared by hand, a pipeline plan, a latency service and an unbatched instance as before', () => {
    expect(sizing({ batchSize: 2, capacityPerSec: 25 }).capacityPerSec()).toBe(25);
    expect(sizing({ ...multiFramePlan(), serviceStrategy: 'model-parallel' }).capacityPerSec()).toBeCloseTo(500, 9);
    const latency: ExecutorServiceOptions = { id: 's', model: 's.onnx', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 100 } };
    expect(sizing({ batchSize: 2, capacityPerSec: 240 }, { service: latency }).capacityPerSec()).toBe(240);
    expect(sizing(multiFramePlan(), { batchable: false }).capacityPerSec((n) => (n === 1 ? 0.5 : 1))).toBeCloseTo(250, 9);
  });
});

describe('HoldCorrections.packOf', () => {
  it('prices a pack at one hand-off and its frames at the backend speed, learned apart', () => {
    const c = new HoldCorrections();
    expect(c.packOf(profile, 'd0', 8, 0)).toBe(1);
    // Packs of 1 whose backend ran 2× the profile (4 ms) and held the device 12 ms: an 8 ms hand-off.
    for (let i = 0; i < 60; i++) c.observe(profile, 'd0', 1, 12, i, 4);
    expect(c.of('d0', 1, 60)).toBe(4); // held 6× the profile (bounded to 4)
    // A pack of 8: 8 + 2 × 12 = 32 ms, 2.67× its profile — not the 4× of the packs of one.
    expect(c.packOf(profile, 'd0', 8, 60)).toBeCloseTo(32 / 12, 2);
    expect(c.packOf(profile, 'd0', 1, 60)).toBe(4);
    // One stalled batch (a 500 ms hand-off) moves the hand-off by at most 60 %: the pack of 8 by less.
    c.observe(profile, 'd0', 1, 504, 61, 4);
    expect(c.packOf(profile, 'd0', 8, 61)).toBeLessThan((8 * 1.6 + 24) / 12 + 1e-9);
    // A batch sent ahead may report a run longer than its hold: no hand-off, and the backend ratio is kept.
    const ahead = new HoldCorrections();
    ahead.observe(profile, 'd0', 8, 10, 0, 12);
    expect(ahead.packOf(profile, 'd0', 8, 0)).toBeCloseTo(1, 9);
  });

  it('keeps the earlier rule as an option, and before any batch reported its backend time', () => {
    const untimed = new HoldCorrections();
    for (let i = 0; i < 40; i++) untimed.observe(profile, 'd0', 1, 8, i); // packs of 1 at 4×, no run time
    expect(untimed.packOf(profile, 'd0', 8, 40)).toBeGreaterThan(3.9);
    const worst = new HoldCorrections('worst-class');
    for (let i = 0; i < 40; i++) worst.observe(profile, 'd0', 1, 8, i, 2);
    expect(worst.packOf(profile, 'd0', 8, 40)).toBeGreaterThan(3.9);
  });

  it("with 'worst-class', takes the largest of the device's figure and those of the pack's class and every smaller one", () => {
    const c = new HoldCorrections('worst-class');
    expect(c.packOf(profile, 'd0', 8, 0)).toBe(1);
    for (let i = 0; i < 40; i++) c.observe(profile, 'd0', 1, 8, i); // packs of 1 at 4×
    c.observe(profile, 'd0', 8, 12, 40); // one pack of 8 at 1×
    expect(c.of('d0', 8, 40)).toBeLessThan(3.5);
    expect(c.packOf(profile, 'd0', 8, 40)).toBeCloseTo(Math.max(c.of('d0', 1, 40), c.of('d0', 8, 40)), 9);
    expect(c.packOf(profile, 'd0', 8, 40)).toBeGreaterThan(3.9);
  });

  it("with 'worst-class', does not let a class that stopped running fade below what the device's batches teach", () => {
    const c = new HoldCorrections('worst-class');
    for (let i = 0; i < 40; i++) c.observe(profile, 'd0', 8, 36, i); // packs of 8 at 3×, until 39 ms
    for (let t = 40; t < 20_000; t += 10) c.observe(profile, 'd0', 4, 18, t); // then only packs of 4, at 3×
    expect(c.of('d0', 8, 20_000)).toBeLessThan(1.1); // the class of 8 faded toward the profile
    expect(c.packOf(profile, 'd0', 8, 20_000)).toBeCloseTo(3, 6);
  });
});
