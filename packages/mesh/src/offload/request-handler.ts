import { EparaError, resolveRouteOptions, routeRequest, toEparaError } from '@epara/core';
import { tensorsByteLength } from '@epara/core/internal';
import type { LocalEstimate, NextHop, RouteDecision, RouteOptions, RouteRequestInput } from '@epara/core';
import type { AbortSignalLike, Clock, ClusterView, NamedTensors, ServerEntry, ServerId, ServiceId, TraceContext } from '@epara/core';
import type { ActiveSpan } from '@epara/core/internal';
import type { Logger } from '@epara/core';
import type { TimerHandle } from '@epara/core';
import { isFrameTooLarge } from '../protocol/frame-codec.js';
import { meshTracing } from './mesh-tracing.js';
import type { OffloadMessage } from './offload-messages.js';
import type { Offloader } from './offloader.js';
import type { OffloadPathPorts } from './offload-path-ports.js';
import type { LocalLateness } from './local-lateness.js';

/** A request as it travels: where it has been and how many forwards it took. */
export interface HandledRequest {
  readonly serviceId: ServiceId;
  readonly inputs: NamedTensors;
  /** Absolute deadline, local clock. */
  readonly deadline: number;
  readonly hops: number;
  readonly visited: readonly ServerId[];
  readonly signal?: AbortSignalLike;
  /** Higher runs first among equal deadlines; carried when forwarded. @default 0 */
  readonly priority?: number;
  /** Trace context (W3C `traceparent`, request id); carried when forwarded, passed to the executor. */
  readonly trace?: TraceContext | undefined;
  /** Peers that refused this request `OVERLOADED` so far, in order (see {@link RequestHandler.onResponse}). */
  readonly refusals?: readonly Refusal[];
}

/** A peer's refusal of a forwarded request, as named in the error when no peer is left to ask. */
export interface Refusal {
  readonly peer: ServerId;
  readonly code: string;
  readonly reason: string;
}

/** Events the handler reports to the node. */
export interface RequestHandlerHooks {
  offloaded(e: { serviceId: ServiceId; to: ServerId; hops: number; retry: boolean }): void;
  rejected(e: { serviceId: ServiceId; code: string; reason: string }): void;
  ranLocally(serviceId: ServiceId): void;
  /**
   * A request went out again (to a peer, or run here) after a forward of it that reached a link and was never
   * answered — the link closed, or the peer was found dead. The first attempt may have run too: a request runs
   * more than once at most this many times in all.
   */
  resentUnanswered(serviceId: ServiceId): void;
}

/** Ports and settings of a {@link RequestHandler}: the ports it shares with the stream path, and its own. */
export interface RequestHandlerConfig extends OffloadPathPorts {
  readonly guardMs: number;
  /** Extra time after the deadline before a silent peer's request is given up, ms. */
  readonly responseGraceMs: number;
  readonly hooks: RequestHandlerHooks;
  readonly logger: Logger;
  /**
   * Offloads through this instead of transport links (e.g. NATS queue groups): used when routing says
   * forward, or finds no instance in the view. It retries and rejects by itself. @default links
   */
  readonly offloader?: Offloader | undefined;
  /**
   * Corrects the local estimate routing reads by how late local requests have been against theirs, and learns
   * from every local request. @default no correction
   */
  readonly lateness?: LocalLateness | undefined;
  /**
   * The clock the measured waits and their ages are read on (the node's `monotonicClock`): a wall clock stepped
   * back kept an hour's old correction fresh, and one stepped forward while requests ran taught them waits they
   * never had. @default `clock`
   */
  readonly monotonicClock?: Clock | undefined;
  /**
   * Whether routing reads a peer that refused a request `OVERLOADED` at its refusal until the peer writes a newer
   * entry ({@link RequestHandler}'s `#refusalView`); `false` reads every peer at its view entry only (the rule
   * before, kept for comparisons: `request-handler-burst-model.test.ts`). @default true
   */
  readonly refusalView?: boolean | undefined;
}

interface Outstanding {
  readonly request: HandledRequest;
  readonly peer: ServerId;
  /** When it was sent, clock ms: a peer's entry written before then cannot show it. */
  readonly sentAt: number;
  /** The link the request went on, or the dial it waits for: the peer drops the request if that link closes. */
  readonly linkId: string | undefined;
  readonly resolve: (out: NamedTensors) => void;
  readonly reject: (err: EparaError) => void;
  readonly timer: TimerHandle;
  readonly cleanup: () => void;
}

