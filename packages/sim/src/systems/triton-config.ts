import { latencyAt, planModelParallel, type ParallelPlan, type ServiceSpec } from '@epara/core';
import type { SimServer } from '../model/hardware.js';
import { asLatencyService, type SimService } from '../model/services.js';

/**
 * Model-analyzer style pick: the largest batch (up to `limit`) whose latency fits the SLO budget, or 0.
 * `budgetFactor` < 1 keeps room for queueing (0.5: an item may wait one batch, then run in the next).
 */
export function tritonMaxBatch(spec: ServiceSpec, kind: string, limit = 128, budgetFactor = 1): number {
  const p = spec.profiles[kind];
  if (p === undefined) return 0;
  const deadline = spec.slo.kind === 'latency' ? spec.slo.deadlineMs : spec.slo.stalenessMs;
  const budget = (deadline - (spec.networkBudgetMs ?? 0)) * budgetFactor;
  let best = 0;
  for (let b = 1; b <= limit; b++) if (latencyAt(p, b) <= budget) best = b;
  return best;
}

/** One model replica placed by the operator: one device, or a tensor/pipeline-parallel group of one server. */
export interface TritonReplica {
  readonly service: number;
  readonly server: number;
  /** First device of the replica (its only one unless model parallel). */
  readonly device: number;
  readonly devices: readonly number[];
  readonly maxBatch: number;
  /** Run time of a full batch, ms. */
  readonly runMs: number;
  readonly memoryPerDeviceBytes: number;
  /** Pipeline stages (1 unless model parallel). */
  readonly stages: number;
  readonly capacityPerSec: number;
}

/** Inputs of {@link tritonStaticPlacement}. */
export interface TritonPlacementInput {
  readonly servers: readonly SimServer[];
  readonly services: readonly SimService[];
  /** Demand per service and access server, items/s (the operator's forecast). */
  readonly demand: readonly (readonly number[])[];
  /** Fraction of device memory kept free. @default 0.1 */
  readonly reserveFraction?: number;
  /** Fraction of the SLO budget a batch may take (1: Triton's model analyzer; 0.5: room to wait one batch). @default 1 */
  readonly budgetFactor?: number;
  /** Devices that are unavailable (failed), as `server:device` keys. */
  readonly unavailable?: ReadonlySet<string>;
}

interface FreeDevice {
  readonly server: number;
  readonly device: number;
  readonly kind: string;
  free: number;
  readonly hosts: Set<number>;
}

/**
 * A multi-device plan for a model no single device can hold: what an operator deploys with tensor/pipeline
 * parallelism (TensorRT-LLM, vLLM) over the devices of one server — core's model-parallel planner on the
 * service judged per request (batching), or null when no server kind can hold it.
 */
function groupPlanFor(spec: ServiceSpec, kind: string, memoryBytes: number, perServer: number, demand: number): ParallelPlan | null {
  const out = planModelParallel({ service: spec, device: { kind, memoryBytes, maxPerServer: perServer }, demandPerSec: demand, requestStrategy: 'batching' });
  return out.feasible ? out.plan : null;
}

/**
 * The static placement a careful operator would deploy from a demand forecast, bin-packed by memory with one
 * instance of a model per device:
 * 1. cover demand: services in order of weight size, add replicas until their capacity (at the model-analyzer
 *    batch size, on the device kind they land on) covers the forecast — each replica on the fastest device
 *    kind with room, empty devices first, then servers with the most demand for the service; a model no
 *    single device holds gets a model-parallel group over empty devices of one server;
 * 2. use the rest: while a device holds nothing, add a replica of the service whose placed capacity is
 *    lowest relative to its demand (replicas end up proportional to demand), if it fits and keeps up with the
 *    demand entering at its server (requests are served where they enter).
 * Frames of streams are ordinary requests judged by their staleness limit.
 */
