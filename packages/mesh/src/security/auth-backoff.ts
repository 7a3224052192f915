import type { Random } from '@epara/core';

/** Settings of {@link AuthBackoff}. */
export interface AuthBackoffConfig {
  /** The wait after the first failed handshake, ms (the base of the doubling). */
  readonly initialMs: number;
  /** The longest wait between two dials of the same address, ms. */
  readonly maxMs: number;
  /** Now, ms (the node's clock). */
  readonly now: () => number;
  /** The jitter's source (the node's seeded random). */
  readonly random: Random;
}

/** Most addresses held at once: past it the oldest is forgotten. */
const MAX_ADDRESSES = 1024;

/**
 * Exponential backoff with jitter for addresses whose peer failed authentication (a wrong pre-shared key, a
 * peer announcing another id, a handshake that never finished). Without it a node keeps dialing such a peer on
 * its normal schedule (each sync period), costing both sides a connection and a handshake every time and
 * flooding their logs. After the n-th failure in a row the address is not dialed for
 * `min(maxMs, initialMs × 2^(n-1))` scaled by a random factor in [0.5, 1) ("equal jitter": nodes that failed
 * together do not retry together). One authenticated link with the peer, in either direction, clears it; an
 * address nothing dialed for `maxMs` after its wait ended is forgotten, so failed addresses seen once (a churning
 * cluster's old ports) are not held for ever.
 */
export class AuthBackoff {
  readonly #c: AuthBackoffConfig;
  readonly #byAddress = new Map<string, { failures: number; until: number }>();

  constructor(config: AuthBackoffConfig) {
    this.#c = config;
  }

  /** How long `address` must still not be dialed, ms (0: dial now). */
  remainingMs(address: string): number {
    const entry = this.#byAddress.get(address);
    return entry ? Math.max(0, entry.until - this.#c.now()) : 0;
  }

  /** Records a failed handshake with `address`; returns how long it is now held back, ms. */
  failed(address: string): number {
    const now = this.#c.now();
    if (!this.#byAddress.has(address)) this.#expire(now);
    const failures = (this.#byAddress.get(address)?.failures ?? 0) + 1;
    const ceiling = Math.min(this.#c.maxMs, this.#c.initialMs * 2 ** Math.min(failures - 1, 52));
    const waitMs = ceiling * (0.5 + 0.5 * this.#c.random.next());
    // Many distinct failing addresses: forget the oldest rather than grow without bound.
    if (this.#byAddress.size >= MAX_ADDRESSES && !this.#byAddress.has(address)) this.#byAddress.delete(this.#byAddress.keys().next().value as string);
    this.#byAddress.set(address, { failures, until: now + waitMs });
    return waitMs;
  }

  /** Addresses held: at most {@link MAX_ADDRESSES}, and none whose wait ended more than `maxMs` ago. */
  get size(): number {
    return this.#byAddress.size;
  }

  /**
   * Forgets the addresses whose wait ended more than `maxMs` ago: nothing dialed them since (a peer gone for good,
   * a port of a run long replaced), and one that fails again starts over from `initialMs`.
   */
  #expire(now: number): void {
    for (const [address, e] of this.#byAddress) if (now - e.until > this.#c.maxMs) this.#byAddress.delete(address);
  }

  /** An authenticated link with the peer at `address`: dial it freely again. */
  succeeded(address: string): void {
    this.#byAddress.delete(address);
  }

  /** Consecutive failed handshakes recorded for `address` (0 after a success). */
  failures(address: string): number {
    return this.#byAddress.get(address)?.failures ?? 0;
  }
}