/** The `epara.offload` span of one forward, child of the request's context, when a tracer records it. */
function startHopSpan(request: HandledRequest, peer: ServerId, hops: number): ActiveSpan | undefined {
  const tracing = meshTracing();
  if (!tracing.enabled) return undefined;
  return tracing.start('epara.offload', { parent: request.trace, kind: 'client', attributes: { 'epara.service': request.serviceId, 'epara.peer': peer, 'epara.hops': hops } });
}

/** Wraps a forward's settle callbacks so they end its span (with the error code on failure). */
function endingSpan(span: ActiveSpan, resolve: (o: NamedTensors) => void, reject: (e: EparaError) => void): [(o: NamedTensors) => void, (e: EparaError) => void] {
  return [
    (o) => {
      span.end();
      resolve(o);
    },
    (e) => {
      span.end({ error: e.code });
      reject(e);
    },
  ];
}

/**
 * How a forwarded request's peer failed, for {@link RequestHandler}'s retry: `failure` says what happened (`peer-down`:
 * the peer's last link closed or the ring found it dead; `link-closed`: one of its links; `dial-failed`: the dial the
 * request waited on; `answered <code>`: a retryable error from the peer).
 */
interface RetryCause {
  readonly failure: string;
  /** @default true */
  readonly peerFailed?: boolean;
  /** @default false */
  readonly unanswered?: boolean;
}

/** Most cancels owed to peers taken for dead that a handler keeps ({@link RequestHandler.onPeerBack}). */
export const MAX_OWED_CANCELS = 4096;

/** Peer failures that make a forwarded request worth retrying elsewhere. */
const RETRYABLE = new Set(['PEER_UNAVAILABLE', 'CLOSED', 'UNAUTHENTICATED', 'RATE_LIMITED', 'PROTOCOL_ERROR']);

/**
 * The distributed request handler (docs/mesh.md) on one node: decides with `routeRequest`, runs locally
 * through the executor or forwards to a peer, and tracks forwarded requests until each settles: a result, a
 * typed error, a retry elsewhere when the peer fails, or a rejection at deadline + grace. Nothing hangs.
 */
export class RequestHandler {
  readonly #c: RequestHandlerConfig;
  /** Resolved once: routing runs on every request. */
  readonly #routeOptions: RouteOptions;
  readonly #outstanding = new Map<number, Outstanding>();
  /**
   * Cancels owed to peers that were found dead holding requests of this node, which went elsewhere (by `peer#id`,
   * oldest first, with the request's deadline): sent again when the peer is back ({@link onPeerBack}), until the
   * deadline — past it the peer drops the request unrun anyway. At most {@link MAX_OWED_CANCELS}.
   */
  readonly #owedCancels = new Map<string, { readonly peer: ServerId; readonly requestId: number; readonly deadline: number }>();
  /**
   * Per `peer` and service, the peer's last `OVERLOADED` refusal as a reading of its queue: when it came (this
   * node's clock) and the time the peer said it needed to complete a request then, ms ({@link #refusalView}).
   * Dropped once the peer's view entry is newer. At most one per peer and service.
   */
  readonly #refusedBy = new Map<string, { readonly peer: ServerId; readonly serviceId: ServiceId; readonly at: number; readonly completionMs: number }>();
  #closed = false;

  constructor(config: RequestHandlerConfig) {
    this.#c = config;
    this.#routeOptions = resolveRouteOptions({ hopLimit: config.hopLimit, guardMs: config.guardMs, defaultDelayMs: config.hopDelayMs });
  }

  get outstanding(): number {
    return this.#outstanding.size;
  }

