import { EparaError, admitStream } from '@epara/core';
import type { Clock, InstanceInfo, LocalStream, ServerId } from '@epara/core';
import type { OffloadMessage } from '../offload/offload-messages.js';
import type { OffloadPathPorts } from '../offload/offload-path-ports.js';
import { RemoteStream } from '../offload/remote-stream.js';
import type { MeshStream, RemoteStreamBounds } from '../offload/remote-stream.js';
import type { StreamRoute } from '../offload/stream-host.js';

/** Ports of a {@link StreamOpener}: the ports it shares with the request path, and its open timeout. */
export interface StreamOpenerConfig extends OffloadPathPorts {
  /** How long a peer may take to accept a stream, ms. */
  readonly openTimeoutMs: number;
  /**
   * What the local instances' rate capacity is divided by at admission (the node's `streamCapacity: 'host-ratio'`:
   * `LocalLateness.hostRatio`, how much longer than estimated this server's requests waited). @default none (the
   * capacity the executor announces)
   */
  readonly capacityScale?: () => number;
  /**
   * Bounds a remote stream's waits: a frame unanswered its staleness limit (the stream's, else
   * `defaultStalenessMs` of its service) plus `graceMs` after its push settles `DEADLINE_EXCEEDED`, and `close()`
   * waits at most `graceMs` for the summary once every frame settled, measured on `clock` (the node's monotonic
   * clock: on the wall clock, a step forward failed frames that still had time, and a step back held them for as
   * long as the step; default `clock` of the ports). @default no bounds
   */
  readonly frameBounds?: { readonly graceMs: number; readonly defaultStalenessMs: (serviceId: string) => number; readonly clock?: Clock };
  /**
   * Pin a stream where its frames wait least behind the other services' work, a peer's round trip counted (core's
   * `admitStream` with `priceWaitBehind`); when every peer so chosen refuses, a local instance with room takes it.
   * @default false (a local instance with room first)
   */
  readonly priceWaitBehind?: boolean;
}

interface PendingOpen {
  readonly stream: RemoteStream;
  readonly resolve: (s: MeshStream) => void;
  readonly reject: (e: EparaError) => void;
}

/**
 * The local instances with their rate capacity divided by `scale` (≥ 1): what the host really carries when its
 * work takes `scale` times longer than the profiles say. Unchanged at 1.
 */
export function measuredCapacity(instances: readonly InstanceInfo[], scale: number): readonly InstanceInfo[] {
  if (!(scale > 1)) return instances;
  return instances.map((i) => ({ ...i, capacityPerSec: i.capacityPerSec / scale }));
}

/**
 * Opens streams: admitted once with core's `admitStream` against spare rate, pinned to a local instance when
 * one has room, else to a peer's instance (frames then travel over the transport in order). A local instance's
 * spare rate is read from the capacity the executor announces (divided by {@link StreamOpenerConfig.capacityScale}
 * when given: {@link measuredCapacity}); a peer that accepts a stream decides again on its own figure.
 */
export class StreamOpener {
  readonly #c: StreamOpenerConfig;
  readonly #opening = new Map<number, PendingOpen>();
  readonly #remote = new Map<number, RemoteStream>();
  /** The link each stream was opened on, when one was up: the peer drops the stream if that link closes. */
  readonly #linkOf = new Map<number, string>();
  /**
   * Per peer found dead while its link may have stayed open, the streams it may still host: told to close them
   * when it is seen alive again (at most {@link CLOSES_KEPT_PER_PEER} each, for {@link CLOSES_KEPT_PEERS} peers).
   */
  readonly #closeOnReturn = new Map<ServerId, number[]>();

  constructor(config: StreamOpenerConfig) {
    this.#c = config;
  }

