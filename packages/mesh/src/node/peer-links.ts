import { EventEmitter } from 'eventemitter3';
import { createSystemTimers, EparaError, toEparaError } from '@epara/core';
import type { Clock, ServerId, TimerHandle, Timers } from '@epara/core';
import type { Connection, Transport } from '../transport/transport.js';
import { ChecksumPolicy, decodeFrame, encodeFrame, encodeFrameParts, isUnknownTypeError, joinFrameParts, sendFrameParts } from '../protocol/frame-codec.js';
import type { FrameParts } from '../protocol/frame-codec.js';
import { INCARNATION_FLAG_ITEMS, INCARNATION_FLAG_RUNS, SYNC_FLAG_ITEMS, SYNC_FLAG_RUNS } from '../protocol/messages.js';
import type { DecodedMessage, Incarnation, WireMessage } from '../protocol/messages.js';
import type { ProtocolLimits } from '../protocol/protocol-limits.js';
import type { Logger } from '@epara/core';
import { RepeatThrottle } from '../util/repeat-throttle.js';
import type { AuthBackoff } from '../security/auth-backoff.js';
import { PeerIncarnations } from './peer-incarnations.js';
import { monotonicClock } from '../util/monotonic-clock.js';
import type { PeerLinkState } from '../offload/offload-path-ports.js';

/** Turns a raw connection into one whose peer is known (and, when secured, authenticated). */
export type Handshake = (
  connection: Connection,
  direction: 'inbound' | 'outbound',
) => Promise<{ peerId: ServerId; connection: Connection; early?: readonly Uint8Array[] }>;

/** An established link to a peer. */
export interface PeerLink {
  readonly linkId: string;
  readonly peerId: ServerId;
  readonly connection: Connection;
}

/** Events of {@link PeerLinks}. */
export interface PeerLinksEvents {
  /**
   * A frame from the peer, decoded. Also (`bytes: 0`) the `error` a request of this node's own gets when it waited for
   * the peer's `limits` and turned out larger than the peer takes: answered as if the peer had refused it.
   */
  messageReceived: [{ link: PeerLink; message: DecodedMessage; bytes: number }];
  linkOpened: [{ link: PeerLink }];
  /**
   * `lastLink` is true when no other link to that peer remains. A link of a peer's run that a newer run (the
   * server restarted under its id) replaced closes with `lastLink: false`, whether the new run's link is up or the
   * view alone shows the new run (a dial to it may be pending). So does a link refused as a replaced run's: its
   * closing says nothing about the peer's current run. `dialIds` are the
   * dials whose queued frames went out on this link (see {@link PeerLinks.send}): they are lost with it too.
   */
  linkClosed: [{ link: PeerLink; lastLink: boolean; dialIds: readonly string[] }];
  /**
   * A dial failed, or its link was refused (the address answered as a replaced run of the peer): the frames
   * queued on dial `dialId` are lost. `peerLinked` says whether the peer has another link open (its current run
   * linked meanwhile), in which case the peer itself is not shown to have failed.
   */
  peerUnreachable: [{ peerId: ServerId | undefined; address: string; error: EparaError; dialId: string; peerLinked: boolean }];
  /**
   * A frame could not be decoded. One of a type this build does not know (a newer build's) is ignored and the link
   * stays up; after any other (corrupted, cut short) the link's bytes cannot be trusted and it is closed.
   */
  frameRejected: [{ peerId: ServerId; error: EparaError }];
  frameSent: [{ type: WireMessage['type']; bytes: number }];
  /** A peer let more than `maxBufferedBytes` pile up unread on its link: the write was refused and the link cut. */
  linkShed: [{ link: PeerLink; bufferedBytes: number }];
}

/** Settings of {@link PeerLinks}. */
export interface PeerLinksConfig {
  readonly selfId: ServerId;
  readonly transport: Transport;
  readonly handshake: Handshake;
  readonly limits: ProtocolLimits;
  /** Where a peer listens (from the view). */
  readonly addressOf: (peerId: ServerId) => string | undefined;
  /** The epoch the view holds for a peer: larger than its links' run announced means it may have restarted. */
  readonly epochOf: (peerId: ServerId) => number | undefined;
  /**
   * The run that wrote the view's entry of a peer, when the entry carries one: a link of another run with a smaller
   * epoch belongs to a run the view shows replaced. @default none known
   */
  readonly runOf?: (peerId: ServerId) => Incarnation | undefined;
  /** Whether the view holds a peer alive: a dial to one it holds dead is restarted when it is back ({@link PeerLinks.peerBack}). @default always */
  readonly aliveOf?: (peerId: ServerId) => boolean;
  /** Frames queued per peer while dialing. */
  readonly maxQueuedFrames: number;
  /**
   * Bytes allowed to wait unsent on one link (a peer that does not read its replies). A write past it is
   * refused with `OVERLOADED` (a request being answered gets that error instead, a small frame) and the
   * link is cut.
   */
  readonly maxBufferedBytes: number;
  /**
   * Addresses whose peer failed authentication are not dialed again until their backoff has passed (sends to
   * them throw `PEER_UNAVAILABLE` meanwhile); an authenticated link with the peer clears it.
   */
  readonly authBackoff: AuthBackoff;
  readonly logger: Logger;
  /** Runs the probes' timeouts ({@link PeerLinks.probe}). @default system timers */
  readonly timers?: Timers;
  /** Measures a probe timer's lateness (never steps). @default `monotonicClock` */
  readonly clock?: Clock;
}