  /** Decides and executes; the promise settles with outputs or an `EparaError`. */
  handle(request: HandledRequest): Promise<NamedTensors> {
    if (this.#closed) return Promise.reject(new EparaError('CLOSED', 'node is closed'));
    if (request.signal?.aborted) return Promise.reject(new EparaError('ABORTED', 'aborted before routing'));
    return this.#safeRoute(request, false);
  }

  /**
   * A response from `peer` to a request this node forwarded. A peer failure is retried elsewhere (`RETRYABLE`); so
   * is an `OVERLOADED` answer — the peer's exact queue had no room, whatever the view said — on another peer that can
   * meet the deadline ({@link #retryRefused}).
   */
  onResponse(peer: ServerId, message: Extract<OffloadMessage, { type: 'result' | 'error' }>): void {
    const o = this.#outstanding.get(message.requestId ?? 0);
    if (!o || o.peer !== peer) return;
    this.#settle(message.requestId ?? 0, o);
    if (message.type === 'result') return o.resolve(message.outputs);
    const code = message.error.code;
    if (code === 'OVERLOADED') {
      this.#noteRefusal(peer, o, message.error);
      return this.#retryRefused(o, message.error);
    }
    if (RETRYABLE.has(code) && !isFrameTooLarge(message.error)) return this.#retry(o, { failure: `answered ${code}` });
    o.reject(message.error);
  }

  /**
   * `peer` failed or its link closed: retry each of its requests elsewhere, or reject it. The peer may only have
   * been taken for dead (stopped, cut off one way, its acks lost) and still hold them: each gets a `cancel` — now
   * over a link still open, and again when the peer is back ({@link onPeerBack}) — so a request it has not run yet
   * is dropped there instead of run twice. The caller gets one answer whatever happens: the retry's (the first
   * peer's late answer is ignored); only a request the peer started before the cancel came runs on both.
   */
  onPeerDown(peer: ServerId): void {
    const linked = this.#c.linked?.(peer) === true;
    for (const [id, o] of [...this.#outstanding]) {
      if (o.peer !== peer) continue;
      this.#settle(id, o);
      this.#oweCancel(peer, id, o.request.deadline);
      if (linked) this.#trySend(peer, { type: 'cancel', requestId: id, reason: 'retried elsewhere: this server was taken for dead' });
      this.#retry(o, { failure: 'peer-down', unanswered: true });
    }
  }

  /**
   * `peer` is alive again in the view: the cancels owed to it (requests it was taken for dead with, retried
   * elsewhere) go out now. Each is kept until its request's deadline (past it the peer drops the request unrun) and
   * goes again on every return: a peer whose view entry comes back while it is still cut off (its entry outbid a
   * dead mark through another server) loses this copy too. A new run of the peer never had the requests: it keeps
   * each cancel for a while, as one that overtook its request, and nothing else.
   */
  onPeerBack(peer: ServerId): void {
    if (this.#owedCancels.size === 0) return;
    const now = this.#c.clock.now();
    for (const [key, owed] of [...this.#owedCancels]) {
      if (owed.deadline <= now) this.#owedCancels.delete(key);
      else if (owed.peer === peer) this.#trySend(peer, { type: 'cancel', requestId: owed.requestId, reason: 'retried elsewhere: this server was taken for dead' });
    }
  }

  /** Cancels owed and not sent yet (diagnostics, tests). */
  get owedCancels(): number {
    return this.#owedCancels.size;
  }

  #oweCancel(peer: ServerId, requestId: number, deadline: number): void {
    this.#owedCancels.set(`${peer}#${requestId}`, { peer, requestId, deadline });
    if (this.#owedCancels.size <= MAX_OWED_CANCELS) return;
    const now = this.#c.clock.now();
    for (const [key, owed] of this.#owedCancels) if (owed.deadline <= now) this.#owedCancels.delete(key);
    // Still full of live ones (a flood of retries): the oldest go first — at worst such a request runs twice.
    for (const key of this.#owedCancels.keys()) {
      if (this.#owedCancels.size <= MAX_OWED_CANCELS) break;
      this.#owedCancels.delete(key);
    }
  }

  /**
   * One link closed while the peer has another (two links to one peer: both dialed at once, or the peer came
   * back under the same id and its new run's link replaced the old run's), or a dial's frames were lost (the
   * dial failed, or the address answered as a replaced run of the peer). The peer drops what came over the
   * closed link, so its requests are routed again instead of waiting out their deadlines. `peerFailed: false`
   * keeps the peer a candidate: the server on its other link never saw them (a new run) or dropped them.
   * `delivered: false` says the frames never left this node (a dial that failed): the retry runs nothing twice.
   */
  onLinkDown(linkId: string, peerFailed = false, delivered = true): void {
    for (const [id, o] of [...this.#outstanding]) {
      if (o.linkId !== linkId) continue;
      this.#settle(id, o);
      this.#retry(o, { failure: delivered ? 'link-closed' : 'dial-failed', peerFailed, unanswered: delivered });
    }
  }

  /** Rejects everything outstanding with `CLOSED` and refuses new work. */
  close(): void {
    this.#closed = true;
    this.#owedCancels.clear();
    for (const [id, o] of [...this.#outstanding]) {
      this.#settle(id, o);
      this.#trySend(o.peer, { type: 'cancel', requestId: id, reason: 'node closed' });
      o.reject(new EparaError('CLOSED', 'node closed with the request in flight', { peer: o.peer }));
    }
  }

  /** `unanswered`: a retry of a forward that reached a link and got no answer (reported once it goes out again). */
  #safeRoute(request: HandledRequest, retry: boolean, unanswered = false): Promise<NamedTensors> {
    try {
      return this.#route(request, retry, unanswered);
    } catch (err) {
      // Malformed input (tensors, deadline) is a rejection of this call, never a throw.
      return Promise.reject(toEparaError(err, 'INVALID_INPUT'));
    }
  }

  #route(request: HandledRequest, retry: boolean, unanswered: boolean): Promise<NamedTensors> {
    const c = this.#c;
    const now = c.clock.now();
    const estimate = c.executor.estimate(request.serviceId);
    // The routing instant on the monotonic clock, read once: the correction's ages and what #learn records.
    const decidedAt = c.lateness ? this.#monotonic.now() : 0;
    const corrected = c.lateness ? c.lateness.correct(request.serviceId, estimate, now, decidedAt) : estimate;
    const view = this.#refusalView(request.serviceId, c.view(), now);
    const sentSinceReport = this.#sentSinceReport(request.serviceId, view);
    const input: RouteRequestInput = {
      request: { serviceId: request.serviceId, deadline: request.deadline, hops: request.hops, visited: request.visited, payloadBytes: tensorsByteLength(request.inputs) },
      local: corrected,
      view,
      self: c.selfId,
      now,
      network: c.network?.(),
      ...(sentSinceReport ? { sentSinceReport } : {}),
      options: this.#routeOptions,
    };
    const decision = routeRequest(input);
    if (decision.action === 'local' || (corrected !== estimate && this.#lastResort(decision, estimate, request.deadline))) {
      c.hooks.ranLocally(request.serviceId);
      if (unanswered) c.hooks.resentUnanswered(request.serviceId);
      const trace = request.trace;
      // The queue this request joins: a correction learned on a queue that has drained since is dropped.
      c.lateness?.admitted(request.serviceId, { decidedAt, deadline: decidedAt + (request.deadline - now) });
      const run = c.executor.submit(request.serviceId, request.inputs, { deadline: request.deadline, signal: request.signal, priority: request.priority ?? 0, ...(trace ? { trace } : {}) });
      if (c.lateness && estimate !== undefined) this.#learn(c.lateness, request, now, decidedAt, estimate.completionAt, run);
      return run;
    }
    if (c.offloader && (decision.action === 'forward' || (decision.action === 'reject' && decision.code === 'NO_INSTANCE' && request.hops < c.hopLimit))) {
      if (unanswered) c.hooks.resentUnanswered(request.serviceId);
      return this.#viaOffloader(c.offloader, request);
    }
    if (decision.action === 'forward') {
      const targets = [decision.serverId, ...decision.candidates.map((x) => x.serverId).filter((id) => id !== decision.serverId)];
      return this.#forward(request, targets, decision.next, retry, unanswered);
    }
    const owner = c.offloader ? undefined : this.#askOwners(decision, estimate, input);
    if (owner) return this.#forward(request, owner.targets, owner.next, retry, unanswered);
    c.hooks.rejected({ serviceId: request.serviceId, code: decision.code, reason: decision.reason });
    // The estimate the refusal rests on, for the server that forwarded the request ({@link #noteRefusal}).
    const estimateMs = decision.code === 'OVERLOADED' && corrected?.ready === true && Number.isFinite(corrected.completionAt) ? Math.round(corrected.completionAt - now) : undefined;
    return Promise.reject(new EparaError(decision.code, decision.reason, { serviceId: request.serviceId, server: c.selfId, ...(estimateMs !== undefined ? { estimateMs } : {}) }));
  }

  /**
   * Records `peer`'s `OVERLOADED` answer to the forward `o` as a reading of its queue: the time it said it needed
   * to complete the request (`details.estimateMs`, its own estimate on arrival), or, from a peer that does not say,
   * the budget the request was sent with (it could not finish within it).
   */
  #noteRefusal(peer: ServerId, o: Outstanding, error: EparaError): void {
    const quoted = error.details?.['estimateMs'];
    const completionMs = typeof quoted === 'number' && Number.isFinite(quoted) && quoted >= 0 ? quoted : Math.max(0, o.request.deadline - o.sentAt);
    this.#refusedBy.set(`${peer}\u0000${o.request.serviceId}`, { peer, serviceId: o.request.serviceId, at: this.#c.clock.now(), completionMs });
  }

  /**
   * The view routing reads for `serviceId`: each peer that refused a request of it since its entry was written is
   * read at its refusal — its instances of the service waiting what it said less their next run, as of the
   * refusal's time — instead of at its entry, which is up to a sync period older. Without it, every request of a
   * burst decided on one entry went to the peer that entry showed idle and came back refused: in the demo's
   * quiet runs, 40 % of the images forwarded to an image server were refused there `OVERLOADED`. A refusal older
   * than the peer's entry is dropped: the entry has seen that queue. `view` itself when there is none to apply.
   */
  #refusalView(serviceId: ServiceId, view: ClusterView, now: number): ClusterView {
    if (this.#refusedBy.size === 0 || this.#c.refusalView === false) return view;
    let entries: Record<ServerId, ServerEntry> | undefined;
    for (const [key, r] of this.#refusedBy) {
      const entry = view.entries[r.peer];
      if (entry === undefined || entry.updatedAt >= r.at || r.at > now) {
        this.#refusedBy.delete(key);
        continue;
      }
      if (r.serviceId !== serviceId) continue;
      const instances = entry.instances.map((i) =>
        i.serviceId === serviceId ? { ...i, waitMs: Math.max(i.waitMs, r.completionMs - (i.nextRunMs ?? i.runMs)) } : i,
      );
      entries ??= { ...view.entries };
      entries[r.peer] = { ...entry, updatedAt: r.at, instances };
    }
    return entries === undefined ? view : { ...view, entries };
  }

  /**
   * Per peer, the requests of `serviceId` forwarded to it after it wrote its entry in `view` and not answered
   * yet (`undefined`: none). Routing adds them to the peer's reported wait: without, every request decided on the
   * same entry — a burst while the local queue is long lasts well within a sync period — went to the one peer
   * that entry made look best, and queued there behind the others (in the demo's quiet runs, images forwarded
   * to the far server made their deadline 47–48% of the time against 95% for the images entering there; such
   * bursts are one cause).
   */
  #sentSinceReport(serviceId: string, view: ClusterView): Record<ServerId, number> | undefined {
    if (this.#outstanding.size === 0) return undefined;
    let sent: Record<ServerId, number> | undefined;
    for (const o of this.#outstanding.values()) {
      if (o.request.serviceId !== serviceId) continue;
      const entry = view.entries[o.peer];
      if (entry === undefined || o.sentAt < entry.updatedAt) continue;
      sent ??= {};
      sent[o.peer] = (sent[o.peer] ?? 0) + 1;
    }
    return sent;
  }

  /**
   * Whether a request routing refused for want of room (`OVERLOADED`, or `HOP_LIMIT` with peers left) runs here
   * after all: when only the measured correction made the local estimate miss, and the executor's own estimate
   * still lands by the deadline. The correction is a median over recent requests — it steers work to a peer
   * with room, but when no peer has room a refusal loses the request for certain, while the executor still
   * drops it unrun if it cannot finish in time. Measured on the demo's quiet runs: 10–64 images a run refused at
   * the image server on corrected estimates whose raw figure (p50 186–238 ms) fit their 300 ms deadline.
   */
  #lastResort(decision: RouteDecision, raw: LocalEstimate | undefined, deadline: number): boolean {
    if (decision.action !== 'reject' || (decision.code !== 'OVERLOADED' && decision.code !== 'HOP_LIMIT')) return false;
    return raw !== undefined && raw.ready && raw.completionAt <= deadline - this.#c.guardMs;
  }

  /**
   * Where a request refused `OVERLOADED` goes instead: to the peers the view expects to finish it first (best first,
   * at most the routing's candidate count), while hops remain. Such a refusal rests on the view's figures for the
   * peers — each one's wait as its last sync reported it, stretched by that peer's measured correction and, by
   * routing, by the entry's age — while the peer decides on its exact queue and runs a request its own estimate
   * still lands (its last resort): a request the owner would take was lost at an entry that could not see that.
   * Asked, the owner answers with its own refusal when it has no room either, so a wrong hope costs a hop, as a
   * stale view does (docs/mesh.md, "Refusals on the view's figures").
   *
   * - A server that runs no ready instance asks the peers that could meet the deadline if idle.
   * - A server whose own exact estimate missed too (its last resort) hands the request on only at its entry
   *   (no hop taken yet), to the peers whose reported wait, moved by their reported load over the entry's age,
   *   meets the deadline ({@link drainedWaitMs}): routing prices a reported wait as growing with the entry's age
   *   (a cautious figure, to spread forwards), while a peer below capacity has been draining its queue since.
   *
   * `undefined`: refuse as routing said.
   */
  #askOwners(decision: RouteDecision, raw: LocalEstimate | undefined, input: RouteRequestInput): { targets: ServerId[]; next: NextHop } | undefined {
    if (decision.action !== 'reject' || decision.code !== 'OVERLOADED') return undefined;
    const hosted = raw !== undefined && raw.ready;
    if (hosted && (input.request.hops ?? 0) > 0) return undefined;
    // The same scan with no deadline ranks every peer that hosts a ready instance by its estimated completion.
    const ranked = routeRequest({ ...input, local: undefined, request: { ...input.request, deadline: Number.POSITIVE_INFINITY } });
    if (ranked.action !== 'forward') return undefined;
    const latest = input.request.deadline - this.#routeOptions.guardMs;
    // A peer's completion without the wait (idle): travel, run and the way back.
    const targets = ranked.candidates
      .filter((x) => x.estimateAt - x.inflatedWaitMs + (hosted ? drainedWaitMs(input, x.serverId, x.instanceId) : 0) <= latest)
      .map((x) => x.serverId);
    return targets.length === 0 ? undefined : { targets, next: ranked.next };
  }

  /**
   * Records how long a local request really took against the executor's estimate at its routing. A request
   * dropped `DEADLINE_EXCEEDED` would have finished no earlier than its deadline; other failures say nothing
   * about the wait.
   */
  #learn(lateness: LocalLateness, request: HandledRequest, now: number, decidedAt: number, estimateAt: number, run: Promise<NamedTensors>): void {
    // On the monotonic clock: the estimate and the deadline are moved onto it from the routing instant (`now` on
    // the node's clock, `decidedAt` on the monotonic one).
    const monotonic = this.#monotonic;
    const onMonotonic = (t: number): number => decidedAt + (t - now);
    run.then(
      () => lateness.observe(request.serviceId, { decidedAt, estimateAt: onMonotonic(estimateAt), settledAt: monotonic.now() }),
      (err: unknown) => {
        if (toEparaError(err).code === 'DEADLINE_EXCEEDED') {
          lateness.observe(request.serviceId, { decidedAt, estimateAt: onMonotonic(estimateAt), settledAt: Math.max(monotonic.now(), onMonotonic(request.deadline)) });
        }
      },
    );
  }

  get #monotonic(): Clock {
    return this.#c.monotonicClock ?? this.#c.clock;
  }

  /** The queue group picks the server; the offloader applies budget, hops and visited and retries itself. */
  #viaOffloader(offloader: Offloader, request: HandledRequest): Promise<NamedTensors> {
    const { serviceId, inputs, deadline, hops, visited, signal } = request;
    const hooks = this.#c.hooks;
    const onAttempt = (e: { hops: number; retry: boolean; unanswered?: boolean }): void => {
      hooks.offloaded({ serviceId, to: '*', hops: e.hops, retry: e.retry });
      if (e.unanswered === true) hooks.resentUnanswered(serviceId);
    };
    return offloader.forward(serviceId, inputs, { deadline, hops, visited, onAttempt, ...(signal ? { signal } : {}) }).catch((err: unknown) => {
      const e = toEparaError(err);
      if (['NO_INSTANCE', 'OVERLOADED', 'HOP_LIMIT', 'DEADLINE_INFEASIBLE'].includes(e.code)) hooks.rejected({ serviceId, code: e.code, reason: e.message });
      throw e;
    });
  }

  #forward(request: HandledRequest, targets: readonly ServerId[], next: { hops: number; visited: readonly ServerId[] }, retry: boolean, unanswered: boolean): Promise<NamedTensors> {
    const c = this.#c;
    return new Promise<NamedTensors>((resolve, reject) => {
      // A frame over one peer's own limit (its `limits` message) may fit another's: the next is tried, and the refusal
      // is the request's error when none takes it.
      let overPeerLimit: EparaError | undefined;
      for (const peer of targets) {
        const requestId = c.nextId();
        const budgetMs = request.deadline - c.clock.now();
        const hop = startHopSpan(request, peer, next.hops);
        const trace = hop?.context ?? request.trace;
        let linkId: string | void;
        try {
          linkId = c.send(peer, { type: 'submit', requestId, serviceId: request.serviceId, inputs: request.inputs, budgetMs, hops: next.hops, maxHops: c.hopLimit, visited: next.visited, priority: request.priority ?? 0, ...(trace ? { trace } : {}) });
        } catch (err) {
          const e = toEparaError(err);
          if (isFrameTooLarge(e) && e.details['peerMaxFrameBytes'] !== undefined) {
            hop?.end({ error: e.code });
            overPeerLimit ??= e;
            continue;
          }
          // A frame too large to build is as large for every candidate: the request is refused as it is, not
          // reported as if no peer could be reached.
          if (isFrameTooLarge(e)) {
            hop?.end({ error: e.code });
            return reject(e);
          }
          hop?.end({ error: 'PEER_UNAVAILABLE' });
          c.logger.debug({ peer, err }, 'forward failed; trying the next candidate');
          continue;
        }
        const [onResult, onError] = hop ? endingSpan(hop, resolve, reject) : [resolve, reject];
        this.#track(requestId, { ...request, hops: request.hops, visited: next.visited }, { peer, linkId: linkId ?? undefined }, onResult, onError);
        c.hooks.offloaded({ serviceId: request.serviceId, to: peer, hops: next.hops, retry });
        if (unanswered) c.hooks.resentUnanswered(request.serviceId);
        return;
      }
      reject(overPeerLimit ?? new EparaError('PEER_UNAVAILABLE', 'no link to any candidate peer', { serviceId: request.serviceId, candidates: [...targets] }));
    });
  }

