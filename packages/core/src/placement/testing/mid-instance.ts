import { allocate } from '../../allocation/allocate.js';
import type { ParallelPlan } from '../../allocation/plan.js';
import { deviceKindsOf } from '../../categories/device-kinds.js';
import type { ServerSpec } from '../../model/device.js';
import type { ServiceDemand } from '../../model/demand.js';
import type { ServiceSpec } from '../../model/service.js';
import { affineProfile, scaleProfile } from '../../profiles/latency-profile.js';
import { createSeededRandom, type Random } from '../../ports/random.js';
import type { PlacementInput } from '../types.js';

const GB = 1024 ** 3;
const MB = 1024 ** 2;

/** Two device kinds: a 16 GB GPU and a faster 24 GB one. */
const KINDS = [
  { kind: 'gpu-16', memoryBytes: 16 * GB, slow: 1 },
  { kind: 'gpu-24', memoryBytes: 24 * GB, slow: 0.7 },
] as const;

interface Family {
  readonly latency: boolean;
  readonly weightsGb: [number, number];
  readonly perItemMb: [number, number];
  readonly fixedMs: [number, number];
  readonly perItemMs: [number, number];
  readonly sloMs: [number, number];
  readonly weight: number;
}

/** Small CNNs, video streams, transformers, LLMs (model-parallel on 16 GB), heavy video (data-parallel). */
const FAMILIES: readonly Family[] = [
  { latency: true, weightsGb: [0.05, 0.5], perItemMb: [10, 40], fixedMs: [3, 10], perItemMs: [0.3, 2], sloMs: [50, 200], weight: 1 },
  { latency: false, weightsGb: [0.2, 1], perItemMb: [20, 60], fixedMs: [5, 15], perItemMs: [1, 4], sloMs: [150, 300], weight: 2 },
  { latency: true, weightsGb: [2, 6], perItemMb: [100, 300], fixedMs: [20, 50], perItemMs: [5, 15], sloMs: [300, 800], weight: 3 },
  { latency: true, weightsGb: [18, 30], perItemMb: [200, 400], fixedMs: [60, 120], perItemMs: [10, 20], sloMs: [1500, 3000], weight: 20 },
  { latency: false, weightsGb: [1, 3], perItemMb: [100, 200], fixedMs: [30, 40], perItemMs: [12, 20], sloMs: [200, 300], weight: 6 },
];

/** Shape of a mid-size instance (bounds inclusive). */
export interface MidInstanceShape {
  readonly servers: readonly [number, number];
  readonly devicesPerServer: readonly [number, number];
  readonly services: readonly [number, number];
  /** Offered load in device-equivalents of each service's best plan, as a fraction of the cluster. */
  readonly load: readonly [number, number];
}

/** The shape used by the exact-reference tests and `pnpm bench:placement`. */
export const MID_SHAPE: MidInstanceShape = { servers: [3, 6], devicesPerServer: [1, 4], services: [5, 8], load: [0.4, 1.5] };

/**
 * A mid-size placement instance (too large for brute force): heterogeneous servers of 1–4 devices of two kinds,
 * services drawn from five families (including multi-device LLMs and data-parallel heavy video), plans from
 * `allocate` sized for the busiest access server, Zipf popularity over services and exponential spread over
 * access servers. No delays (locality off) and no current placement.
 */
export function midPlacementInstance(seed: number, shape: MidInstanceShape = MID_SHAPE): PlacementInput {
  const rng = createSeededRandom(seed);
  const int = ([lo, hi]: readonly [number, number]): number => lo + Math.floor(rng.next() * (hi - lo + 1));
  const between = ([lo, hi]: readonly [number, number]): number => lo + (hi - lo) * rng.next();
  const servers: ServerSpec[] = Array.from({ length: int(shape.servers) }, (_, s) => {
    const k = KINDS[rng.next() < 0.6 ? 0 : 1]!;
    const n = int(shape.devicesPerServer);
    return { id: `s${s}`, devices: Array.from({ length: n }, (_, d) => ({ id: `g${d}`, kind: k.kind, memoryBytes: k.memoryBytes })) };
  });
  const services: ServiceSpec[] = [];
  const count = int(shape.services);
  for (let i = 0; i < count; i++) {
    const f = FAMILIES[i < FAMILIES.length ? i : Math.floor(rng.next() * FAMILIES.length)]!;
    const fixedMs = between(f.fixedMs);
    const perItemMs = between(f.perItemMs);
    const base = affineProfile(KINDS[0].kind, { fixedMs, perItemMs, maxBatch: 64 });
    const slo = Math.round(between(f.sloMs));
    services.push({
      id: `m${i}`,
      sensitivity: f.latency ? 'latency' : 'frequency',
      slo: f.latency ? { kind: 'latency', deadlineMs: slo } : { kind: 'frequency', rateHz: 30, stalenessMs: slo },
      memory: { weightsBytes: Math.round(between(f.weightsGb) * 1024) * MB, perItemBytes: Math.round(between(f.perItemMb)) * MB },
      loadTimeMs: Math.round(500 + between(f.weightsGb) * 400),
      profiles: Object.fromEntries(KINDS.map((k) => [k.kind, scaleProfile(base, k.slow, k.kind)])),
      networkBudgetMs: f.latency ? 10 : 0,
      weight: f.weight,
    });
  }
  const kinds = deviceKindsOf(servers);
  const unit = (s: ServiceSpec): number => {
    const plans = allocate({ service: s, demand: 1, deviceKinds: kinds }).plans;
    return Math.max(1, ...plans.map((p) => p.capacityPerSec / p.devices));
  };
  const demand = zipfDemand(rng, services, servers, unit, between(shape.load));
  const plans: Record<string, ParallelPlan[]> = {};
  for (const [i, s] of services.entries()) {
    const d = demand[i]!;
    const perServer = new Map<string, number>(Object.entries(d.ratePerServer));
    for (const st of d.streams ?? []) perServer.set(st.accessServer, (perServer.get(st.accessServer) ?? 0) + st.rateHz);
    const peak = Math.max(1, ...perServer.values());
    plans[s.id] = [...allocate({ service: s, demand: peak, deviceKinds: kinds }).plans];
  }
  return { servers, services, plans, demand };
}

function zipfDemand(rng: Random, svcs: readonly ServiceSpec[], servers: readonly ServerSpec[], unit: (s: ServiceSpec) => number, load: number): ServiceDemand[] {
  const popularity = svcs.map((_, rank) => 1 / (1 + rank));
  const sum = popularity.reduce((a, b) => a + b, 0);
  const devices = servers.reduce((n, s) => n + s.devices.length, 0);
  return svcs.map((s, rank) => {
    const total = (unit(s) * devices * load * popularity[rank]!) / sum;
    let access = servers.filter(() => rng.next() < 0.5);
    if (access.length === 0) access = [servers[Math.floor(rng.next() * servers.length)]!];
    const weights = access.map(() => -Math.log(1 - rng.next()));
    const wsum = weights.reduce((a, b) => a + b, 0) || 1;
    if (s.sensitivity === 'latency') {
      return { serviceId: s.id, ratePerServer: Object.fromEntries(access.map((a, i) => [a.id, Math.round(((total * weights[i]!) / wsum) * 100) / 100])) };
    }
    const streams = access.flatMap((a, i) => Array.from({ length: Math.max(1, Math.round((total * weights[i]!) / wsum / 30)) }, () => ({ accessServer: a.id, rateHz: 30 })));
    return { serviceId: s.id, ratePerServer: {}, streams };
  });
}