/** A `ping` sent to check a link both ways, waiting for its `pong`. */
interface Probe {
  readonly id: number;
  timer: TimerHandle;
  dueAt: number;
}

interface Dial {
  /** Returned by {@link PeerLinks.send} for frames queued on this dial, and reported when they are lost. */
  readonly id: string;
  /** The peer dialed, once any frame queued on the dial was sent to the peer by id (a run check is not). */
  peerId: ServerId | undefined;
  readonly queue: Uint8Array[];
  readonly messages: WireMessage[];
  /** Connection attempts running: two after a restart ({@link PeerLinks.peerBack}) while the first has not ended. */
  running: number;
  /** The dial's queue went out on a link, or was reported lost: later attempts' outcomes are ignored. */
  settled: boolean;
}

/** Frames held on a link until its peer says how large a frame it takes (see {@link PeerLinks.send}). */
interface Held {
  readonly frames: Uint8Array[];
  readonly messages: WireMessage[];
}

/**
 * The largest frame sent on a link before its peer's `limits` message arrived: every peer takes at least this (the
 * handshake's own frames are bounded by it). Larger ones wait for the announcement.
 */
const UNANNOUNCED_MAX_FRAME_BYTES = 4096;

/**
 * The node's links to its peers over any {@link Transport}: dials on demand (queueing frames while the
 * handshake runs), accepts inbound links, encodes and decodes frames, and never lets a bad frame or a failed
 * dial escape as an exception.
 */
export class PeerLinks extends EventEmitter<PeerLinksEvents> {
  readonly #c: PeerLinksConfig;
  readonly #byPeer = new Map<ServerId, Set<PeerLink>>();
  readonly #byId = new Map<string, PeerLink>();
  readonly #dials = new Map<string, Dial>();
  /** A peer with the wrong key redials several times a second: its failed handshakes are logged once per 10 s. */
  readonly #handshakeWarnings = new RepeatThrottle(10_000);
  readonly #incarnations = new PeerIncarnations();
  /** The run each link's peer announced in its first frame (links of peers that announce none are absent). */
  readonly #runs = new WeakMap<PeerLink, Incarnation>();
  /** Links whose peer reads entry runs in sync tokens (it said so in its incarnation frame). */
  readonly #readsRuns = new WeakSet<PeerLink>();
  /** Links whose peer reads entry items in sync tokens. */
  readonly #readsItems = new WeakSet<PeerLink>();
  /**
   * The largest frame each peer takes, as its `limits` message said (a build that sends none: unknown, not checked).
   * Per peer id, not per link: a dial's frames are checked before its link is up. Forgotten with the peer's runs.
   */
  readonly #peerMaxFrame = new Map<ServerId, number>();
  /**
   * Links whose peer's size limit is settled: its `limits` message arrived, or another frame came first (a build that
   * announces none). Until then a frame over {@link UNANNOUNCED_MAX_FRAME_BYTES}, and every frame behind it, waits in
   * `#held`.
   */
  readonly #limitsSettled = new WeakSet<PeerLink>();
  readonly #held = new Map<PeerLink, Held>();
  /** Peers the view holds dead ({@link peerLeft}), until they are back ({@link peerBack}) or forgotten. */
  readonly #heldDead = new Set<ServerId>();
  readonly #checksums = new ChecksumPolicy();
  /** Links closed because they belong to a replaced run. */
  readonly #refused = new WeakSet<PeerLink>();
  /** Per peer, the view epoch whose run was last checked by dialing its address (see {@link send}). */
  readonly #checkedEpochs = new Map<ServerId, number>();
  /** The address each outbound link was dialed at. */
  readonly #dialedAt = new WeakMap<PeerLink, string>();
  /** The dials whose queued frames went out on each link. */
  readonly #carried = new WeakMap<PeerLink, string[]>();
  /**
   * Per peer, an address where a replaced run of it answered — or another server (`answeredAs`) —, and the view
   * epoch the peer had then: not dialed as that peer again until the view shows another address or a larger epoch.
   */
  readonly #replacedAt = new Map<ServerId, { address: string; epoch: number | undefined; answeredAs?: ServerId }>();
  #nextDial = 0;
  #closed = false;
  /** The probe waiting on each link (at most one). */
  readonly #probes = new Map<PeerLink, Probe>();
  #nextProbe = 0;
  readonly #timers: Timers;
  readonly #clock: Clock;