  #track(requestId: number, request: HandledRequest, to: { peer: ServerId; linkId: string | undefined }, resolve: (o: NamedTensors) => void, reject: (e: EparaError) => void): void {
    const c = this.#c;
    const { peer, linkId } = to;
    const signal = request.signal;
    const onAbort = (): void => {
      const o = this.#outstanding.get(requestId);
      if (!o) return;
      this.#settle(requestId, o);
      this.#trySend(peer, { type: 'cancel', requestId, reason: 'aborted by the caller' });
      reject(new EparaError('ABORTED', 'aborted while offloaded', { peer }));
    };
    // Bounded by the deadline: a peer that goes silent cannot hold the request forever.
    const wait = Math.max(0, request.deadline - c.clock.now()) + c.responseGraceMs;
    const timer = c.timers.setTimeout(() => {
      const o = this.#outstanding.get(requestId);
      if (!o) return;
      this.#settle(requestId, o);
      this.#trySend(peer, { type: 'cancel', requestId, reason: 'deadline passed' });
      reject(new EparaError('DEADLINE_EXCEEDED', `peer ${peer} did not answer before the deadline`, { peer }));
      // A peer silent this long may be cut off one way while its link looks alive: the node checks the link.
      c.unanswered?.(peer, linkId);
    }, wait);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#outstanding.set(requestId, { request, peer, sentAt: c.clock.now(), linkId, resolve, reject, timer, cleanup: () => signal?.removeEventListener('abort', onAbort) });
  }

  #settle(id: number, o: Outstanding): void {
    this.#outstanding.delete(id);
    o.timer.cancel();
    o.cleanup();
  }

  /**
   * Routes a request again after its peer failed (`how.peerFailed`, default true; false keeps the peer a candidate:
   * a link of it closed); `how.unanswered`: the forward reached a link and may have run there. When nothing else can
   * take it, the `PEER_UNAVAILABLE` names how the peer failed (`failure`), the link or dial the request went on
   * (`via`), the routing's reason, and the node's link state with the peer now (`links`): a failure explains itself.
   */
  #retry(o: Outstanding, how: RetryCause): void {
    const peerFailed = how.peerFailed ?? true;
    const visited = !peerFailed || o.request.visited.includes(o.peer) ? o.request.visited : [...o.request.visited, o.peer];
    const request = { ...o.request, visited };
    if (this.#closed) return o.reject(new EparaError('CLOSED', 'node closed'));
    const left = request.deadline - this.#c.clock.now();
    // A failure that comes after the deadline (a retryable answer in the grace period) ends the request as late,
    // not as unplaceable: the caller's deadline passed, whatever the peer said.
    if (left <= 0) return o.reject(new EparaError('DEADLINE_EXCEEDED', `peer ${o.peer} failed after the deadline passed`, { peer: o.peer, failure: how.failure }));
    if (left <= this.#c.guardMs) {
      return o.reject(new EparaError('DEADLINE_INFEASIBLE', `peer ${o.peer} failed and no time is left to retry`, { peer: o.peer, failure: how.failure }));
    }
    this.#safeRoute(request, true, how.unanswered === true).then(o.resolve, (err: unknown) => {
      const e = toEparaError(err);
      // A routing rejection on retry means the failed peer left nowhere to go: say so, keep the cause.
      const routing = ['NO_INSTANCE', 'HOP_LIMIT', 'OVERLOADED', 'DEADLINE_INFEASIBLE'].includes(e.code);
      if (!routing) return o.reject(e);
      const links = this.#c.linkState?.(o.peer);
      o.reject(
        new EparaError('PEER_UNAVAILABLE', `peer ${o.peer} failed (${how.failure}) and no other server can take the request`, {
          peer: o.peer,
          retry: e.code,
          reason: e.message,
          failure: how.failure,
          ...(o.linkId !== undefined ? { via: o.linkId } : {}),
          ...(links !== undefined ? { links } : {}),
        }),
      );
    });
  }

  /**
   * The peer refused the request `OVERLOADED`: routed again with the peer visited (never asked twice) at the same
   * hop — the refusal took no hop of the request's, and routing keeps the hop limit and the deadline (only peers
   * that can meet it are asked, or the request runs here if it now can). When nothing is left, or no budget, the
   * request fails naming each refusal (`details.refusals`): `OVERLOADED` when routing finds no one, otherwise the
   * deadline's code. The peer ran nothing, so nothing is resent unanswered. A refusal that names the servers the
   * peer asked in turn (its own `details.refusals`) adds them too: none of them is asked again from here.
   */
  #retryRefused(o: Outstanding, error: EparaError): void {
    const refusals = [...(o.request.refusals ?? []), ...refusalsOf(error), { peer: o.peer, code: error.code, reason: error.message }];
    const visited = [...o.request.visited];
    for (const r of refusals) if (!visited.includes(r.peer)) visited.push(r.peer);
    const request: HandledRequest = { ...o.request, visited, refusals };
    const serviceId = request.serviceId;
    const named = refusals.map((r) => `${r.peer} (${r.reason})`).join(', ');
    if (this.#closed) return o.reject(new EparaError('CLOSED', 'node closed', { serviceId, refusals }));
    const left = request.deadline - this.#c.clock.now();
    if (left <= 0) return o.reject(new EparaError('DEADLINE_EXCEEDED', `refused after the deadline passed by ${named}`, { serviceId, refusals }));
    if (left <= this.#c.guardMs) return o.reject(new EparaError('DEADLINE_INFEASIBLE', `refused by ${named}, and no time is left to ask another server`, { serviceId, refusals }));
    this.#safeRoute(request, true).then(o.resolve, (err: unknown) => {
      const e = toEparaError(err);
      // A later peer's failure that already names the refusals (its own refusal included) ends the request as is.
      if (e.details?.['refusals'] !== undefined) return o.reject(e);
      if (['NO_INSTANCE', 'HOP_LIMIT', 'OVERLOADED', 'DEADLINE_INFEASIBLE'].includes(e.code)) {
        return o.reject(new EparaError('OVERLOADED', `no server can take the request by its deadline: refused by ${named}; then ${e.code}`, { serviceId, refusals, retry: e.code }));
      }
      o.reject(new EparaError(e.code, e.message, { ...e.details, refusals }));
    });
  }

  #trySend(peer: ServerId, message: OffloadMessage): void {
    try {
      this.#c.send(peer, message);
    } catch {
      // The peer is gone; nothing to cancel there.
    }
  }
}

