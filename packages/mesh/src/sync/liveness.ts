import type { ServerId } from '@epara/core';

/** Settings of a {@link Liveness}. */
export interface LivenessConfig {
  readonly periodMs: number;
  /**
   * A successor that misses its acks is only *suspected* (bypassed for that token) while some sign of life
   * from it — a message of its own, or a fresher stamp of its entry carried by anyone's token — is younger
   * than this; past it, the server is marked dead.
   */
  readonly suspicionMs: number;
  /** Probes sent to a dead-marked server every round before backing off. */
  readonly eagerProbes: number;
  /** Longest gap between probes of a long-dead server, in periods. */
  readonly maxProbeGapPeriods: number;
}

interface ProbeState {
  sent: number;
  nextAt: number;
}

/**
 * Failure-detector bookkeeping of the ring (suspicion before death, probes of the dead).
 *
 * A lost token or ack looks like a dead successor. Declaring death on the first missed acks makes every lost
 * message a false death, so a successor is only suspected while anything shows it alive; and because a
 * false death can still happen (a paused process, heavy loss), dead-marked servers keep receiving a copy of
 * the token: every round at first, then with exponential back-off. A live server that gets one sees its own
 * dead mark and outbids it with a higher version (see the view store's self-echo rule).
 */
export class Liveness {
  readonly #c: LivenessConfig;
  readonly #heard = new Map<ServerId, number>();
  readonly #probes = new Map<ServerId, ProbeState>();

  constructor(config: LivenessConfig) {
    this.#c = config;
  }

  /** A message came straight from `id`. */
  heard(id: ServerId, now: number): void {
    this.#heard.set(id, now);
  }

  /**
   * Whether a successor that missed its acks is dead (`true`) or only suspected. `stampedAt` is when its
   * entry was last stamped by itself, in this server's clock (as the view store keeps it).
   */
  isDead(id: ServerId, stampedAt: number, now: number): boolean {
    const sign = Math.max(stampedAt, this.#heard.get(id) ?? -Infinity);
    return now - sign >= this.#c.suspicionMs;
  }

  /** Of the dead-marked servers given, those due for a probe now (and books the probe). */
  probesDue(dead: readonly ServerId[], now: number): ServerId[] {
    const due: ServerId[] = [];
    for (const id of dead) {
      const p = this.#probes.get(id) ?? { sent: 0, nextAt: now };
      this.#probes.set(id, p);
      if (now < p.nextAt) continue;
      p.sent++;
      const over = p.sent - this.#c.eagerProbes;
      const gap = over < 0 ? 0 : Math.min(this.#c.maxProbeGapPeriods, 2 ** Math.floor(over / 2));
      p.nextAt = now + gap * this.#c.periodMs;
      due.push(id);
    }
    return due;
  }

  /** Servers something is kept for (a sign of life heard, a probe schedule). */
  get size(): number {
    return new Set([...this.#heard.keys(), ...this.#probes.keys()]).size;
  }

  /**
   * Keeps only what is kept for the servers `known` holds: a message from an id the view never held (or no
   * longer holds) left a sign of life behind that nothing would ever forget.
   */
  retain(known: (id: ServerId) => boolean): void {
    for (const id of this.#heard.keys()) if (!known(id)) this.#heard.delete(id);
    for (const id of this.#probes.keys()) if (!known(id)) this.#probes.delete(id);
  }

  /** `id` left the view for good (forgotten): nothing of it is kept. */
  forget(id: ServerId): void {
    this.#heard.delete(id);
    this.#probes.delete(id);
  }

  /** `id` is alive again (or gone from the view): its probe schedule restarts with its next death. */
  revived(id: ServerId): void {
    this.#probes.delete(id);
  }
}
