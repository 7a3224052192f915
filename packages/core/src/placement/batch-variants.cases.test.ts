import { describe, expect, it } from 'vitest';
import { placementService } from '../testing/placement-fixture.js';
import type { ServerSpec } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import { affineProfile } from '../profiles/latency-profile.js';
import { findPlacementViolations } from './find-violations.js';
import { placeServices } from './place-services.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacementInput } from './types.js';

// Which plans get smaller-batch variants (withBatchVariants): single-device batching plans with a profile for
// their device kind, at b/2, b/4, … for `batchVariants` halvings. Seen through placeServices on a device too small
// for the allocator's batch: 1 GB of weights and 0.5 GB per item need 9 GB at batch 16, 5 GB at 8, 3 GB at 4.

const GB = 1024 ** 3;
const profile = affineProfile('gpu', { fixedMs: 10, perItemMs: 2 });
const service = (over: Partial<ServiceSpec> = {}): ServiceSpec =>
  placementService('s', { deadlineMs: 400, perItemGb: 0.5, loadTimeMs: 1000, profiles: { gpu: profile }, ...over });
/** One server of `devices` GPUs of `gb` GB each (the default reserve keeps 10 %). */
const server = (gb: number, devices = 1): ServerSpec => ({
  id: 's0',
  devices: Array.from({ length: devices }, (_, d) => ({ id: `g${d}`, kind: 'gpu', memoryBytes: gb * GB })),
});
const input = (s: ServiceSpec, srv: ServerSpec, batch = 16, devices = 1): PlacementInput => ({
  servers: [srv],
  services: [s],
  plans: { s: [affinePlan(s, 'gpu', { fixedMs: 10, perItemMs: 2, batch, devices })] },
  demand: [{ serviceId: 's', ratePerServer: { s0: 50 } }],
});
const batches = (inp: PlacementInput, batchVariants?: number) =>
  placeServices(inp, batchVariants === undefined ? {} : { batchVariants }).instances.map((i) => i.plan.batchSize);

describe('batch variants', () => {
  it('halve a batching plan as many times as asked: batch 4 fits 3.6 GB after two halvings, not one', () => {
    const inp = input(service(), server(4));
    expect(batches(inp, 1)).toEqual([]);
    expect(batches(inp, 2)).toEqual([4]);
    const r = placeServices(inp);
    expect(r.instances[0]!.plan.runMs).toBe(18);
    expect(r.instances[0]!.plan.memoryPerDeviceBytes).toBe(3 * GB);
    // The variant's own rates: 4 items per 18 ms, against the 50 items/s asked.
    expect(r.instances[0]!.plan.capacityPerSec).toBeCloseTo(4000 / 18, 9);
    expect(r.instances[0]!.plan.goodputPerDevice).toBe(50);
    expect(r.instances[0]!.plan.utilization).toBeCloseTo(50 / (4000 / 18), 12);
    expect(findPlacementViolations(inp, r.instances)).toEqual([]);
  });

  it('stop at batch 1: a batch-2 plan gets one variant however many halvings are allowed', () => {
    // 1.8 GB usable: batch 2 needs 2 GB, batch 1 1.5 GB. One candidate, the variant, with one halving or four.
    const inp = input(service(), server(2), 2);
    const candidates = (batchVariants: number) => placeServices(inp, { batchVariants }).stats.candidates;
    expect(candidates(0)).toBe(0);
    expect(candidates(1)).toBe(1);
    expect(candidates(4)).toBe(1);
    expect(batches(inp, 4)).toEqual([1]);
  });

  it('are not made for a frequency service’s multi-frame plan', () => {
    const s = service({ sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 30, stalenessMs: 400 } });
    expect(batches(input(s, server(8)))).toEqual([]);
  });

  it('are not made without a profile for the plan’s device kind', () => {
    expect(batches(input(service({ profiles: {} }), server(8)))).toEqual([]);
    expect(batches(input(service({ profiles: { cpu: affineProfile('cpu', { fixedMs: 10, perItemMs: 2 }) } }), server(8)))).toEqual([]);
  });

  it('are not made for a plan over several devices, nor for any but a single-device strategy', () => {
    const inp = input(service(), server(8, 2), 16, 2);
    expect(placeServices(inp).instances).toEqual([]);
    // A data-parallel plan over one device is still a data-parallel plan.
    const one = input(service(), server(8));
    const parallel = { ...one, plans: { s: [{ ...one.plans['s']![0]!, serviceStrategy: 'data-parallel' as const }] } };
    expect(placeServices(parallel).instances).toEqual([]);
  });

  it('are not used with multi-task off', () => {
    expect(placeServices(input(service(), server(8)), { multiTask: false }).instances).toEqual([]);
  });
});