  async open(route: StreamRoute): Promise<MeshStream> {
    const c = this.#c;
    const decision = admitStream({
      stream: { serviceId: route.serviceId, rateHz: route.rateHz, stalenessMs: route.stalenessMs, hops: route.hops, visited: route.visited },
      localInstances: measuredCapacity(c.executor.instances(), c.capacityScale?.() ?? 1),
      view: c.view(),
      self: c.selfId,
      now: c.clock.now(),
      network: c.network?.(),
      ...(c.priceWaitBehind === true ? { priceWaitBehind: true } : {}),
      options: { hopLimit: c.hopLimit, defaultDelayMs: c.hopDelayMs },
    });
    if (decision.action === 'local') {
      return pinned(c.executor.openStream(route.serviceId, { rateHz: route.rateHz, stalenessMs: route.stalenessMs }), c.selfId);
    }
    if (decision.action === 'reject') throw new EparaError(decision.code, decision.reason, { serviceId: route.serviceId });
    let last: EparaError | undefined;
    const b = c.frameBounds;
    const bounds = b && { clock: b.clock ?? c.clock, timers: c.timers, graceMs: b.graceMs, frameTimeoutMs: (route.stalenessMs ?? b.defaultStalenessMs(route.serviceId)) + b.graceMs };
    const peers = [decision.serverId, ...decision.candidates.map((x) => x.serverId).filter((p) => p !== decision.serverId)];
    for (const peer of peers) {
      // The peer sees each frame a one-way delay after it was pushed here, and its result needs another to come
      // back: it gets the staleness budget less that round trip (as a forwarded request gets what is left of its
      // deadline), so it drops a frame that cannot come back fresh instead of spending its device on it.
      const roundTripMs = decision.candidates.find((x) => x.serverId === peer)?.roundTripMs ?? 0;
      const stalenessMs = route.stalenessMs === undefined ? undefined : Math.max(1, route.stalenessMs - roundTripMs);
      try {
        return await this.#openAt(peer, { ...route, stalenessMs }, decision.next, bounds);
      } catch (err) {
        last = err instanceof EparaError ? err : new EparaError('PEER_UNAVAILABLE', String(err));
        if (last.code !== 'PEER_UNAVAILABLE' && last.code !== 'OVERLOADED') throw last;
      }
    }
    // Sent away for a shorter wait while an instance here had room: here it is served after all.
    if (c.priceWaitBehind === true && route.hops === 0) {
      try {
        return pinned(c.executor.openStream(route.serviceId, { rateHz: route.rateHz, stalenessMs: route.stalenessMs }), c.selfId);
      } catch {
        // No room here either: the peers' refusal stands.
      }
    }
    throw last ?? new EparaError('PEER_UNAVAILABLE', 'no peer accepted the stream');
  }