export function tritonStaticPlacement(input: TritonPlacementInput): TritonReplica[] {
  const reserve = input.reserveFraction ?? 0.1;
  const bf = input.budgetFactor ?? 1;
  const maxBatch = (spec: ServiceSpec, kind: string): number => tritonMaxBatch(spec, kind, 128, bf);
  const services = input.services.map(asLatencyService);
  const devices: FreeDevice[] = input.servers.flatMap((s) => s.spec.devices.filter((_, i) => !input.unavailable?.has(`${s.index}:${i}`)).map((d) => ({ server: s.index, device: s.spec.devices.indexOf(d), kind: d.kind, free: d.memoryBytes * (1 - reserve), hosts: new Set<number>() })));
  const demandOf = services.map((_, k) => input.demand[k]!.reduce((a, b) => a + b, 0));
  const memOfKind = new Map<string, number>();
  for (const s of input.servers) for (const d of s.spec.devices) memOfKind.set(d.kind, Math.max(memOfKind.get(d.kind) ?? 0, d.memoryBytes));
  const fitsOne = (k: number, kind: string): boolean => {
    const m = services[k]!.spec.memory;
    return m.weightsBytes + m.perItemBytes <= (memOfKind.get(kind) ?? 0) * (1 - reserve);
  };
  const capOf = (k: number, kind: string): number => {
    const b = maxBatch(services[k]!.spec, kind);
    return b === 0 ? 0 : (b * 1000) / latencyAt(services[k]!.spec.profiles[kind]!, b);
  };
  const memoryOf = (k: number, kind: string): number => services[k]!.spec.memory.weightsBytes + services[k]!.spec.memory.perItemBytes * maxBatch(services[k]!.spec, kind);
  const placedCap = services.map(() => 0);
  const out: TritonReplica[] = [];
  const rankOf = services.map((_, k) => {
    const order = input.servers.map((s) => s.index).sort((a, b) => input.demand[k]![b]! - input.demand[k]![a]! || a - b);
    return new Map(order.map((s, i) => [s, i]));
  });
  const addGroup = (k: number): boolean => {
    for (const s of [...input.servers].sort((a, b) => rankOf[k]!.get(a.index)! - rankOf[k]!.get(b.index)!)) {
      const empty = devices.filter((d) => d.server === s.index && d.hosts.size === 0);
      if (empty.length === 0 || services[k]!.spec.profiles[empty[0]!.kind] === undefined) continue;
      const plan = groupPlanFor(services[k]!.spec, empty[0]!.kind, s.spec.devices[0]!.memoryBytes, empty.length, Math.max(1e-6, demandOf[k]! - placedCap[k]!));
      if (plan === null || plan.devices > empty.length) continue;
      const used = empty.slice(0, plan.devices);
      for (const d of used) {
        d.hosts.add(k);
        d.free -= plan.memoryPerDeviceBytes;
      }
      placedCap[k]! += plan.capacityPerSec;
      out.push({ service: k, server: s.index, device: used[0]!.device, devices: used.map((d) => d.device), maxBatch: plan.batchSize, runMs: plan.runMs, memoryPerDeviceBytes: plan.memoryPerDeviceBytes, stages: plan.stages ?? plan.devices, capacityPerSec: plan.capacityPerSec });
      return true;
    }
    return false;
  };
  const addReplica = (k: number, emptyOnly: boolean): boolean => {
    if (!devices.some((d) => services[k]!.spec.profiles[d.kind] !== undefined && fitsOne(k, d.kind))) return addGroup(k);
    let best: FreeDevice | undefined;
    let bestKey: number[] = [];
    for (const d of devices) {
      const cap = capOf(k, d.kind);
      if (cap === 0 || !fitsOne(k, d.kind) || d.hosts.has(k) || memoryOf(k, d.kind) > d.free || (emptyOnly && d.hosts.size > 0)) continue;
      // Requests are served where they enter: an extra replica must keep up with the demand entering there.
      if (emptyOnly && cap < input.demand[k]![d.server]!) continue;
      const key = [-cap, d.hosts.size, rankOf[k]!.get(d.server)!, -d.free];
      if (best === undefined || lexLess(key, bestKey)) {
        best = d;
        bestKey = key;
      }
    }
    if (best === undefined) return false;
    const b = maxBatch(services[k]!.spec, best.kind);
    best.free -= memoryOf(k, best.kind);
    best.hosts.add(k);
    placedCap[k]! += capOf(k, best.kind);
    out.push({ service: k, server: best.server, device: best.device, devices: [best.device], maxBatch: b, runMs: latencyAt(services[k]!.spec.profiles[best.kind]!, b), memoryPerDeviceBytes: memoryOf(k, best.kind), stages: 1, capacityPerSec: capOf(k, best.kind) });
    return true;
  };
  const bySize = services.map((_, k) => k).filter((k) => demandOf[k]! > 0).sort((a, b) => services[b]!.spec.memory.weightsBytes - services[a]!.spec.memory.weightsBytes || a - b);
  for (const k of bySize) while (placedCap[k]! < demandOf[k]! && addReplica(k, false));
  for (;;) {
    const order = [...bySize].sort((a, b) => placedCap[a]! / demandOf[a]! - placedCap[b]! / demandOf[b]! || a - b);
    if (!order.some((k) => addReplica(k, true))) break;
  }
  return out;
}

function lexLess(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}
