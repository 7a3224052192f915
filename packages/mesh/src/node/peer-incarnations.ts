import { randomBytes } from 'node:crypto';
import type { ServerId } from '@epara/core';
import type { Incarnation } from '../protocol/messages.js';

/** Instances remembered as replaced, per peer id: enough for a server restarted several times over. */
const RETIRED_KEPT = 16;

/**
 * This process's incarnation: the run's announced epoch and a random instance number. The instance comes from
 * the system's random source, not the node's seeded `random` (seeded from the id, it would repeat across runs).
 */
export function newIncarnation(epoch: number): Incarnation {
  const b = randomBytes(8);
  // 53 random bits: an integer a double carries exactly.
  return { epoch, instance: (b.readUInt32LE(0) & 0x1f_ffff) * 2 ** 32 + b.readUInt32LE(4) };
}

/** What to do with a new link, given the incarnation its peer announced. */
export type IncarnationVerdict =
  /** The peer's current run (or a peer that announced none): keep the link beside the others. */
  | 'current'
  /** A newer run of the peer: keep the link, and retire every link of the run it replaces. */
  | 'replaces'
  /** A run already replaced, or older than the run whose links are open: close the link. */
  | 'refused';

/**
 * The run of each peer process this node talks to, learned in the handshake of every link. A server restarted
 * under its id while its old process still holds links (stopped, or its sockets half-open) announces a new
 * run: its links replace the old run's, and the old run is never let back in (a stopped process that resumes
 * would otherwise answer, sync and be sent requests as the same server).
 *
 * A run replaces the current one when its epoch is at least as large (a restart announces a larger epoch;
 * equal epochs are two runs the newer link wins). A run with a smaller epoch is refused while the current
 * run has a link open, and taken once none is: after a restart whose clock stepped back, the old run's links
 * end by their own keepalive and the new run gets in then.
 *
 * What is kept per peer is forgotten ({@link forget}) once the peer has no link open and the view no longer
 * holds it, so ids that come and go (a churning cluster, a peer that links under fresh ids) are not kept for ever.
 */
export class PeerIncarnations {
  readonly #current = new Map<ServerId, Incarnation>();
  readonly #retired = new Map<ServerId, number[]>();

  /** Decides on a new link from `peer`; `openLinks` says whether the peer has other links open now. */
  admit(peer: ServerId, incarnation: Incarnation | undefined, openLinks: boolean): IncarnationVerdict {
    if (incarnation === undefined) return 'current';
    if (this.#retired.get(peer)?.includes(incarnation.instance) === true) return 'refused';
    const current = this.#current.get(peer);
    if (current === undefined || current.instance === incarnation.instance || !openLinks) {
      this.#current.set(peer, incarnation);
      return 'current';
    }
    if (incarnation.epoch < current.epoch) return 'refused';
    this.#retire(peer, current.instance);
    this.#current.set(peer, incarnation);
    return 'replaces';
  }

  /** Peers whose runs are remembered. */
  ids(): ServerId[] {
    return [...new Set([...this.#current.keys(), ...this.#retired.keys()])];
  }

  /** Forgets everything about `peer` (it has no link open and the view no longer knows it). */
  forget(peer: ServerId): void {
    this.#current.delete(peer);
    this.#retired.delete(peer);
  }

  /** The epoch of the peer's current run, if one announced itself. */
  currentEpoch(peer: ServerId): number | undefined {
    return this.#current.get(peer)?.epoch;
  }

  /** Whether a link that announced `incarnation` belongs to the peer's current run. */
  isCurrent(peer: ServerId, incarnation: Incarnation | undefined): boolean {
    const current = this.#current.get(peer);
    return incarnation === undefined || current === undefined || current.instance === incarnation.instance;
  }

  #retire(peer: ServerId, instance: number): void {
    const list = this.#retired.get(peer) ?? [];
    list.push(instance);
    if (list.length > RETIRED_KEPT) list.shift();
    this.#retired.set(peer, list);
  }
}