  /** A stream response from a peer; returns false when it is not about a stream this node opened. */
  onResponse(peer: ServerId, m: Extract<OffloadMessage, { type: 'stream-accepted' | 'stream-result' | 'stream-close' | 'error' }>): boolean {
    const id = m.requestId ?? 0;
    const pending = this.#opening.get(id);
    if (pending && pending.stream.pinnedTo === peer) {
      this.#opening.delete(id);
      if (m.type === 'stream-accepted') {
        this.#remote.set(id, pending.stream);
        pending.resolve(pending.stream);
        return true;
      }
      this.#linkOf.delete(id);
      pending.reject(m.type === 'error' ? m.error : new EparaError('PEER_UNAVAILABLE', 'stream refused'));
      return true;
    }
    const stream = this.#remote.get(id);
    if (!stream || stream.pinnedTo !== peer || m.type === 'stream-accepted') return false;
    stream.onMessage(m);
    if (stream.settled) (this.#remote.delete(id), this.#linkOf.delete(id));
    return true;
  }

  onPeerDown(peer: ServerId): void {
    this.#fail((_id, s) => s.pinnedTo === peer, peer);
  }

  /**
   * The view found `peer` dead without its link closing (the ring's missed acks: a partition that drops frames,
   * a paused process, heavy loss): its streams end here as for {@link onPeerDown}, but the peer never learned and
   * would go on hosting them, holding their rate on its instance for as long as the link lasted — after a cut that
   * healed, or a false death. It is told to close each now (a false death still has the link), and again when it
   * is seen alive ({@link onPeerJoined}). After a closed link, {@link onPeerDown} came first: nothing is left.
   */
  onPeerLeft(peer: ServerId): void {
    const ids = [...this.#opening].filter(([, p]) => p.stream.pinnedTo === peer).map(([id]) => id);
    for (const [id, s] of this.#remote) if (s.pinnedTo === peer) ids.push(id);
    this.onPeerDown(peer);
    if (ids.length === 0) return;
    ids.forEach((id) => this.#tellClosed(peer, id));
    const kept = [...(this.#closeOnReturn.get(peer) ?? []), ...ids].slice(-CLOSES_KEPT_PER_PEER);
    this.#closeOnReturn.delete(peer);
    this.#closeOnReturn.set(peer, kept);
    if (this.#closeOnReturn.size > CLOSES_KEPT_PEERS) this.#closeOnReturn.delete(this.#closeOnReturn.keys().next().value!);
  }

  /** `peer` is alive again in the view: the streams that ended here when it was found dead are closed there too. */
  onPeerJoined(peer: ServerId): void {
    const ids = this.#closeOnReturn.get(peer);
    if (ids === undefined) return;
    this.#closeOnReturn.delete(peer);
    ids.forEach((id) => this.#tellClosed(peer, id));
  }

  /** Peers whose ended streams wait to be closed there (diagnostics, tests). */
  get closesPending(): number {
    return this.#closeOnReturn.size;
  }

  #tellClosed(peer: ServerId, id: number): void {
    try {
      this.#c.send(peer, { type: 'stream-close', requestId: id, reason: 'the peer was found dead: the stream ended here' });
    } catch {
      // No way to it now: it is told when it is back (or its link closes, which closes the stream).
    }
  }

  /**
   * One link closed while the peer keeps another (a newer run of it replaced the old one's links): the peer
   * side of every stream opened on that link is gone with it, so those streams end as if the peer had failed.
   */
  onLinkDown(linkId: string): void {
    this.#fail((id) => this.#linkOf.get(id) === linkId);
  }

  #fail(match: (id: number, stream: RemoteStream) => boolean, failed?: ServerId): void {
    for (const [id, p] of [...this.#opening]) {
      if (!match(id, p.stream)) continue;
      const peer = failed ?? p.stream.pinnedTo;
      this.#opening.delete(id);
      this.#linkOf.delete(id);
      p.reject(new EparaError('PEER_UNAVAILABLE', `peer ${peer} failed while opening the stream`, { peer }));
    }
    for (const [id, s] of [...this.#remote]) {
      if (!match(id, s)) continue;
      this.#remote.delete(id);
      this.#linkOf.delete(id);
      s.onPeerDown();
    }
  }

  close(): void {
    this.#closeOnReturn.clear();
    for (const p of this.#opening.values()) p.reject(new EparaError('CLOSED', 'node closed'));
    this.#opening.clear();
    for (const s of this.#remote.values()) s.onMessage({ type: 'error', error: new EparaError('CLOSED', 'node closed') });
    this.#remote.clear();
    this.#linkOf.clear();
  }

  #openAt(peer: ServerId, route: StreamRoute, next: { hops: number; visited: readonly ServerId[] }, bounds: RemoteStreamBounds | undefined): Promise<MeshStream> {
    const c = this.#c;
    const id = c.nextId();
    const unanswered = (): void => c.unanswered?.(peer, this.#linkOf.get(id));
    const stream = new RemoteStream({ streamId: id, peer, send: (m) => c.send(peer, m), unanswered, ...(bounds ? { bounds } : {}) });
    return new Promise<MeshStream>((resolve, reject) => {
      const timer = c.timers.setTimeout(() => {
        this.#linkOf.delete(id);
        if (!this.#opening.delete(id)) return;
        // The peer may have opened it all the same (its acceptance lost or late): without a close it would hold
        // the stream's rate on its instance for as long as the link lasts. Best effort: the link may be gone.
        try {
          c.send(peer, { type: 'stream-close', requestId: id, reason: 'open timed out' });
        } catch {
          // No link: the peer closes what the link carried when it closes.
        }
        reject(new EparaError('PEER_UNAVAILABLE', `peer ${peer} did not accept the stream in time`, { peer }));
        c.unanswered?.(peer, via);
      }, c.openTimeoutMs);
      let via: string | undefined;
      const settle = <T>(f: (v: T) => void) => (v: T): void => {
        timer.cancel();
        f(v);
      };
      this.#opening.set(id, { stream, resolve: settle(resolve), reject: settle(reject) });
      try {
        const linkId = c.send(peer, { type: 'stream-open', requestId: id, serviceId: route.serviceId, rateHz: route.rateHz, stalenessMs: route.stalenessMs, hops: next.hops, visited: next.visited });
        if (typeof linkId === 'string') this.#linkOf.set(id, (via = linkId));
      } catch (err) {
        this.#opening.delete(id);
        settle(reject)(err instanceof EparaError ? err : new EparaError('PEER_UNAVAILABLE', String(err)));
      }
    });
  }
}

/** Ended streams remembered per peer found dead, to close there when it is back: the most recent this many. */
const CLOSES_KEPT_PER_PEER = 1024;
/** Peers found dead for which ended streams are remembered: the most recently found this many. */
const CLOSES_KEPT_PEERS = 64;

/** A local stream as a {@link MeshStream}. */
export function pinned(stream: LocalStream, serverId: ServerId): MeshStream {
  return {
    id: stream.id,
    pinnedTo: serverId,
    push: (frame) => stream.push(frame),
    close: () => stream.close(),
    [Symbol.asyncIterator]: () => stream[Symbol.asyncIterator](),
  };
}
