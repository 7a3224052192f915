import type { ParallelPlan } from '../allocation/plan.js';

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
