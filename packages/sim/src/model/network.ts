import { DEVICE_KINDS, type SimServer } from './hardware.js';

/** Options of the simulated network between servers. */
export interface NetworkOptions {
  /** Smallest one-way delay between two servers of one zone, ms. @default 0.5 */
  readonly baseDelayMs: number;
  /** Extra one-way delay spread within a zone: each pair gets a fixed value in `[0, jitter)`, ms. @default 1.5 */
  readonly pairSpreadMs: number;
  /** Extra one-way delay between servers of different zones, ms. @default 20 */
  readonly interZoneDelayMs: number;
}

/** Defaults of {@link NetworkOptions}. */
export const DEFAULT_NETWORK_OPTIONS: NetworkOptions = { baseDelayMs: 0.5, pairSpreadMs: 1.5, interZoneDelayMs: 20 };

/**
 * The simulated network: a fixed one-way delay per server pair (deterministic from the pair and the seed)
 * and the bandwidth of the slower of the two servers' links. Payload sizes matter: a transfer of `bytes`
 * takes `delay + bytes / bandwidth`.
 */
export interface Network {
  delayMs(from: number, to: number): number;
  transferMs(from: number, to: number, bytes: number): number;
  /** Client → access server: access latency plus upload time. */
  uplinkMs(server: number, bytes: number): number;
  /** Access server → client: access latency plus download time. */
  downlinkMs(server: number, bytes: number): number;
}

/** Creates the {@link Network} of a set of servers. */
export function createNetwork(servers: readonly SimServer[], options: NetworkOptions, seed: number): Network {
  const links = servers.map((s) => DEVICE_KINDS[s.preset.deviceKind]!.linkBytesPerMs);
  const zones = servers.map((s) => s.zone);
  const access = servers.map((s) => s.preset.accessLatencyMs);
  const accessBw = servers.map((s) => s.preset.accessBytesPerMs);
  const delayMs = (from: number, to: number): number => {
    if (from === to) return 0;
    const lo = from < to ? from : to;
    const hi = from < to ? to : from;
    const spread = options.pairSpreadMs * hashUnit(lo, hi, seed);
    const inter = zones[from] === zones[to] ? 0 : options.interZoneDelayMs;
    return options.baseDelayMs + spread + inter;
  };
  return {
    delayMs,
    transferMs(from, to, bytes) {
      if (from === to) return 0;
      const bw = Math.min(links[from]!, links[to]!);
      return delayMs(from, to) + bytes / bw;
    },
    uplinkMs: (server, bytes) => access[server]! + bytes / accessBw[server]!,
    downlinkMs: (server, bytes) => access[server]! + bytes / accessBw[server]!,
  };
}

/** A deterministic value in [0, 1) for an unordered pair and a seed (integer hash, no allocation). */
function hashUnit(a: number, b: number, seed: number): number {
  let h = Math.imul(a + 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35) ^ seed;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}
