import { latencyAt, type ServiceSpec } from '@epara/core';
import { SERVER_PRESETS, tritonMaxBatch, tritonStaticPlacement, type SimServer, type SimService } from '@epara/sim';
import type { DemoServiceId } from '../catalog.js';
import { deviceOf, nodeIds } from '../placement.js';

/**
 * The `max_queue_delay` values the demo's calibration sweeps: the default and 5 ms, of the 0, 1, 5 and 10 ms an
 * operator sweeps (Triton's documentation and the simulator's experiments). In the quiet runs' sweeps of all four
 * at the knee (three runs, one reading each) 0 ms served the least in every run and 5 ms the most or within a
 * reading's noise of it (1 ms 3.7% ahead once, 10 ms level once); each further value costs a trial-length probe.
 */
export const SWEPT_QUEUE_DELAYS_MS = [0, 5] as const;

/** One model's Triton-like configuration. */
export interface TritonModelConfig {
  readonly serviceId: DemoServiceId;
  /** `max_batch_size`: the model analyzer's pick (largest measured batch whose latency fits the SLO). */
  readonly maxBatch: number;
  /** Node indices holding one instance each (one instance per device; each demo node has one device). */
  readonly nodes: readonly number[];
  /** Capacity of each of those instances at `maxBatch`, items/s: the load balancer's weights. */
  readonly capacityPerSec: readonly number[];
}

/** The whole baseline configuration. */
export interface TritonConfig {
  readonly models: readonly TritonModelConfig[];
  readonly maxQueueDelayMs: number;
}

/**
 * The deployable Triton baseline as the simulator defines it (`@epara/sim`'s `tritonStaticPlacement` and
 * `tritonMaxBatch`, imported, not copied): static placement from the average demand forecast, bin-packed by
 * memory with one instance of a model per device; `max_batch_size` the largest batch whose latency fits the
 * SLO less its network budget, capped at the largest batch actually measured (past it a profile is an
 * extrapolation, which the model analyzer would not use).
 */
export function tritonConfig(o: { specs: readonly ServiceSpec[]; demand: Readonly<Record<string, readonly number[]>>; nodes: number; maxQueueDelayMs: number }): TritonConfig {
  const kind = deviceOf().kind;
  const servers: SimServer[] = nodeIds(o.nodes).map((id, index) => ({ index, spec: { id, devices: [deviceOf()] }, preset: SERVER_PRESETS['jetson']!, zone: 0 }));
  const measuredMax = (s: ServiceSpec): number => Math.max(...s.profiles[kind]!.points.map((p) => p.batch));
  // The simulator's catalog shape; payload sizes do not enter the placement.
  const services: SimService[] = o.specs.map((spec) => ({ spec, payloadBytes: 0, responseBytes: 0 }));
  const demand = o.specs.map((s) => o.demand[s.id] ?? nodeIds(o.nodes).map(() => 0));
  const replicas = tritonStaticPlacement({ servers, services, demand });
  const models = o.specs.map((spec, k): TritonModelConfig => {
    // The analyzer's pick is per model; the simulator's may differ by device kind, here all devices are alike.
    const maxBatch = Math.max(1, Math.min(measuredMax(spec), tritonMaxBatch(asLatency(spec), kind, measuredMax(spec))));
    const nodes = replicas.filter((r) => r.service === k).map((r) => r.server).sort((a, b) => a - b);
    const cap = (maxBatch * 1000) / latencyAt(spec.profiles[kind]!, maxBatch);
    return { serviceId: spec.id as DemoServiceId, maxBatch, nodes, capacityPerSec: nodes.map(() => cap) };
  });
  return { models, maxQueueDelayMs: o.maxQueueDelayMs };
}

/** Frames of a stream are ordinary requests to Triton: their deadline is the staleness limit. */
function asLatency(spec: ServiceSpec): ServiceSpec {
  return spec.slo.kind === 'latency' ? spec : { ...spec, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: spec.slo.stalenessMs } };
}