  constructor(config: PeerLinksConfig) {
    super();
    this.#c = config;
    this.#timers = config.timers ?? createSystemTimers();
    this.#clock = config.clock ?? monotonicClock;
    config.transport.on('connectionAccepted', ({ connection }) => void this.#establish(connection, 'inbound'));
  }

  /** Whether a link to `peerId` is open now: a frame sent to it goes out without a dial. */
  linked(peerId: ServerId): boolean {
    return this.#pick(peerId) !== undefined;
  }

  /** The links with `peerId` now: open, dialing, held frames, probes, backoff (for a failed request's error). */
  linkState(peerId: ServerId): PeerLinkState {
    const open = [...(this.#byPeer.get(peerId) ?? [])].filter((l) => !l.connection.isClosed);
    const address = this.#c.addressOf(peerId);
    const dial = address === undefined ? undefined : this.#dials.get(address);
    return {
      open: open.length,
      ...(dial !== undefined ? { dialing: dial.queue.length } : {}),
      held: open.reduce((n, l) => n + (this.#held.get(l)?.frames.length ?? 0), 0),
      probing: open.filter((l) => this.#probes.has(l)).length,
      ...(address !== undefined ? { address } : {}),
      backoffMs: address === undefined ? 0 : Math.ceil(this.#c.authBackoff.remainingMs(address)),
    };
  }

  /** Peers with at least one open link. */
  connectedPeers(): ServerId[] {
    return [...this.#byPeer.keys()];
  }

  /** Peer ids something is kept for (links, runs, checked epochs, replaced addresses): for diagnostics and tests. */
  get trackedPeers(): number {
    return this.#trackedIds().size;
  }

  /**
   * Forgets what is kept per peer id (its runs, the epoch its run was checked at, an address where a replaced run
   * of it answered) for every id with no link open that the view no longer holds (`epochOf` says none): a cluster
   * whose servers come and go under new ids, or a peer linking under ever new ids, would otherwise grow these
   * without bound. The node calls it when its view changes; a last link closing does it for its peer.
   */
  prune(): void {
    for (const id of this.#trackedIds()) this.#forgetIfGone(id);
  }

  #trackedIds(): Set<ServerId> {
    return new Set([...this.#byPeer.keys(), ...this.#checkedEpochs.keys(), ...this.#replacedAt.keys(), ...this.#incarnations.ids(), ...this.#peerMaxFrame.keys(), ...this.#heldDead]);
  }

  #forgetIfGone(id: ServerId): void {
    if (this.#byPeer.has(id) || this.#c.epochOf(id) !== undefined) return;
    this.#incarnations.forget(id);
    this.#checkedEpochs.delete(id);
    this.#replacedAt.delete(id);
    this.#peerMaxFrame.delete(id);
    this.#heldDead.delete(id);
  }

  /**
   * Sends to a peer, dialing it first when needed; returns the id of the link the frame went on, or of the dial
   * it waits for (reported by `linkClosed` or `peerUnreachable` if the frame is lost with it).
   * @throws EparaError `PEER_UNAVAILABLE` when no address is known, or the view's address is where a replaced run
   * of the peer answered (`details.cause: 'REPLACED_RUN'`); `CLOSED` after close.
   */
  send(peerId: ServerId, message: WireMessage): string {
    if (this.#closed) throw new EparaError('CLOSED', 'node is closed');
    const link = this.#pick(peerId);
    if (link) {
      this.#checkRun(link);
      this.#write(link, message);
      return link.linkId;
    }
    const address = this.#c.addressOf(peerId);
    if (address === undefined) throw new EparaError('PEER_UNAVAILABLE', `no address known for ${peerId}`, { peer: peerId });
    if (this.#isReplacedAddress(peerId, address)) {
      const other = this.#replacedAt.get(peerId)?.answeredAs;
      if (other !== undefined) {
        throw new EparaError('PEER_UNAVAILABLE', `${address} answered as ${other}, not ${peerId}; not dialed again until the view shows another address or run`, {
          peer: peerId,
          address,
          answeredAs: other,
          cause: 'ANOTHER_SERVER',
        });
      }
      throw new EparaError('PEER_UNAVAILABLE', `${address} answered as a replaced run of ${peerId}; not dialed again until the view shows its current run`, {
        peer: peerId,
        address,
        cause: 'REPLACED_RUN',
      });
    }
    return this.sendToAddress(address, message, peerId);
  }

  /** Sends on one particular link (replies go back where the request came from). @throws EparaError `PEER_UNAVAILABLE` */
  reply(linkId: string, message: WireMessage): void {
    const link = this.#byId.get(linkId);
    if (!link || link.connection.isClosed) throw new EparaError('PEER_UNAVAILABLE', 'reply link closed', { linkId });
    this.#write(link, message);
  }

  /**
   * Dials an address (joining through a seed), queueing the frame until the link is up; returns the dial's id.
   * `reuse`: a link this node dialed at the address and still open takes the frame instead (its id is returned) —
   * a join token to a seed goes out every sync period while the node is alone, and to each seed no alive entry is
   * at every few periods (at most 32 apart), and a new link each time was never closed. Without it a new link is dialed (a check of
   * which run of a peer listens there now needs one).
   * @throws EparaError `PEER_UNAVAILABLE` while the address is backed off after a failed authentication.
   */
  sendToAddress(address: string, message: WireMessage, peerId?: ServerId, options: { readonly reuse?: boolean } = {}): string {
    if (this.#closed) throw new EparaError('CLOSED', 'node is closed');
    const dialed = options.reuse === true ? this.#dialedLink(address) : undefined;
    if (dialed !== undefined) {
      this.#write(dialed, message);
      return dialed.linkId;
    }
    let dial = this.#dials.get(address);
    if (!dial) {
      const retryInMs = Math.ceil(this.#c.authBackoff.remainingMs(address));
      if (retryInMs > 0) {
        throw new EparaError('PEER_UNAVAILABLE', `${address} failed authentication; not dialed again for ${retryInMs} ms`, { address, peer: peerId, retryInMs, cause: 'UNAUTHENTICATED' });
      }
    }
    // Who answers the dial is not known yet: a token goes in the form every build reads.
    const frame = encodeFrame(withRuns(message, false), this.#c.limits);
    if (peerId !== undefined) this.#checkFits(peerId, frame, message.type);
    // A dial into a peer the view holds dead (a probe of the dead) may go into a cut: redialed when the peer is back.
    if (peerId !== undefined && this.#c.aliveOf?.(peerId) === false) this.peerLeft(peerId);
    if (!dial) {
      dial = { id: `dial-${(this.#nextDial++).toString(36)}`, peerId, queue: [], messages: [], running: 0, settled: false };
      this.#dials.set(address, dial);
      void this.#dial(address, dial);
    }
    if (dial.queue.length >= this.#c.maxQueuedFrames) throw new EparaError('PEER_UNAVAILABLE', `too many frames queued for ${address}`, { address });
    dial.peerId ??= peerId;
    dial.queue.push(frame);
    dial.messages.push(message);
    return dial.id;
  }

  /** An open link this node dialed at `address`, if any. */
  #dialedLink(address: string): PeerLink | undefined {
    for (const link of this.#byId.values()) if (this.#dialedAt.get(link) === address && !link.connection.isClosed) return link;
    return undefined;
  }

  /** Whether `address` is where a replaced run of `peerId` answered while the view still showed this epoch. */
  #isReplacedAddress(peerId: ServerId, address: string): boolean {
    const mark = this.#replacedAt.get(peerId);
    if (mark === undefined) return false;
    const epoch = this.#c.epochOf(peerId);
    if (mark.address === address && (epoch === undefined || mark.epoch === undefined || epoch <= mark.epoch)) return true;
    // The view moved on (another address, or a run announced since): the mark says nothing about it.
    this.#replacedAt.delete(peerId);
    return false;
  }

  /**
   * The view says the peer announced a larger epoch than the run its links belong to: it may have restarted
   * while its old process kept these links open (stopped, half-open), and the new run never linked here. Its
   * address is dialed once per such epoch: a new run's link replaces the old ones (what was sent on them is
   * routed again); the same run's is one more link.
   */
  #checkRun(link: PeerLink): void {
    const epoch = this.#c.epochOf(link.peerId);
    const run = this.#runs.get(link);
    if (run === undefined || epoch === undefined || epoch <= run.epoch) return;
    if ((this.#checkedEpochs.get(link.peerId) ?? -Infinity) >= epoch) return;
    this.#checkedEpochs.set(link.peerId, epoch);
    const address = this.#c.addressOf(link.peerId);
    if (address === undefined || this.#isReplacedAddress(link.peerId, address)) return;
    try {
      // Not dialed as the peer: a failed check is no sign its linked run failed.
      this.sendToAddress(address, { type: 'ping', requestId: 0 });
    } catch (err) {
      this.#c.logger.debug({ peer: link.peerId, err }, 'could not dial a peer to check its run');
    }
  }

  /**
   * Something sent to `peerId` that asked for an answer got none in time (a forwarded request at its deadline plus
   * the grace, a stream's open or frame): checks that the link it went on (`via`: the link's id, or the dial's that
   * carried it; every link to the peer when unknown) carries frames both ways. A `ping` goes out on it, which the
   * peer answers with a `pong`; none within `timeoutMs` closes the link (`linkClosed`: what was in flight on it is
   * routed again, and a last link marks the peer dead). A one-way partition — the peer hears this node but not the
   * other way round, or the reverse — leaves the link open and its keepalive content (pings pass, the peer's entry
   * stays fresh through others' tokens), so requests kept going there and were each lost until their deadline;
   * without a link, a dial's handshake fails both ways, and sends go elsewhere. A timeout that fires late (this
   * process was stopped, the pong may wait unread) waits once more. At most one probe per link at a time.
   */
  probe(peerId: ServerId, via: string | undefined, timeoutMs: number): void {
    if (this.#closed) return;
    const carried = (l: PeerLink): boolean => via === undefined || l.linkId === via || this.#carried.get(l)?.includes(via) === true;
    for (const link of this.#byPeer.get(peerId) ?? []) {
      if (link.connection.isClosed || this.#probes.has(link) || !carried(link)) continue;
      this.#nextProbe = (this.#nextProbe % 0x7fffffff) + 1;
      const probe: Probe = { id: this.#nextProbe, timer: undefined as unknown as TimerHandle, dueAt: 0 };
      const arm = (): void => {
        probe.dueAt = this.#clock.now() + timeoutMs;
        probe.timer = this.#timers.setTimeout(expire, timeoutMs);
      };
      const expire = (): void => {
        if (this.#probes.get(link) !== probe) return;
        // Late by much (a stopped process, a blocked loop): the pong may be waiting unread. One more wait.
        if (this.#clock.now() - probe.dueAt > timeoutMs / 2) return arm();
        this.#probes.delete(link);
        this.#c.logger.warn({ peer: peerId, timeoutMs }, 'a peer link carries no answers (no pong to a probe): closing it');
        link.connection.close('no answer to a probe: the link does not carry frames both ways');
      };
      this.#probes.set(link, probe);
      arm();
      try {
        this.#write(link, { type: 'ping', requestId: probe.id });
      } catch {
        // Closed meanwhile (or shed): its close settles what it carried.
        this.#endProbe(link);
      }
    }
  }

  /** Links with a probe waiting (diagnostics, tests). */
  get probing(): number {
    return this.#probes.size;
  }

  #endProbe(link: PeerLink): void {
    this.#probes.get(link)?.timer.cancel();
    this.#probes.delete(link);
  }

  /** Closes every link; later sends throw `CLOSED`. */
  close(): void {
    this.#closed = true;
    for (const link of [...this.#probes.keys()]) this.#endProbe(link);
    for (const link of this.#byId.values()) link.connection.close('node closing');
  }

  /** The view holds `peerId` dead (it left, or was found dead; a dial to one held dead tells itself): see {@link peerBack}. */
  peerLeft(peerId: ServerId): void {
    if (!this.#closed) this.#heldDead.add(peerId);
  }

  /**
   * The view shows `peerId` alive again after it held it dead ({@link peerLeft}): a partition healed, a stopped
   * process resumed. What this node dialed it with meanwhile went into the cut: a dial whose handshake frames were
   * lost waits for an answer until the handshake's timeout, every frame sent to the peer since queued behind it — a
   * request sent after the heal failed with the dial when no other server could take it — and the handshakes that
   * timed out held the address back as if the peer had failed authentication. So the address's backoff is cleared,
   * and a dial still running starts another attempt on a fresh connection: the first attempt to link carries the
   * queue, and the dial fails only when every attempt has. A peer seen for the first time (a join) is left alone.
   */
  peerBack(peerId: ServerId): void {
    if (this.#closed || !this.#heldDead.delete(peerId)) return;
    const address = this.#c.addressOf(peerId);
    if (address === undefined) return;
    this.#c.authBackoff.succeeded(address);
    const dial = this.#dials.get(address);
    if (dial === undefined) return;
    this.#c.logger.debug({ peer: peerId, address, dialId: dial.id }, 'peer back in the view: its dial starts over on a fresh connection');
    void this.#dial(address, dial);
  }

  async #dial(address: string, dial: Dial): Promise<void> {
    dial.running++;
    let outcome: PeerLink | EparaError | undefined;
    let handshakeFailed = false;
    try {
      const raw = await this.#c.transport.connect(address);
      outcome = await this.#establish(raw, 'outbound', address);
      handshakeFailed = outcome instanceof EparaError;
    } catch (err) {
      outcome = toEparaError(err, 'PEER_UNAVAILABLE');
    }
    dial.running--;
    // Restarted (peerBack): the first attempt to link carries the queue; a failure counts once no attempt is left.
    const linked = outcome !== undefined && !(outcome instanceof EparaError);
    if (dial.settled || (!linked && dial.running > 0)) return;
    dial.settled = true;
    if (this.#dials.get(address) === dial) this.#dials.delete(address);
    // Only a handshake that failed backs the address off, not a transport's own error.
    if (handshakeFailed && (outcome as EparaError).code === 'UNAUTHENTICATED') this.#c.authBackoff.failed(address);
    try {
      this.#deliver(address, dial, outcome);
    } catch (err) {
      const error = toEparaError(err, 'PEER_UNAVAILABLE');
      this.#c.logger.debug({ address, code: error.code, retryInMs: Math.ceil(this.#c.authBackoff.remainingMs(address)) }, 'dial failed');
      const peerLinked = dial.peerId !== undefined && this.#pick(dial.peerId) !== undefined;
      this.emit('peerUnreachable', { peerId: dial.peerId, address, error, dialId: dial.id, peerLinked });
    }
  }

  /** Sends a dial's queue on the link it opened. @throws EparaError why the queue cannot go (the dial failed). */
  #deliver(address: string, dial: Dial, outcome: PeerLink | EparaError | undefined): void {
    if (outcome instanceof EparaError) throw outcome;
    const link = outcome;
    if (!link) throw new EparaError('PEER_UNAVAILABLE', `handshake with ${address} failed`, { address });
    this.#c.authBackoff.succeeded(address);
    // Refused already (its run announced itself in the handshake's last flight, as a replaced one): the queued
    // frames have nowhere to go.
    if (this.#byId.get(link.linkId) !== link) throw new EparaError('PEER_UNAVAILABLE', `${address} answered as a replaced run of ${link.peerId}`, { address, cause: 'REPLACED_RUN' });
    // Another server answers where the view still places the peer dialed (it died and another took its address):
    // what was queued for the peer is not for this one — run there, its answers would come from a server the
    // requests were not sent to and be dropped. Nothing is delivered; the link stays, as the other server's.
    if (dial.peerId !== undefined && link.peerId !== dial.peerId) {
      this.#replacedAt.set(dial.peerId, { address, epoch: this.#c.epochOf(dial.peerId), answeredAs: link.peerId });
      throw new EparaError('PEER_UNAVAILABLE', `${address} answered as ${link.peerId}, not ${dial.peerId}`, { address, peer: dial.peerId, answeredAs: link.peerId, cause: 'ANOTHER_SERVER' });
    }
    this.#carried.set(link, [...(this.#carried.get(link) ?? []), dial.id]);
    dial.queue.forEach((frame, i) => this.#send(link, frame, dial.messages[i]!));
  }

  /** The link, the handshake's error, or `undefined` when the link is not kept (closing, or self). */
  async #establish(raw: Connection, direction: 'inbound' | 'outbound', dialedAt?: string): Promise<PeerLink | EparaError | undefined> {
    let result: Awaited<ReturnType<Handshake>>;
    try {
      result = await this.#c.handshake(raw, direction);
    } catch (err) {
      const error = toEparaError(err);
      const code = error.code;
      const shown = this.#handshakeWarnings.pass(`${direction} ${code} ${hostOf(raw.remoteAddress)}`);
      if (shown) this.#c.logger.warn({ remote: raw.remoteAddress, code, direction, repeatsSinceLastLogged: shown.held }, 'peer handshake failed');
      raw.close('handshake failed');
      return error;
    }
    if (this.#closed || result.peerId === this.#c.selfId) {
      result.connection.close(this.#closed ? 'node closing' : 'connected to self');
      return undefined;
    }
    const { peerId } = result;
    const link: PeerLink = { linkId: result.connection.id, peerId, connection: result.connection };
    if (dialedAt !== undefined) this.#dialedAt.set(link, dialedAt);
    // The peer proved the key (it may have dialed in after fixing it): dial its address freely again.
    const address = this.#c.addressOf(peerId);
    if (address !== undefined) this.#c.authBackoff.succeeded(address);
    this.#byId.set(link.linkId, link);
    const set = this.#byPeer.get(peerId) ?? new Set();
    set.add(link);
    this.#byPeer.set(peerId, set);
    // Before the early frames: the first of them may be a refused run's announcement, which closes the link.
    result.connection.once('closed', () => this.#onClosed(link));
    for (const frame of result.early ?? []) this.#onFrame(link, frame);
    if (this.#byId.get(link.linkId) !== link) return link;
    result.connection.on('frameReceived', ({ frame }) => this.#onFrame(link, frame));
    this.emit('linkOpened', { link });
    return link;
  }

  #onFrame(link: PeerLink, frame: Uint8Array): void {
    // A link closed or retired (its peer's run was replaced) says nothing more: late frames are dropped.
    if (this.#byId.get(link.linkId) !== link) return;
    let message: DecodedMessage;
    try {
      this.#checksums.check(link, frame);
      message = decodeFrame(frame, this.#c.limits);
    } catch (err) {
      this.emit('frameRejected', { peerId: link.peerId, error: toEparaError(err, 'PROTOCOL_ERROR') });
      // A type from a newer build is skipped and the link kept. Any other bad frame was corrupted or cut short on
      // the way (or the peer is broken): what else crossed the link may be too, and the request whose answer was
      // lost here would wait out its deadline — the link closes, and its requests are routed again at once.
      if (!isUnknownTypeError(err)) link.connection.close('malformed frame');
      return;
    }
    if (message.type === 'incarnation') return this.#onIncarnation(link, message);
    if (message.type === 'limits') {
      this.#peerMaxFrame.set(link.peerId, message.maxFrameBytes);
      return this.#settleLimits(link);
    }
    // Anything else before a `limits` message: the peer announces none (an older build), and will not.
    if (!this.#limitsSettled.has(link)) this.#settleLimits(link);
    if (message.type === 'pong' && this.#probes.get(link)?.id === message.requestId) this.#endProbe(link);
    try {
      this.emit('messageReceived', { link, message, bytes: frame.byteLength });
    } catch (err) {
      // A handler bug must not take the link (or the process) down.
      this.#c.logger.error({ err, type: message.type }, 'message handler threw');
    }
  }

  /**
   * The peer's first frame on a link: the run of its process. A newer run than the one linked replaces it; a
   * replaced run (or one older than a linked run) is refused. Later announcements on the link are ignored.
   */
  #onIncarnation(link: PeerLink, run: Incarnation & { readonly flags: number }): void {
    if (this.#runs.has(link)) return;
    if ((run.flags & INCARNATION_FLAG_RUNS) !== 0) this.#readsRuns.add(link);
    if ((run.flags & INCARNATION_FLAG_ITEMS) !== 0) this.#readsItems.add(link);
    // A run the view shows replaced is refused whether or not the new run has a link open here to compare it with.
    if (this.#viewShowsReplaced(link.peerId, run)) return this.#refuse(link, run);
    const others = [...(this.#byPeer.get(link.peerId) ?? [])].some((l) => l !== link && !l.connection.isClosed);
    const verdict = this.#incarnations.admit(link.peerId, { epoch: run.epoch, instance: run.instance }, others);
    if (verdict === 'refused') return this.#refuse(link, run);
    this.#runs.set(link, run);
    if (verdict === 'replaces') this.#retireOldRuns(link.peerId);
  }

  /** A link of a run the peer's newer run replaced, or of a run older than the one linked: closed at once. */
  #refuse(link: PeerLink, run: Incarnation): void {
    // A replaced process that resumed redials every sync period: said once per 10 s.
    const shown = this.#handshakeWarnings.pass(`superseded ${link.peerId}`);
    const incarnation = { epoch: run.epoch, instance: run.instance };
    if (shown) this.#c.logger.warn({ peer: link.peerId, incarnation, remote: link.connection.remoteAddress, repeatsSinceLastLogged: shown.held }, 'link from a replaced run of a peer refused');
    this.#refused.add(link);
    this.#markReplacedAddress(link);
    link.connection.close('a newer run of this server is linked');
  }

  /**
   * A newer run of the peer linked: every link of its older runs closes now (`linkClosed` with `lastLink: false`,
   * so what was in flight on them fails over), rather than when their sockets finally notice — a stopped
   * process's never do.
   */
  #retireOldRuns(peerId: ServerId): void {
    for (const old of [...(this.#byPeer.get(peerId) ?? [])]) {
      const run = this.#runs.get(old);
      if (run === undefined || this.#incarnations.isCurrent(peerId, run)) continue;
      this.#c.logger.warn({ peer: peerId, incarnation: { epoch: run.epoch, instance: run.instance } }, 'a peer restarted under its id: links of its previous run closed');
      old.connection.close('replaced by a newer run of the peer');
    }
  }

  /**
   * A link this node dialed was refused as a replaced run's: that run listens at the address dialed, which the
   * view still shows for the peer (or shows again: a resumed old run can outbid its replacement's entry for a
   * while). Dialing it as the peer would be refused each time, so it is not dialed again until the view moves
   * on. Only a refusal marks an address: the link of a replaced run that merely closed says nothing of who
   * listens there now (a restart on the same port does). Nor does a refusal where the view shows the current run
   * at the same address: both runs listen there.
   */
  #markReplacedAddress(link: PeerLink): void {
    const address = this.#dialedAt.get(link);
    if (address === undefined) return;
    const epoch = this.#c.epochOf(link.peerId);
    // The view shows the current run itself at that address (its entry, its epoch): the two runs share it — a NATS
    // address is the transport's name, which a server restarted under its name keeps — and barring it would bar
    // the current run. The refused link is closed all the same.
    if (epoch !== undefined && epoch === this.#incarnations.currentEpoch(link.peerId) && this.#c.addressOf(link.peerId) === address) return;
    this.#replacedAt.set(link.peerId, { address, epoch });
  }

  #onClosed(link: PeerLink): void {
    this.#endProbe(link);
    // What waited for the peer's limits is lost with the link, as what was sent on it: `linkClosed` reports both.
    this.#held.delete(link);
    if (this.#byId.get(link.linkId) !== link) return;
    this.#byId.delete(link.linkId);
    const set = this.#byPeer.get(link.peerId);
    set?.delete(link);
    const none = !set || set.size === 0;
    if (none) {
      this.#byPeer.delete(link.peerId);
      this.#forgetIfGone(link.peerId);
    }
    this.emit('linkClosed', { link, lastLink: none && !this.#refused.has(link) && !this.#ofReplacedRun(link), dialIds: this.#carried.get(link) ?? [] });
  }

  /**
   * Whether the link belongs to a run of its peer that a newer run replaced: one the links retired, or one the view
   * shows replaced (its entry written by another run with a larger epoch — the new run may not have linked here yet,
   * while requests wait on a dial to it). Its closing says nothing about the peer's current run.
   */
  #ofReplacedRun(link: PeerLink): boolean {
    const run = this.#runs.get(link);
    if (run === undefined) return false;
    return !this.#incarnations.isCurrent(link.peerId, run) || this.#viewShowsReplaced(link.peerId, run);
  }

  /** Whether the view's entry of `peerId` was written by another run with a larger epoch than `run`. */
  #viewShowsReplaced(peerId: ServerId, run: Incarnation): boolean {
    const viewRun = this.#c.runOf?.(peerId);
    return viewRun !== undefined && viewRun.instance !== run.instance && viewRun.epoch > run.epoch;
  }

  #pick(peerId: ServerId): PeerLink | undefined {
    for (const link of this.#byPeer.get(peerId) ?? []) if (!link.connection.isClosed) return link;
    return undefined;
  }

  #write(link: PeerLink, message: WireMessage): void {
    const buffered = link.connection.bufferedBytes;
    if (buffered > this.#c.maxBufferedBytes) this.#shed(link, message, buffered);
    // Written at once, a large tensor leaves as a view of the caller's bytes (a forwarded request's are the frame it
    // arrived in): no copy. A frame held for later is joined into one array first (see #send).
    const frame = encodeFrameParts(withRuns(message, this.#readsRuns.has(link), this.#readsItems.has(link)), this.#c.limits);
    this.#checkFits(link.peerId, frame, message.type);
    this.#send(link, frame, message);
  }

  /**
   * Writes a frame, or holds it while the link's peer has not said how large a frame it takes and the frame is over
   * {@link UNANNOUNCED_MAX_FRAME_BYTES} (or others wait before it: the order on a link is kept). A peer sends its
   * `limits` right after the handshake, but a dial's queued frames — and whatever a node writes on a link the moment
   * it opens — went out before it arrived: one over the peer's limit closed the link on arrival, and whatever it
   * carried, routed again, could close the next. Holding starts with a `ping`: the peer's `pong` comes after its
   * `limits` (it announces before it reads), so a build that announces none releases the frames with it.
   */
  #send(link: PeerLink, frame: Uint8Array | FrameParts, message: WireMessage): void {
    const held = this.#held.get(link);
    if (held === undefined && (this.#limitsSettled.has(link) || frame.byteLength <= UNANNOUNCED_MAX_FRAME_BYTES)) return this.#writeFrame(link, frame, message.type);
    // Held across turns: the caller may reuse its tensors once the call returned, so the frame owns its bytes.
    const whole = frame instanceof Uint8Array ? frame : joinFrameParts(frame);
    if (held !== undefined) return void (held.frames.push(whole), held.messages.push(message));
    this.#held.set(link, { frames: [whole], messages: [message] });
    try {
      this.#writeFrame(link, encodeFrame({ type: 'ping', requestId: 0 }, this.#c.limits), 'ping');
    } catch {
      // Closing: its close reports what it carried.
    }
  }

  /** The peer's limit is known (or it announces none): what was held goes out in order, what is over it is refused. */
  #settleLimits(link: PeerLink): void {
    this.#limitsSettled.add(link);
    const held = this.#held.get(link);
    if (held === undefined) return;
    this.#held.delete(link);
    const max = this.#peerMaxFrame.get(link.peerId);
    held.frames.forEach((frame, i) => {
      const message = held.messages[i]!;
      if (link.connection.isClosed) return;
      if (max !== undefined && frame.byteLength > max) return this.#refuseHeld(link, message, frame.byteLength, max);
      try {
        this.#writeFrame(link, frame, message.type);
      } catch {
        // Closing: its close reports what it carried.
      }
    });
  }

  /**
   * A held frame turned out larger than the peer takes: refused as a send would have been, but after the call
   * returned. A request of this node's own (`submit`, `stream-open`) is answered here, as if the peer had refused it
   * (`messageReceived` with an `error` under its id: `PROTOCOL_ERROR` naming the sizes); an answer to the peer goes to
   * it as that error under the peer's own id; anything else is dropped (logged), as a frame lost with a link is.
   */
  #refuseHeld(link: PeerLink, message: WireMessage, frameBytes: number, max: number): void {
    const error = new EparaError('PROTOCOL_ERROR', `a ${message.type} frame of ${frameBytes} bytes exceeds peer ${link.peerId}'s maxFrameBytes ${max}`, {
      frameBytes,
      peerMaxFrameBytes: max,
      peer: link.peerId,
    });
    const shown = this.#handshakeWarnings.pass(`frame over ${link.peerId}`);
    if (shown) this.#c.logger.warn({ peer: link.peerId, type: message.type, frameBytes, peerMaxFrameBytes: max, repeatsSinceLastLogged: shown.held }, "frame larger than the peer's maxFrameBytes refused");
    const requestId = (message as { requestId?: number }).requestId;
    if (requestId === undefined) return;
    if (ANSWERS.has(message.type)) {
      try {
        this.#writeFrame(link, encodeFrame({ type: 'error', requestId, error }, this.#c.limits), 'error');
      } catch {
        // Closing: the peer sees the link go instead.
      }
      return;
    }
    if (!OWN_REQUESTS.has(message.type)) return;
    try {
      this.emit('messageReceived', { link, message: { type: 'error', requestId, flags: 0, error }, bytes: 0 });
    } catch (err) {
      this.#c.logger.error({ err, type: 'error' }, 'message handler threw');
    }
  }

  /**
   * Refuses a frame larger than the peer said it takes (its `limits` message), typed, before it is sent: the peer
   * would close the link on it, and whatever the frame carried — routed again to the same peer — would close the
   * next one, link after link. `PROTOCOL_ERROR` with `frameBytes` (so the request is not retried elsewhere as if
   * the peer failed), `peerMaxFrameBytes` and `peer`; logged at most once per 10 s per peer.
   */
  #checkFits(peerId: ServerId, frame: { readonly byteLength: number }, type: WireMessage['type']): void {
    const max = this.#peerMaxFrame.get(peerId);
    if (max === undefined || frame.byteLength <= max) return;
    const shown = this.#handshakeWarnings.pass(`frame over ${peerId}`);
    if (shown) this.#c.logger.warn({ peer: peerId, type, frameBytes: frame.byteLength, peerMaxFrameBytes: max, repeatsSinceLastLogged: shown.held }, "frame larger than the peer's maxFrameBytes refused");
    throw new EparaError('PROTOCOL_ERROR', `a ${type} frame of ${frame.byteLength} bytes exceeds peer ${peerId}'s maxFrameBytes ${max}`, { frameBytes: frame.byteLength, peerMaxFrameBytes: max, peer: peerId });
  }

  #shed(link: PeerLink, message: WireMessage, buffered: number): never {
    const error = new EparaError('OVERLOADED', `peer ${link.peerId} is not reading its link: ${buffered} bytes wait unsent (limit ${this.#c.maxBufferedBytes})`, {
      peer: link.peerId,
      bufferedBytes: buffered,
    });
    this.#c.logger.warn({ peer: link.peerId, bufferedBytes: buffered }, 'peer is not reading its link; cutting it');
    // Only an answer carries an id of the peer's own (its request, its stream): told to that, the peer settles
    // it. Any other message carries this node's id, which the peer would take for one of its own — an error
    // sent under it failed whichever request or stream of the peer happened to have that number.
    const requestId = ANSWERS.has(message.type) ? (message as { requestId?: number }).requestId : undefined;
    if (requestId !== undefined) {
      try {
        link.connection.send(encodeFrame({ type: 'error', requestId, error }, this.#c.limits));
      } catch {
        // Closing already: the peer sees the link go instead.
      }
    }
    this.emit('linkShed', { link, bufferedBytes: buffered });
    link.connection.close('peer is not reading its link');
    throw error;
  }

  #writeFrame(link: PeerLink, frame: Uint8Array | FrameParts, type: WireMessage['type']): void {
    if (frame instanceof Uint8Array) link.connection.send(frame);
    else sendFrameParts(link.connection, frame);
    this.emit('frameSent', { type, bytes: frame.byteLength });
  }
}

/** Messages that answer a request or stream the peer numbered: their `requestId` is in the peer's id space. */
const ANSWERS: ReadonlySet<WireMessage['type']> = new Set(['result', 'stream-accepted', 'stream-result']);

/** Requests of this node's own that the peer answers with an `error` under their id when it refuses them. */
const OWN_REQUESTS: ReadonlySet<WireMessage['type']> = new Set(['submit', 'stream-open']);

/** A sync token with its entries' runs and items for a peer that reads them, without for one that does not (an older build). */
function withRuns(message: WireMessage, peerReadsRuns: boolean, peerReadsItems = false): WireMessage {
  if (message.type !== 'sync-token') return message;
  const runs = peerReadsRuns ? (message.flags ?? 0) | SYNC_FLAG_RUNS : (message.flags ?? 0) & ~SYNC_FLAG_RUNS;
  const flags = peerReadsItems ? runs | SYNC_FLAG_ITEMS : runs & ~SYNC_FLAG_ITEMS;
  return flags === (message.flags ?? 0) ? message : { ...message, flags };
}

/** The host part of `host:port` (or of `[v6]:port`): inbound links from one peer come from a new port each time. */
function hostOf(address: string): string {
  const colon = address.lastIndexOf(':');
  return colon > 0 && !address.endsWith(']') ? address.slice(0, colon) : address;
}
