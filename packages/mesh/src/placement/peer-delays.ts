import type { ServerId } from '@epara/core';

/** Weight of a new round-trip sample in the smoothed one-way delay. */
const SMOOTHING = 0.3;

/**
 * Measured network delays between servers, for locality-aware placement. Each server probes its peers over the
 * placement channel (a probe carries the sender's clock reading and comes straight back, so only the sender's
 * clock is used: no clock sync needed) and keeps a smoothed one-way delay (round trip ÷ 2) per peer; it sends
 * that row with its device report, and the leader merges every row into one delay model for `placeServices`.
 */
export class PeerDelays {
  readonly #self: ServerId;
  /** Per reporting server: one-way delay to each peer, ms. */
  readonly #rows = new Map<ServerId, Map<ServerId, number>>();
  /** {@link own}'s last answer, until a sample changes this server's row. */
  #ownCache: Readonly<Record<ServerId, number>> | undefined;

  constructor(self: ServerId) {
    this.#self = self;
    this.#rows.set(self, new Map());
  }

  /** This server's smoothed one-way delays to its peers, ms. */
  own(): Readonly<Record<ServerId, number>> {
    return (this.#ownCache ??= Object.fromEntries(this.#rows.get(this.#self)!));
  }

  /** A probe sent at `sentAt` came back at `now` from `peer`. Negative or non-finite samples are ignored. */
  sample(peer: ServerId, sentAt: number, now: number): void {
    const oneWay = (now - sentAt) / 2;
    if (!(Number.isFinite(oneWay) && oneWay >= 0) || peer === this.#self) return;
    const row = this.#rows.get(this.#self)!;
    const old = row.get(peer);
    row.set(peer, old === undefined ? oneWay : old + SMOOTHING * (oneWay - old));
    this.#ownCache = undefined;
  }

  /** A peer's reported row (invalid entries are dropped). */
  report(from: ServerId, row: Readonly<Record<ServerId, number>>): void {
    if (from === this.#self) return;
    const clean = new Map<ServerId, number>();
    for (const [to, ms] of Object.entries(row)) if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 && to !== from) clean.set(to, ms);
    this.#rows.set(from, clean);
  }

  /** `peer` left the view for good: its row and this server's measurement of it go. */
  forget(peer: ServerId): void {
    if (peer === this.#self) return;
    this.#rows.delete(peer);
    if (this.#rows.get(this.#self)!.delete(peer)) this.#ownCache = undefined;
  }

  /** True once this server has measured `peer`. */
  measured(peer: ServerId): boolean {
    return this.#rows.get(this.#self)!.has(peer);
  }

  /**
   * The delay model for placement, or `undefined` before any measurement (placement then ignores locality).
   * `from → to` uses `from`'s measurement, else `to`'s (delays are near symmetric), else the median of all
   * measurements (a pair nobody measured yet is assumed typical, never unreachable).
   */
  model(): ((from: ServerId, to: ServerId) => number) | undefined {
    const all = [...this.#rows.values()].flatMap((r) => [...r.values()]).sort((a, b) => a - b);
    if (all.length === 0) return undefined;
    const typical = all[all.length >> 1]!;
    const rows = new Map([...this.#rows].map(([k, v]) => [k, new Map(v)]));
    return (from, to) => (from === to ? 0 : (rows.get(from)?.get(to) ?? rows.get(to)?.get(from) ?? typical));
  }
}
