import type { ParallelPlan } from '../../allocation/plan.js';
import type { ServerSpec } from '../../model/device.js';
import type { ServiceDemand } from '../../model/demand.js';
import type { ServiceSpec } from '../../model/service.js';
import { affineProfile, latencyAt } from '../../profiles/latency-profile.js';
import type { Random } from '../../ports/random.js';
import type { PlacementInput } from '../types.js';

/** Shape of a random instance (all bounds inclusive). */
export interface RandomInstanceShape {
  readonly servers: number;
  readonly devicesPerServer: number;
  readonly services: number;
  /** Also offer a 2-device data-parallel plan for some services. */
  readonly groups?: boolean;
  /** Device kinds to draw from. @default ['gpu'] */
  readonly kinds?: readonly string[];
}

const MB = 1024 * 1024;

/**
 * A plan for `service` on `kind` from an affine latency model at batch `b`: batching for latency services,
 * multi-frame for frequency services; `devices > 1` makes a data-parallel group (replicas of the same plan).
 */
export function affinePlan(
  service: ServiceSpec,
  kind: string,
  shape: { fixedMs: number; perItemMs: number; batch: number; devices?: number },
): ParallelPlan {
  const profile = affineProfile(kind, { fixedMs: shape.fixedMs, perItemMs: shape.perItemMs, maxBatch: 64 });
  const runMs = latencyAt(profile, shape.batch);
  const devices = shape.devices ?? 1;
  const capacityPerSec = ((1000 * shape.batch) / runMs) * devices;
  return {
    serviceId: service.id,
    deviceKind: kind,
    requestStrategy: service.sensitivity === 'latency' ? 'batching' : 'multi-frame',
    serviceStrategy: devices > 1 ? 'data-parallel' : 'single',
    devices,
    batchSize: shape.batch,
    capacityPerSec,
    memoryPerDeviceBytes: service.memory.weightsBytes + service.memory.perItemBytes * shape.batch,
    expectedLatencyMs: 2 * runMs,
    runMs,
    goodputPerDevice: capacityPerSec / devices,
    utilization: 1,
    notes: ['test fixture'],
  };
}

/** A random, valid placement instance: heterogeneous memory, SLOs, batch sizes, demand and delays. */
export function randomPlacementInstance(rng: Random, shape: RandomInstanceShape): PlacementInput {
  const kinds = shape.kinds ?? ['gpu'];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;
  const between = (lo: number, hi: number): number => lo + (hi - lo) * rng.next();
  const servers: ServerSpec[] = Array.from({ length: shape.servers }, (_, s) => ({
    id: `s${s}`,
    devices: Array.from({ length: shape.devicesPerServer }, (_, d) => ({
      id: `g${d}`,
      kind: pick(kinds),
      memoryBytes: Math.round(pick([4, 8, 16]) * 1024) * MB,
    })),
  }));
  const services: ServiceSpec[] = [];
  const plans: Record<string, ParallelPlan[]> = {};
  const demand: ServiceDemand[] = [];
  for (let k = 0; k < shape.services; k++) {
    const latency = rng.next() < 0.6;
    const fixedMs = between(2, 20);
    const perItemMs = between(0.5, 6);
    const svc: ServiceSpec = {
      id: `m${k}`,
      sensitivity: latency ? 'latency' : 'frequency',
      slo: latency ? { kind: 'latency', deadlineMs: Math.round(between(40, 400)) } : { kind: 'frequency', rateHz: 30, stalenessMs: Math.round(between(100, 500)) },
      memory: { weightsBytes: Math.round(between(0.3, 7) * 1024) * MB, perItemBytes: Math.round(between(5, 60)) * MB },
      loadTimeMs: Math.round(between(200, 5000)),
      profiles: Object.fromEntries(kinds.map((kind) => [kind, affineProfile(kind, { fixedMs, perItemMs, maxBatch: 64 })])),
      weight: pick([1, 1, 2]),
    };
    services.push(svc);
    const list: ParallelPlan[] = [];
    const planCount = 1 + Math.floor(rng.next() * 2);
    for (let p = 0; p < planCount; p++) {
      const batch = pick([1, 2, 4, 8, 16]);
      list.push(affinePlan(svc, pick(kinds), { fixedMs, perItemMs, batch }));
    }
    if (shape.groups && rng.next() < 0.4) list.push(affinePlan(svc, pick(kinds), { fixedMs, perItemMs, batch: pick([4, 8]), devices: 2 }));
    plans[svc.id] = list;
    const perServer: Record<string, number> = {};
    const unit = list[0]!.capacityPerSec;
    for (const s of servers) if (rng.next() < 0.7) perServer[s.id] = Math.round(unit * between(0.05, 1.2) * 100) / 100;
    demand.push({ serviceId: svc.id, ratePerServer: perServer });
  }
  const delaysMs: Record<string, Record<string, number>> = {};
  for (const a of servers) {
    delaysMs[a.id] = {};
    for (const b of servers) delaysMs[a.id]![b.id] = a === b ? 0 : Math.round(between(1, 120));
  }
  return { servers, services, plans, demand, delaysMs };
}