/** Most refusals a peer's error may name that are taken from it (its details came over the wire). */
const MAX_REFUSALS = 64;

/** The refusals a peer's `OVERLOADED` names in `details.refusals` (its own asks); malformed items are left out. */
function refusalsOf(error: EparaError): Refusal[] {
  const list = error.details?.['refusals'];
  if (!Array.isArray(list)) return [];
  const out: Refusal[] = [];
  for (const r of list.slice(0, MAX_REFUSALS) as unknown[]) {
    if (typeof r !== 'object' || r === null) continue;
    const { peer, code, reason } = r as Record<string, unknown>;
    if (typeof peer === 'string' && peer !== '') out.push({ peer, code: typeof code === 'string' ? code : 'OVERLOADED', reason: typeof reason === 'string' ? reason : '' });
  }
  return out;
}

/**
 * The wait a peer's instance has at `input.now` by its entry in the view: the wait it reported, moved over the
 * entry's age by its reported load (`loadPerSec / capacityPerSec = ρ`: the queue drains at `1 − ρ` ms a ms below
 * capacity and grows past it), never below 0, plus one item's time at its capacity for each request this server
 * sent it since the entry was written. Routing's figure adds a staleness margin on top (`inflateWait`); this is
 * the expected one.
 */
function drainedWaitMs(input: Pick<RouteRequestInput, 'view' | 'now' | 'sentSinceReport'>, serverId: ServerId, instanceId: string): number {
  const entry = input.view.entries[serverId];
  const inst = entry?.instances.find((i) => i.instanceId === instanceId);
  if (entry === undefined || inst === undefined) return Number.POSITIVE_INFINITY;
  const age = Math.max(0, input.now - entry.updatedAt);
  const rho = inst.capacityPerSec > 0 ? inst.loadPerSec / inst.capacityPerSec : 2;
  const sent = input.sentSinceReport?.[serverId] ?? 0;
  const sentMs = sent > 0 && inst.capacityPerSec > 0 ? (sent * 1000) / inst.capacityPerSec : 0;
  return Math.max(0, Math.max(0, inst.waitMs) + age * (rho - 1)) + sentMs;
}
