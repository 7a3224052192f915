import { createProfile, scaleProfile, type DeviceKind, type LatencyProfile, type ServerSpec, type ServiceDemand, type ServiceSpec } from '@epara/core';

const GB = 1e9;
const MB = 1e6;

/** Device kinds in this edge cloud, with memory and latency relative to an RTX 3090. */
export const DEVICE_KINDS: Readonly<Record<DeviceKind, { memoryBytes: number; slowdown: number; label: string }>> = {
  rtx3090: { memoryBytes: 24 * GB, slowdown: 1, label: 'RTX 3090 24 GB' },
  t4: { memoryBytes: 16 * GB, slowdown: 2.2, label: 'T4 16 GB' },
  'jetson-orin': { memoryBytes: 32 * GB, slowdown: 4, label: 'Jetson Orin 32 GB (unified)' },
  'cpu-2t': { memoryBytes: 8 * GB, slowdown: 25, label: '2 CPU threads, 8 GB' },
};

const device = (id: string, kind: DeviceKind): ServerSpec['devices'][number] => ({ id, kind, memoryBytes: DEVICE_KINDS[kind]!.memoryBytes });

/** Five edge servers: a 4-GPU box, a mixed one, two T4 servers and an embedded board (12 accelerators). */
export const SERVERS: readonly ServerSpec[] = [
  { id: 'edge-a', devices: [device('gpu0', 'rtx3090'), device('gpu1', 'rtx3090'), device('gpu2', 'rtx3090'), device('gpu3', 'rtx3090')], accessLatencyMs: 2 },
  { id: 'edge-b', devices: [device('gpu0', 'rtx3090'), device('gpu1', 't4')], accessLatencyMs: 3 },
  { id: 'edge-c', devices: [device('gpu0', 't4'), device('gpu1', 't4')], accessLatencyMs: 2 },
  { id: 'edge-d', devices: [device('gpu0', 't4'), device('cpu0', 'cpu-2t')], accessLatencyMs: 4 },
  { id: 'edge-e', devices: [device('soc0', 'jetson-orin')], accessLatencyMs: 1 },
];

/** One-way delays between servers, ms (a metro edge: 1–6 ms). */
export const DELAYS_MS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  'edge-a': { 'edge-a': 0, 'edge-b': 1, 'edge-c': 2, 'edge-d': 4, 'edge-e': 3 },
  'edge-b': { 'edge-a': 1, 'edge-b': 0, 'edge-c': 2, 'edge-d': 3, 'edge-e': 4 },
  'edge-c': { 'edge-a': 2, 'edge-b': 2, 'edge-c': 0, 'edge-d': 2, 'edge-e': 5 },
  'edge-d': { 'edge-a': 4, 'edge-b': 3, 'edge-c': 2, 'edge-d': 0, 'edge-e': 6 },
  'edge-e': { 'edge-a': 3, 'edge-b': 4, 'edge-c': 5, 'edge-d': 6, 'edge-e': 0 },
};

/**
 * Latency profiles on every kind from one curve measured on the reference GPU: `fixedMs + perItemMs·b`, with
 * per-item cost growing 40% past `bendAt` (large activations), then scaled by each kind's slowdown.
 */
function profiles(fixedMs: number, perItemMs: number, options: { bendAt?: number; kinds?: DeviceKind[] } = {}): Record<DeviceKind, LatencyProfile> {
  const bendAt = options.bendAt ?? 64;
  const points = [1, 2, 4, 8, 16, 32, 64].map((b) => ({ batch: b, ms: fixedMs + perItemMs * (b <= bendAt ? b : bendAt + (b - bendAt) * 1.4) }));
  const reference = createProfile('rtx3090', points);
  const kinds = options.kinds ?? Object.keys(DEVICE_KINDS);
  return Object.fromEntries(kinds.map((k) => [k, scaleProfile(reference, DEVICE_KINDS[k]!.slowdown, k)]));
}

/** The six services of the example. */
export const SERVICES: readonly ServiceSpec[] = [
  {
    id: 'image-seg', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 150 }, networkBudgetMs: 10,
    memory: { weightsBytes: 90 * MB, perItemBytes: 120 * MB }, loadTimeMs: 800, profiles: profiles(8, 2.5, { bendAt: 16 }),
  },
  {
    id: 'video-seg', sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 30, stalenessMs: 200 }, networkBudgetMs: 10,
    memory: { weightsBytes: 90 * MB, perItemBytes: 120 * MB }, loadTimeMs: 800, profiles: profiles(8, 2.5, { bendAt: 16 }),
  },
  {
    // weight: one chat turn is worth far more than one classified image to this operator
    id: 'llm-chat', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 6000 }, networkBudgetMs: 20, weight: 1000,
    memory: { weightsBytes: 26 * GB, perItemBytes: 800 * MB }, loadTimeMs: 20_000,
    profiles: profiles(700, 60, { kinds: ['rtx3090', 't4'] }),
  },
  {
    id: 'hci-loop', sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 10, stalenessMs: 300 }, networkBudgetMs: 10, weight: 10,
    memory: { weightsBytes: 1.5 * GB, perItemBytes: 60 * MB }, loadTimeMs: 3000, profiles: profiles(25, 4, { kinds: ['rtx3090', 't4', 'jetson-orin'] }),
  },
  {
    id: 'classifier', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 50 }, networkBudgetMs: 8,
    memory: { weightsBytes: 100 * MB, perItemBytes: 20 * MB }, loadTimeMs: 300, profiles: profiles(2, 0.3),
  },
  {
    id: 'audio-vad', sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 31.25, stalenessMs: 100 }, networkBudgetMs: 8,
    memory: { weightsBytes: 2 * MB, perItemBytes: 1 * MB }, loadTimeMs: 50, profiles: profiles(0.4, 0.05),
  },
];

/** Demand for the next period: requests/s per access server, and streams. */
export const DEMAND: readonly ServiceDemand[] = [
  { serviceId: 'image-seg', ratePerServer: { 'edge-a': 120, 'edge-c': 100, 'edge-d': 80 } },
  { serviceId: 'video-seg', ratePerServer: {}, streams: Array.from({ length: 12 }, (_, i) => ({ accessServer: SERVERS[i % 5]!.id, rateHz: 30 })) },
  { serviceId: 'llm-chat', ratePerServer: { 'edge-a': 1.5, 'edge-b': 1 } },
  { serviceId: 'hci-loop', ratePerServer: {}, streams: Array.from({ length: 6 }, (_, i) => ({ accessServer: i < 3 ? 'edge-e' : 'edge-b', rateHz: 10 })) },
  { serviceId: 'classifier', ratePerServer: { 'edge-a': 600, 'edge-b': 500, 'edge-d': 400 } },
  { serviceId: 'audio-vad', ratePerServer: {}, streams: Array.from({ length: 40 }, (_, i) => ({ accessServer: SERVERS[i % 5]!.id, rateHz: 31.25 })) },
];
