import { latencyAt, type ServiceSpec } from '@epara/core';
import type { SimServer } from '../model/hardware.js';
import { asLatencyService, type SimService } from '../model/services.js';

/** Model-analyzer style pick: the largest batch (up to `limit`) whose latency fits the SLO budget, or 0. */
export function tritonMaxBatch(spec: ServiceSpec, kind: string, limit = 128): number {
  const p = spec.profiles[kind];
  if (p === undefined) return 0;
  const deadline = spec.slo.kind === 'latency' ? spec.slo.deadlineMs : spec.slo.stalenessMs;
  const budget = deadline - (spec.networkBudgetMs ?? 0);
  let best = 0;
  for (let b = 1; b <= limit; b++) if (latencyAt(p, b) <= budget) best = b;
  return best;
}

/** One model placed on one device by the operator's static plan. */
export interface TritonReplica {
  readonly service: number;
  readonly server: number;
  readonly device: number;
  readonly maxBatch: number;
}

/** Inputs of {@link tritonStaticPlacement}. */
export interface TritonPlacementInput {
  readonly servers: readonly SimServer[];
  readonly services: readonly SimService[];
  /** Average demand per service and access server, items/s (the same forecast every system gets). */
  readonly demand: readonly (readonly number[])[];
  /** Fraction of device memory kept free. @default 0.1 */
  readonly reserveFraction?: number;
}

/**
 * The static placement a careful Triton operator would deploy, from the average demand (the same forecast
 * every system starts from), bin-packed by memory with one instance of a model per device:
 * 1. cover demand: services in order of weight size, add replicas until their capacity (at the model-analyzer
 *    batch size, on the device kind they land on) covers the service's average demand — each replica on the
 *    fastest device kind with room, empty devices first, then servers with the most demand for the service;
 * 2. use the rest: while a device holds nothing, add a replica of the service whose placed capacity is
 *    lowest relative to its demand (replicas end up proportional to demand), if it fits.
 * Frames of streams are ordinary requests judged by their staleness limit.
 */
export function tritonStaticPlacement(input: TritonPlacementInput): TritonReplica[] {
  const reserve = input.reserveFraction ?? 0.1;
  const services = input.services.map(asLatencyService);
  const devices = input.servers.flatMap((s) => s.spec.devices.map((d, i) => ({ server: s.index, device: i, kind: d.kind, free: d.memoryBytes * (1 - reserve), hosts: new Set<number>() })));
  const demandOf = services.map((_, k) => input.demand[k]!.reduce((a, b) => a + b, 0));
  const capOf = (k: number, kind: string): number => {
    const b = tritonMaxBatch(services[k]!.spec, kind);
    return b === 0 ? 0 : (b * 1000) / latencyAt(services[k]!.spec.profiles[kind]!, b);
  };
  const memoryOf = (k: number, kind: string): number => services[k]!.spec.memory.weightsBytes + services[k]!.spec.memory.perItemBytes * tritonMaxBatch(services[k]!.spec, kind);
  const placedCap = services.map(() => 0);
  const out: TritonReplica[] = [];
  const rankOf = services.map((_, k) => {
    const order = input.servers.map((s) => s.index).sort((a, b) => input.demand[k]![b]! - input.demand[k]![a]! || a - b);
    return new Map(order.map((s, i) => [s, i]));
  });
  const addReplica = (k: number, emptyOnly: boolean): boolean => {
    let best: (typeof devices)[number] | undefined;
    let bestKey: number[] = [];
    for (const d of devices) {
      const cap = capOf(k, d.kind);
      if (cap === 0 || d.hosts.has(k) || memoryOf(k, d.kind) > d.free || (emptyOnly && d.hosts.size > 0)) continue;
      const key = [-cap, d.hosts.size, rankOf[k]!.get(d.server)!, -d.free];
      if (best === undefined || lexLess(key, bestKey)) {
        best = d;
        bestKey = key;
      }
    }
    if (best === undefined) return false;
    best.free -= memoryOf(k, best.kind);
    best.hosts.add(k);
    placedCap[k]! += capOf(k, best.kind);
    out.push({ service: k, server: best.server, device: best.device, maxBatch: tritonMaxBatch(services[k]!.spec, best.kind) });
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
