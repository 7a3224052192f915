import type { World } from '../world/world.js';

/** Slacks kept per service and access server (the most recent ones). */
const RING = 256;
/** Arrivals a pair needs before its own measurement replaces the early window's. */
const MIN_SAMPLES = 32;
/** Quantiles handed to placement per pair. */
const QUANTILES = 20;

/**
 * What EPARA knows of its items' age at their access servers, for placement's `arrivalSlackMs`: every item's slack
 * on reaching its access server (its due time − now − the result's way back to the client; a request carries its
 * deadline, a frame its capture time), the last {@link RING} per service and access server, seeded with the early
 * window's measurement until a pair has {@link MIN_SAMPLES} of its own.
 */
export class ArrivalSlackBook {
  readonly #servers: number;
  readonly #rings = new Map<number, Float64Array>();
  readonly #counts = new Map<number, number>();

  constructor(world: World) {
    this.#servers = world.servers.length;
  }

  /** An item of `service` reached its access server `server` with `slackMs` left. */
  record(service: number, server: number, slackMs: number): void {
    const key = service * this.#servers + server;
    let ring = this.#rings.get(key);
    if (ring === undefined) this.#rings.set(key, (ring = new Float64Array(RING)));
    const n = this.#counts.get(key) ?? 0;
    ring[n % RING] = slackMs;
    this.#counts.set(key, n + 1);
  }

  /** Placement's `arrivalSlackMs` for the services of `world` and the access servers `servers`. */
  slackMs(world: World, servers: readonly number[]): Record<string, Record<string, number[]>> {
    const out: Record<string, Record<string, number[]>> = {};
    world.services.forEach((svc, k) => {
      const row: Record<string, number[]> = {};
      for (const s of servers) {
        const list = this.#quantiles(k, s) ?? world.earlyWindowSlackMs[k]?.[s];
        if (list !== undefined && list.length > 0) row[world.servers[s]!.spec.id] = [...list];
      }
      out[svc.spec.id] = row;
    });
    return out;
  }

  #quantiles(service: number, server: number): number[] | undefined {
    const key = service * this.#servers + server;
    const n = this.#counts.get(key) ?? 0;
    if (n < MIN_SAMPLES) return undefined;
    const values = Array.from(this.#rings.get(key)!.subarray(0, Math.min(n, RING))).sort((a, b) => a - b);
    return Array.from({ length: QUANTILES }, (_, i) => values[Math.floor(((i + 0.5) * values.length) / QUANTILES)]!);
  }
}
