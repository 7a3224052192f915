/** Changes remembered per server: enough for the few milliseconds of an access leg at any link's forward rate. */
const DEPTH = 64;

/**
 * When each server's own egress link is through with the offloads it sent (what a server knows of its NIC
 * queue), and what that was a little while ago: a server's clients learn it one access leg late, so what they
 * act on is {@link at} an earlier time. The value only grows (each offload pushes it later), so reading it older
 * never makes a client skip more than it would have on the current value.
 */
export class EgressHistory {
  readonly #now: Float64Array;
  readonly #times: Float64Array;
  readonly #values: Float64Array;
  readonly #counts: Int32Array;

  /** @param servers number of servers (indices `0 … servers − 1`). */
  constructor(servers: number) {
    this.#now = new Float64Array(servers);
    this.#times = new Float64Array(servers * DEPTH);
    this.#values = new Float64Array(servers * DEPTH);
    this.#counts = new Int32Array(servers);
  }

  /** When `server`'s egress link is through with what it sent so far (0: nothing sent). */
  freeAt(server: number): number {
    return this.#now[server]!;
  }

  /** `server` sent `ms` of link time at `now`: its egress is busy until the later of its backlog's end and now, plus `ms`. */
  send(server: number, now: number, ms: number): void {
    const free = Math.max(now, this.#now[server]!) + ms;
    this.#now[server] = free;
    const n = this.#counts[server]!;
    const slot = server * DEPTH + (n % DEPTH);
    this.#times[slot] = now;
    this.#values[slot] = free;
    this.#counts[server] = n + 1;
  }

  /**
   * What {@link freeAt} returned at time `t` (≤ the last send's time or after it). When `t` is older than every
   * remembered change, 0 — knowing nothing of a backlog, as a client that has not heard of it.
   */
  at(server: number, t: number): number {
    const n = this.#counts[server]!;
    const oldest = Math.max(0, n - DEPTH);
    for (let i = n - 1; i >= oldest; i--) {
      const slot = server * DEPTH + (i % DEPTH);
      if (this.#times[slot]! <= t) return this.#values[slot]!;
    }
    return 0;
  }
}
