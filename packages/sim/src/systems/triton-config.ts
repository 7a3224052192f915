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
 * The static placement a careful Triton operator would deploy: every service gets replicas (one model
 * instance per device) in proportion to its average demand in device-equivalents (demand ÷ the capacity of
 * one device at the model-analyzer batch size), at least one, scaled so the replicas fill the devices; then
 * replicas are bin-packed by memory (first-fit decreasing), spreading a service over the servers with the
 * most demand for it first. Frames of streams are ordinary requests (each frame judged by its staleness).
 */
export function tritonStaticPlacement(input: TritonPlacementInput): TritonReplica[] {
  const reserve = input.reserveFraction ?? 0.1;
  const services = input.services.map(asLatencyService);
  const devices = input.servers.flatMap((s) => s.spec.devices.map((d, i) => ({ server: s.index, device: i, kind: d.kind, free: d.memoryBytes * (1 - reserve), hosts: new Set<number>() })));
  const required = services.map((svc, k) => {
    const total = input.demand[k]!.reduce((a, b) => a + b, 0);
    let bestCap = 0;
    for (const kind of new Set(devices.map((d) => d.kind))) {
      const b = tritonMaxBatch(svc.spec, kind);
      if (b > 0) bestCap = Math.max(bestCap, (b * 1000) / latencyAt(svc.spec.profiles[kind]!, b));
    }
    return bestCap > 0 && total > 0 ? total / bestCap : 0;
  });
  const sum = required.reduce((a, b) => a + b, 0);
  const replicas = required.map((r) => (r <= 0 ? 0 : Math.max(1, Math.round((r * devices.length) / sum))));
  const memoryOf = (k: number, kind: string): number => services[k]!.spec.memory.weightsBytes + services[k]!.spec.memory.perItemBytes * tritonMaxBatch(services[k]!.spec, kind);
  const order = services.map((_, k) => k).filter((k) => replicas[k]! > 0).sort((a, b) => services[b]!.spec.memory.weightsBytes - services[a]!.spec.memory.weightsBytes || a - b);
  const out: TritonReplica[] = [];
  for (const k of order) {
    const serversByDemand = input.servers.map((s) => s.index).sort((a, b) => input.demand[k]![b]! - input.demand[k]![a]! || a - b);
    const rank = new Map(serversByDemand.map((s, i) => [s, i]));
    const hostsOnServer = new Map<number, number>();
    for (let r = 0; r < replicas[k]!; r++) {
      let best: (typeof devices)[number] | undefined;
      let bestKey: number[] = [];
      for (const d of devices) {
        const mb = tritonMaxBatch(services[k]!.spec, d.kind);
        if (mb === 0 || d.hosts.has(k) || memoryOf(k, d.kind) > d.free) continue;
        const key = [hostsOnServer.get(d.server) ?? 0, rank.get(d.server)!, -d.free];
        if (best === undefined || lexLess(key, bestKey)) {
          best = d;
          bestKey = key;
        }
      }
      if (best === undefined) break;
      best.free -= memoryOf(k, best.kind);
      best.hosts.add(k);
      hostsOnServer.set(best.server, (hostsOnServer.get(best.server) ?? 0) + 1);
      out.push({ service: k, server: best.server, device: best.device, maxBatch: tritonMaxBatch(services[k]!.spec, best.kind) });
    }
  }
  return out;
}

function lexLess(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}
