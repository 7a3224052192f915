import { createProfile, type ParallelPlan } from '@epara/core';
import { describe, expect, it } from 'vitest';
import type { ExecutorServiceOptions } from './executor-options.js';
import { InstanceSizing } from './instance-sizing.js';

const service: ExecutorServiceOptions = { id: 's', model: 'm.onnx', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 100 } };
const profile = createProfile('cpu', [
  { batch: 1, ms: 5 },
  { batch: 2, ms: 8 },
  { batch: 4, ms: 16 },
]);
const sizing = (plan: Partial<ParallelPlan>, batchable = true) =>
  new InstanceSizing({ service, plan, devices: 1, profile: () => profile, batchable: () => batchable, streamRateHz: () => 0 });

describe('InstanceSizing.capacityPerSec', () => {
  it("scales a plan's declared capacity by the learned speed at the plan's batch size", () => {
    const asked: number[] = [];
    // Batches of 2 hold the device three times their profile; other sizes twice.
    const speed = (b: number): number => {
      asked.push(b);
      return b === 2 ? 1 / 3 : 1 / 2;
    };
    expect(sizing({ batchSize: 2, capacityPerSec: 240 }).capacityPerSec(speed)).toBeCloseTo(80, 9);
    expect(asked).toEqual([2]);
  });

  it('keeps the declared figure as declared without learning', () => {
    expect(sizing({ batchSize: 2, capacityPerSec: 240 }).capacityPerSec()).toBe(240);
  });

  it('reads a declared plan without a batch size at batch 1', () => {
    const asked: number[] = [];
    sizing({ capacityPerSec: 100 }).capacityPerSec((b) => (asked.push(b), 1));
    expect(asked).toEqual([1]);
  });

  it('scales the derived figure the same way: each device at the deadline rule’s batch', () => {
    // Budget 100 ms, profile measured to 4: the rule takes 4 (16 ms), 250 items/s at the profile.
    expect(sizing({}).capacityPerSec()).toBeCloseTo(250, 9);
    expect(sizing({}).capacityPerSec(() => 0.25)).toBeCloseTo(62.5, 9);
  });

  it('ignores a declared batched capacity when the service runs unbatched: one item per run, at its speed', () => {
    expect(sizing({ batchSize: 4, capacityPerSec: 250 }, false).capacityPerSec((b) => (b === 1 ? 0.5 : 1))).toBeCloseTo(100, 9);
  });
});
