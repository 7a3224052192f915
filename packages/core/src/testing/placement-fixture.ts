import type { ParallelPlan } from '../allocation/plan.js';
import type { ServiceSpec } from '../model/service.js';

/**
 * For core's placement case tests: a batching plan on one GPU — a batch of 8 runs 26 ms (52 ms expected latency),
 * 300 items/s, 400 bytes of weights + 10 per item = 480 bytes on its device — with `over` applied.
 */
export const gpuBatchPlan = (serviceId: string, over: Partial<ParallelPlan> = {}): ParallelPlan => ({
  serviceId,
  deviceKind: 'gpu',
  requestStrategy: 'batching',
  serviceStrategy: 'single',
  devices: 1,
  batchSize: 8,
  capacityPerSec: 300,
  memoryPerDeviceBytes: 480,
  expectedLatencyMs: 52,
  runMs: 26,
  goodputPerDevice: 300,
  utilization: 1,
  notes: [],
  ...over,
});

const GB = 1024 ** 3;

/** What {@link placementService} varies: memory in GB, the latency deadline, and any field of the spec itself. */
export interface PlacementServiceShape extends Partial<ServiceSpec> {
  /** Weights, GB. @default 1 */
  readonly weightsGb?: number;
  /** Memory per batched item, GB. @default 0.05 */
  readonly perItemGb?: number;
  /** The latency SLO's deadline, ms. @default 200 */
  readonly deadlineMs?: number;
}

/**
 * For core's placement case tests: a latency-sensitive service — a 200 ms deadline, 1 GB of weights and 0.05 GB per
 * batched item, no profiles (the cases give their plans), no load time (the spec's default: no switching cost) —
 * with `shape` applied. Spec fields in `shape` (`memory`, `slo`, `loadTimeMs`, …) replace the defaults outright.
 */
export function placementService(id: string, shape: PlacementServiceShape = {}): ServiceSpec {
  const { weightsGb = 1, perItemGb = 0.05, deadlineMs = 200, ...spec } = shape;
  return {
    id,
    sensitivity: 'latency',
    slo: { kind: 'latency', deadlineMs },
    memory: { weightsBytes: weightsGb * GB, perItemBytes: perItemGb * GB },
    profiles: {},
    ...spec,
  };
}
