import { invalidOption } from '../errors/epara-error.js';
import type { ServerId } from '../model/device.js';

/** Options of {@link routeRequest} and {@link admitStream}. */
export interface RouteOptions {
  /** Most forwards one request may take (a request arriving with `hops ≥ hopLimit` is never forwarded). @default 2 */
  readonly hopLimit: number;
  /** Safety margin: an estimate must land at or before `deadline − guardMs`. @default 1 */
  readonly guardMs: number;
  /**
   * Staleness inflation. A peer's reported wait is taken as
   * `waitMs + age × (max(0, ρ − 1) + stalenessFactor × ρ)`, where `age = now − updatedAt` and
   * `ρ = loadPerSec / capacityPerSec` of the instance. The first term is the backlog an overloaded instance
   * has piled up since it wrote the entry (arrivals beyond capacity); the second hedges against bursts in
   * proportion to how busy it is (0 trusts the view as is; 1 assumes every arrival since the report is still
   * queued, which ignores what the peer served meanwhile). The default trusts the view: the receiver re-checks
   * every forward against its exact local state, so an optimistic estimate costs at most a hop, while any hedge
   * excluded busy-but-able peers in the simulator's sweep (docs/simulator.md, E7: factor 0 had the best goodput
   * in every row, 0.1 lost 7–30% of it, 1 lost 28–38%).
   * @default 0
   */
  readonly stalenessFactor: number;
  /** Peers whose entry is older than this are not considered (their state is unknown), ms. @default 10000 */
  readonly maxEntryAgeMs: number;
  /** How many feasible peers a forward decision lists, best first (fallbacks if the first send fails). @default 3 */
  readonly maxCandidates: number;
  /** Add the result's way back (one-way delay + response transfer) to a peer's estimate. @default true */
  readonly includeReturnHop: boolean;
  /** One-way delay to a peer missing from the {@link NetworkModel}, ms. @default 1 */
  readonly defaultDelayMs: number;
  /** Bandwidth to a peer missing from the {@link NetworkModel}, bytes/ms (125 000 = 1 Gbit/s). @default 125000 */
  readonly defaultBandwidthBytesPerMs: number;
  /** Streams: spare rate an instance must keep after admitting, as a fraction of its capacity. @default 0.05 */
  readonly spareMarginFraction: number;
}

/** Defaults of {@link RouteOptions}. */
export const DEFAULT_ROUTE_OPTIONS: RouteOptions = Object.freeze({
  hopLimit: 2,
  guardMs: 1,
  stalenessFactor: 0,
  maxEntryAgeMs: 10_000,
  maxCandidates: 3,
  includeReturnHop: true,
  defaultDelayMs: 1,
  defaultBandwidthBytesPerMs: 125_000,
  spareMarginFraction: 0.05,
});

/** This server's network to its peers (missing peers use the option defaults). */
export interface NetworkModel {
  /** One-way delay to each peer, ms. */
  readonly delayMs?: Readonly<Record<ServerId, number>>;
  /** Bandwidth to each peer, bytes/ms. */
  readonly bandwidthBytesPerMs?: Readonly<Record<ServerId, number>>;
}

const RESOLVED = Symbol('epara.resolvedRouteOptions');
let resolvedDefaults: RouteOptions | undefined;

/**
 * Fills and validates {@link RouteOptions}; resolved options pass through untouched (cheap on hot paths).
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field and value.
 */
export function resolveRouteOptions(options?: Partial<RouteOptions>): RouteOptions {
  if (options === undefined) return resolvedDefaults ??= resolveRouteOptions({});
  if (typeof options !== 'object' || options === null) invalidOption('options', options, 'an object');
  if ((options as Record<symbol, unknown>)[RESOLVED] === true) return options as RouteOptions;
  const o: RouteOptions = { ...DEFAULT_ROUTE_OPTIONS };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;
  if (!(Number.isInteger(o.hopLimit) && o.hopLimit >= 0)) invalidOption('hopLimit', o.hopLimit, 'an integer >= 0');
  nonNegative('guardMs', o.guardMs);
  nonNegative('stalenessFactor', o.stalenessFactor);
  if (!(typeof o.maxEntryAgeMs === 'number' && o.maxEntryAgeMs > 0)) invalidOption('maxEntryAgeMs', o.maxEntryAgeMs, 'a positive number (Infinity allowed)');
  if (!(Number.isInteger(o.maxCandidates) && o.maxCandidates >= 1)) invalidOption('maxCandidates', o.maxCandidates, 'an integer >= 1');
  if (typeof o.includeReturnHop !== 'boolean') invalidOption('includeReturnHop', o.includeReturnHop, 'a boolean');
  nonNegative('defaultDelayMs', o.defaultDelayMs);
  if (!(typeof o.defaultBandwidthBytesPerMs === 'number' && o.defaultBandwidthBytesPerMs > 0)) {
    invalidOption('defaultBandwidthBytesPerMs', o.defaultBandwidthBytesPerMs, 'a positive number');
  }
  if (!(typeof o.spareMarginFraction === 'number' && o.spareMarginFraction >= 0 && o.spareMarginFraction < 1)) {
    invalidOption('spareMarginFraction', o.spareMarginFraction, 'a number in [0, 1)');
  }
  Object.defineProperty(o, RESOLVED, { value: true });
  return Object.freeze(o);
}

/** One-way time to send `bytes` to a peer: delay plus transfer, ms. */
export function sendMs(network: NetworkModel | undefined, peer: ServerId, bytes: number, o: RouteOptions): number {
  const delay = network?.delayMs?.[peer] ?? o.defaultDelayMs;
  const bw = network?.bandwidthBytesPerMs?.[peer] ?? o.defaultBandwidthBytesPerMs;
  return delay + bytes / bw;
}

function nonNegative(field: string, value: unknown): void {
  if (!(typeof value === 'number' && value >= 0 && Number.isFinite(value))) invalidOption(field, value, 'a finite number >= 0');
}
