import type { ParallelPlan } from '../allocation/plan.js';
import type { ServerSpec } from '../model/device.js';
import type { ServiceSpec } from '../model/service.js';
import type { PlacedInstance, PlacementResult } from '../placement/types.js';

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

/** For core's placement case tests: a server of `n` GPUs `g0`, `g1`, … of 16 GB each. */
export const gpuServer = (server: string, n: number): ServerSpec => ({
  id: server,
  devices: Array.from({ length: n }, (_, d) => ({ id: `g${d}`, kind: 'gpu', memoryBytes: 16 * GB })),
});

/** For core's placement case tests: an instance of `s` running `plan` on one device of a server. */
export const runningInstance = (instanceId: string, s: ServiceSpec, plan: ParallelPlan, serverId: string, device: string): PlacedInstance => ({
  instanceId,
  serviceId: s.id,
  plan,
  serverId,
  deviceIds: [device],
});

/** For core's placement case tests: each service's items/s served, by service id. */
export const servedPerService = (r: PlacementResult): Record<string, number> => Object.fromEntries(r.services.map((x) => [x.serviceId, x.servedPerSec]));
