/**
 * Arrivals on their way to a zone's forecaster over the ring: each server counts what enters it, the ring's token
 * takes a server's count as it visits (when the server writes its entry), and the counts reach the forecaster when
 * the token's round completes at the server that started it.
 */
export class CarriedArrivals {
  /** Counted at each server and not yet taken by a token, `server × services + service`. */
  readonly #waiting: Float64Array;
  /** Taken by each zone's token this round, same layout. */
  readonly #carried: Float64Array[];
  readonly #services: number;

  constructor(
    servers: number,
    services: number,
    private readonly zones: readonly (readonly number[])[],
    private readonly zoneIndex: readonly number[],
  ) {
    this.#services = services;
    this.#waiting = new Float64Array(servers * services);
    this.#carried = zones.map(() => new Float64Array(servers * services));
  }

  /** One arrival of `service` entered at `server`. */
  count(server: number, service: number): void {
    this.#waiting[server * this.#services + service]!++;
  }

  /** The zone's token visits `server`: it takes the server's count. */
  take(server: number): void {
    const into = this.#carried[this.zoneIndex[server]!]!;
    const base = server * this.#services;
    for (let k = 0; k < this.#services; k++) {
      const n = this.#waiting[base + k]!;
      if (n === 0) continue;
      into[base + k]! += n;
      this.#waiting[base + k] = 0;
    }
  }

  /** The zone's round is complete: hands every count its token carried to `record` (service, server, count). */
  deliver(zone: number, record: (service: number, server: number, count: number) => void): void {
    const from = this.#carried[zone]!;
    for (const s of this.zones[zone]!) {
      const base = s * this.#services;
      for (let k = 0; k < this.#services; k++) {
        const n = from[base + k]!;
        if (n === 0) continue;
        record(k, s, n);
        from[base + k] = 0;
      }
    }
  }
}
