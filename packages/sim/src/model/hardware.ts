import type { DeviceKind, DeviceSpec, ServerSpec } from '@epara/core';

/** A device class of the simulated edge cloud, with its speed relative to the reference edge GPU. */
export interface DeviceKindModel {
  readonly kind: DeviceKind;
  readonly memoryBytes: number;
  /** Run time multiplier against the reference `edge-gpu` (1 = same speed, 5 = five times slower). */
  readonly slowdown: number;
  /** Bytes per ms of the server's network link (10 Gbit/s = 1.25e6). */
  readonly linkBytesPerMs: number;
}

/**
 * Device classes used by the built-in presets. Values are plausible public figures, not measurements:
 * an RTX-4090-class edge GPU (24 GB), a Jetson-Orin-class embedded board (32 GB unified, about 5× slower on
 * the CNN and LLM kernels used here), and a Raspberry-Pi-class microcomputer (8 GB, CPU, about 40× slower).
 */
export const DEVICE_KINDS: Readonly<Record<string, DeviceKindModel>> = {
  'edge-gpu': { kind: 'edge-gpu', memoryBytes: 24e9, slowdown: 1, linkBytesPerMs: 1.25e6 },
  jetson: { kind: 'jetson', memoryBytes: 24e9, slowdown: 5, linkBytesPerMs: 1.25e5 },
  'micro-cpu': { kind: 'micro-cpu', memoryBytes: 4e9, slowdown: 40, linkBytesPerMs: 1.25e4 },
};

/** A server preset: what devices a server of this kind has and how its clients reach it. */
export interface ServerPreset {
  readonly name: string;
  readonly deviceKind: keyof typeof DEVICE_KINDS;
  readonly devices: number;
  /** One-way latency from this server's clients to it (Wi-Fi / 5G / Bluetooth), ms. */
  readonly accessLatencyMs: number;
  /**
   * Bandwidth of the access point the server's clients share, bytes per ms, each direction (100 Mbit/s =
   * 12 500): a 5G / Wi-Fi 6 cell at a GPU server (1 Gbit/s), 500 Mbit/s at a board, 100 Mbit/s at a microcomputer.
   */
  readonly accessBytesPerMs: number;
}

/**
 * Built-in server presets: `gpu-server` (2 edge GPUs), `gpu-server-4` (4 edge GPUs), `jetson` (one embedded
 * board that also hosts small models) and `micro` (a microcomputer: mostly a client).
 */
export const SERVER_PRESETS: Readonly<Record<string, ServerPreset>> = {
  'gpu-server': { name: 'gpu-server', deviceKind: 'edge-gpu', devices: 2, accessLatencyMs: 4, accessBytesPerMs: 125_000 },
  'gpu-server-4': { name: 'gpu-server-4', deviceKind: 'edge-gpu', devices: 4, accessLatencyMs: 4, accessBytesPerMs: 125_000 },
  jetson: { name: 'jetson', deviceKind: 'jetson', devices: 1, accessLatencyMs: 2, accessBytesPerMs: 62_500 },
  micro: { name: 'micro', deviceKind: 'micro-cpu', devices: 1, accessLatencyMs: 2, accessBytesPerMs: 12_500 },
};

/** One group of identical servers in a cluster description. */
export interface ServerGroup {
  /** A key of {@link SERVER_PRESETS}. */
  readonly preset: string;
  readonly count: number;
  /** Overrides the preset's device count. */
  readonly devicesPerServer?: number;
}

/** A simulated server: the core spec plus the preset facts the simulator needs. */
export interface SimServer {
  readonly index: number;
  /**
   * Index in the whole cluster when this server belongs to one zone's world (where `index` is its position);
   * the network draws sites and delays from it, so a zone's world has the same links as the cluster. Omitted: `index`.
   */
  readonly clusterIndex?: number;
  readonly spec: ServerSpec;
  readonly preset: ServerPreset;
  readonly zone: number;
}

/**
 * Expands server groups into servers `s000`, `s001`, … with devices `g0`, `g1`, …; servers are assigned to
 * zones of `zoneSize` consecutive servers (after interleaving groups so every zone gets a mix).
 */
export function buildServers(groups: readonly ServerGroup[], zoneSize: number): SimServer[] {
  const queues = groups.map((g) => ({ g, left: g.count }));
  const order: ServerGroup[] = [];
  const total = groups.reduce((n, g) => n + g.count, 0);
  // Interleave by proportional share so that zones and prefixes of the list get a mix of kinds.
  const taken = queues.map(() => 0);
  for (let i = 0; i < total; i++) {
    let best = -1;
    let bestDeficit = -Infinity;
    queues.forEach((q, j) => {
      if (q.left === 0) return;
      const deficit = ((i + 1) * q.g.count) / total - taken[j]!;
      if (deficit > bestDeficit) {
        bestDeficit = deficit;
        best = j;
      }
    });
    const q = queues[best]!;
    q.left--;
    taken[best]!++;
    order.push(q.g);
  }
  const width = Math.max(3, String(total - 1).length);
  return order.map((g, index) => {
    const preset = SERVER_PRESETS[g.preset]!;
    const kind = DEVICE_KINDS[preset.deviceKind]!;
    const devices: DeviceSpec[] = [];
    const n = g.devicesPerServer ?? preset.devices;
    for (let d = 0; d < n; d++) devices.push({ id: `g${d}`, kind: kind.kind, memoryBytes: kind.memoryBytes });
    const spec: ServerSpec = { id: `s${String(index).padStart(width, '0')}`, devices, accessLatencyMs: preset.accessLatencyMs };
    return { index, spec, preset, zone: Math.floor(index / zoneSize) };
  });
}
