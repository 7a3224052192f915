import { DEVICE_KINDS, type SimServer } from './hardware.js';

/**
 * Options of the simulated network. Servers sit in sites (a building or a cell: one switch) and sites in
 * zones (a metro area); one-way delay depends on that distance. Every pair gets a fixed value drawn
 * uniformly from its range (deterministic from the pair and the seed).
 */
export interface NetworkOptions {
  /** One-way delay between two servers of one site, ms. @default 0.3 */
  readonly sameSiteMs: number;
  /** Extra spread of same-site pairs, ms (a pair gets `sameSiteMs + U[0, spread)`). @default 0.4 */
  readonly sameSiteSpreadMs: number;
  /** Range of one-way delay between sites of one zone (metro), ms. @default [5, 20] */
  readonly metroMs: readonly [number, number];
  /** Range of one-way delay between zones, ms. @default [20, 50] */
  readonly crossZoneMs: readonly [number, number];
  /** Servers per site (consecutive servers). @default 3 */
  readonly siteSize: number;
  /** Model contention: transfers queue on each server's egress/ingress link and each access point. @default true */
  readonly contention: boolean;
}

/** Defaults of {@link NetworkOptions}. */
export const DEFAULT_NETWORK_OPTIONS: NetworkOptions = { sameSiteMs: 0.3, sameSiteSpreadMs: 0.4, metroMs: [5, 20], crossZoneMs: [20, 50], siteSize: 3, contention: true };

/**
 * The simulated network. `delayMs`/`transferMs` are the uncontended figures a system may measure and plan
 * with; `send*` move real bytes now: each link serializes its transfers (first come, first served at the
 * link's bandwidth), so a busy link delays everything behind it.
 */
export interface Network {
  delayMs(from: number, to: number): number;
  /** Uncontended server → server time of `bytes`: delay + bytes / bandwidth of the slower link. */
  transferMs(from: number, to: number, bytes: number): number;
  /** Uncontended client → access server: access latency plus upload time. */
  uplinkMs(server: number, bytes: number): number;
  /** Uncontended access server → client. */
  downlinkMs(server: number, bytes: number): number;
  /** Sends `bytes` from server to server starting at `now`; returns the arrival time (queues on both links). */
  send(from: number, to: number, bytes: number, now: number): number;
  /**
   * A client of `server` uploads `bytes` at `now`; returns when they reach the server (shared access uplink),
   * or −1 without sending when they could not arrive by `deadline` (the client skips a hopeless upload).
   */
  sendUp(server: number, bytes: number, now: number, deadline?: number): number;
  /** How long an upload started at `now` by a client of `server` waits behind those already on its access uplink, ms. */
  upBacklogMs(server: number, now: number): number;
  /** The server sends `bytes` to its client at `now`; returns when they reach the client (shared downlink). */
  sendDown(server: number, bytes: number, now: number): number;
  /** Site index of a server. */
  siteOf(server: number): number;
  /** Bytes sent and mean queueing per transfer so far (for the report). */
  stats(): { transfers: number; bytes: number; meanQueueMs: number };
}

/** Creates the {@link Network} of a set of servers. */
export function createNetwork(servers: readonly SimServer[], options: NetworkOptions, seed: number): Network {
  const n = servers.length;
  const links = Float64Array.from(servers, (s) => DEVICE_KINDS[s.preset.deviceKind]!.linkBytesPerMs);
  const zones = Int32Array.from(servers, (s) => s.zone);
  const place = Int32Array.from(servers, (s) => s.clusterIndex ?? s.index);
  const sites = Int32Array.from(place, (i) => Math.floor(i / options.siteSize));
  const access = Float64Array.from(servers, (s) => s.preset.accessLatencyMs);
  const accessBw = Float64Array.from(servers, (s) => s.preset.accessBytesPerMs);
  const egress = new Float64Array(n);
  const ingress = new Float64Array(n);
  const up = new Float64Array(n);
  const down = new Float64Array(n);
  const contention = options.contention;
  // Counters: transfers, bytes sent, summed link queueing (a typed array: a double captured by these closures
  // and written per transfer would be a fresh heap number at every write).
  const counters = new Float64Array(3);
  const [m0, m1] = options.metroMs;
  const [z0, z1] = options.crossZoneMs;
  const delayMs = (from: number, to: number): number => {
    if (from === to) return 0;
    const lo = from < to ? from : to;
    const hi = from < to ? to : from;
    if (zones[lo] !== zones[hi]) return z0 + (z1 - z0) * hashUnit(Math.min(zones[lo]!, zones[hi]!), Math.max(zones[lo]!, zones[hi]!), seed ^ 0x3c6ef372);
    if (sites[lo] !== sites[hi]) return m0 + (m1 - m0) * hashUnit(sites[lo]!, sites[hi]!, seed ^ 0x1b873593);
    return options.sameSiteMs + options.sameSiteSpreadMs * hashUnit(place[lo]!, place[hi]!, seed);
  };
  /** Serializes `ms` of link time on `link` from `now`; returns when the bytes are through. */
  const occupy = (link: Float64Array, i: number, now: number, ms: number): number => {
    if (!contention) return now + ms;
    const start = link[i]! > now ? link[i]! : now;
    counters[2]! += start - now;
    link[i] = start + ms;
    return start + ms;
  };
  return {
    delayMs,
    transferMs(from, to, bytes) {
      if (from === to) return 0;
      return delayMs(from, to) + bytes / Math.min(links[from]!, links[to]!);
    },
    uplinkMs: (server, bytes) => access[server]! + bytes / accessBw[server]!,
    downlinkMs: (server, bytes) => access[server]! + bytes / accessBw[server]!,
    send(from, to, bytes, now) {
      if (from === to) return now;
      counters[0]!++;
      counters[1]! += bytes;
      const out = occupy(egress, from, now, bytes / links[from]!);
      const inn = occupy(ingress, to, out - bytes / links[from]!, bytes / links[to]!);
      return Math.max(out, inn) + delayMs(from, to);
    },
    sendUp(server, bytes, now, deadline = Infinity) {
      const ms = bytes / accessBw[server]!;
      if (contention && Math.max(now, up[server]!) + ms + access[server]! > deadline) return -1;
      counters[0]!++;
      counters[1]! += bytes;
      return occupy(up, server, now, ms) + access[server]!;
    },
    upBacklogMs: (server, now) => (contention && up[server]! > now ? up[server]! - now : 0),
    sendDown(server, bytes, now) {
      counters[0]!++;
      counters[1]! += bytes;
      return occupy(down, server, now, bytes / accessBw[server]!) + access[server]!;
    },
    siteOf: (server) => sites[server]!,
    stats: () => ({ transfers: counters[0]!, bytes: counters[1]!, meanQueueMs: counters[0] === 0 ? 0 : counters[2]! / counters[0]! }),
  };
}

/** A deterministic value in [0, 1) for an unordered pair and a seed (integer hash, no allocation). */
function hashUnit(a: number, b: number, seed: number): number {
  let h = Math.imul(a + 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35) ^ seed;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}
