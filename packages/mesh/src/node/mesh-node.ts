import { EventEmitter } from 'eventemitter3';
import { EparaError, toEparaError } from '@epara/core';
import { sanitizeTraceContext, signalError } from '@epara/core/internal';
import type { AbortSignalLike, ClusterView, NamedTensors, ServerEntry, ServerId, ServiceId, StreamResult, TraceContext } from '@epara/core';
import { loadMeshTracing } from '../offload/mesh-tracing.js';
import type { MeshStream } from '../offload/remote-stream.js';
import { ArrivalMeter } from './arrival-meter.js';
import { dispatchMessage } from './dispatch-message.js';
import type { NodeEvents, NodeStats } from './node-events.js';
import type { ResolvedNodeOptions } from './node-options.js';
import { buildNodeParts, defaultBudgetMs, nodeClockView } from './node-parts.js';
import type { Counter, NodeParts } from './node-parts.js';
import { waitForView } from './when-view.js';
import type { WhenViewOptions } from './when-view.js';
import type { ViewUpdate } from '../sync/view-sync.js';

/** Options of {@link MeshNode.submit}. */
export interface NodeSubmitOptions {
  /** Absolute deadline, node clock ms. @default now + the service's latency SLO (or `defaultDeadlineMs`) */
  readonly deadline?: number;
  /** Higher runs first among equal deadlines (an integer, kept when offloaded). @default 0 */
  readonly priority?: number;
  readonly signal?: AbortSignalLike;
  /**
   * The request's trace context (W3C `traceparent`, `tracestate`, request id): carried in every offload frame
   * and handed to the executor, so the hops' spans join one trace. Malformed fields are dropped.
   */
  readonly trace?: TraceContext;
}

/** Options of {@link MeshNode.openStream}. */
export interface NodeStreamOptions {
  readonly rateHz: number;
  /** @default the service's staleness SLO */
  readonly stalenessMs?: number;
}

/**
 * An EPARA edge node; create it with {@link createNode}. See `docs/mesh.md`.
 */
export class MeshNode extends EventEmitter<NodeEvents> {
  readonly id: ServerId;
  readonly #o: ResolvedNodeOptions;
  readonly #p: NodeParts;
  readonly #meter: ArrivalMeter;
  readonly #counters = new Map<Counter, number>();
  readonly #pending = new Set<(e: EparaError) => void>();
  readonly #viewWaiters = new Set<(e: EparaError) => void>();
  /** Resolved when the last pending submit settles (drain and close wait on it). */
  readonly #drainWaiters = new Set<() => void>();
  #state: 'new' | 'starting' | 'started' | 'closing' | 'closed' = 'new';
  #draining = false;
  #drainP: Promise<void> | undefined;
  #startP: Promise<void> | undefined;
  #closeP: Promise<void> | undefined;
  #nextId = 1;

  constructor(o: ResolvedNodeOptions) {
    super();
    this.#o = o;
    this.id = o.id;
    this.#meter = new ArrivalMeter(o.monotonicClock.now(), o.syncPeriodMs * 2);
    const count = (c: Counter, n = 1): void => void this.#counters.set(c, (this.#counters.get(c) ?? 0) + n);
    this.#p = buildNodeParts(o, {
      meter: this.#meter,
      nextId: () => this.#nextId++,
      count,
      emit: (event, payload) => void (this.emit as (e: string, p: unknown) => boolean)(event, payload),
    });

    this.#wireEvents();
  }

  /** The address peers dial (after {@link start}): the `advertise` option, else the transport's address. */
  get address(): string | undefined {
    return this.#o.advertise ?? this.#o.transport.address;
  }

  /** True from {@link drain} on: new submits are refused with `CLOSED`. */
  get draining(): boolean {
    return this.#draining || this.#state === 'closing' || this.#state === 'closed';
  }

  /**
   * Whether peers must authenticate to join this node's mesh: a pre-shared key is configured, or the transport
   * verifies client certificates (mutual TLS). Front ends (a dashboard, a gateway) use it to require their own
   * credentials by default.
   */
  get authenticatesPeers(): boolean {
    return 'psk' in this.#o.security || this.#o.transport.clientAuth === true;
  }

  /** Listens, joins through the seeds and starts ring sync and placement. Idempotent. */
  start(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return Promise.reject(new EparaError('CLOSED', 'node is closed'));
    this.#startP ??= (async () => {
      this.#state = 'starting';
      await loadMeshTracing();
      await this.#o.transport.listen();
      if (this.#state !== 'starting') return;
      this.#state = 'started';
      await this.#p.sync.start();
      await this.#p.offloadServing?.start();
      this.#p.coordinator?.start();
      this.#o.logger.info({ id: this.id, address: this.address }, 'node started');
    })();
    return this.#startP;
  }

  /**
   * Submits a request: runs it locally when the exact local estimate meets the deadline, otherwise offloads
   * it to the peer with the earliest estimated completion, otherwise rejects at once.
   *
   * @throws EparaError (rejects) `NO_INSTANCE`, `DEADLINE_INFEASIBLE`, `OVERLOADED`, `HOP_LIMIT`,
   * `PEER_UNAVAILABLE` (a peer failed and no other could take it), `DEADLINE_EXCEEDED`, `ABORTED`, `CLOSED`,
   * or whatever the executor rejects with (`MODEL_ERROR`…).
   */
  submit(serviceId: ServiceId, inputs: NamedTensors, options: NodeSubmitOptions = {}): Promise<NamedTensors> {
    if (this.#state === 'closing' || this.#state === 'closed') return Promise.reject(new EparaError('CLOSED', 'node is closed'));
    if (this.#draining) return Promise.reject(new EparaError('CLOSED', 'node is draining: send the request to another server', { retryable: true }));
    if (typeof serviceId !== 'string' || serviceId === '') return Promise.reject(new EparaError('INVALID_OPTIONS', 'serviceId must be a non-empty string', { field: 'serviceId' }));
    if (options.deadline !== undefined && !Number.isFinite(options.deadline)) {
      return Promise.reject(new EparaError('INVALID_OPTIONS', `Expected \`deadline\` to be a finite number (absolute ms), got \`${String(options.deadline)}\``, { field: 'deadline' }));
    }
    if (options.priority !== undefined && !(Number.isInteger(options.priority) && Math.abs(options.priority) <= 2 ** 31 - 1)) {
      return Promise.reject(new EparaError('INVALID_OPTIONS', `Expected \`priority\` to be a 32-bit integer, got \`${String(options.priority)}\``, { field: 'priority' }));
    }
    if (typeof inputs !== 'object' || inputs === null) return Promise.reject(new EparaError('INVALID_INPUT', 'inputs must be an object of named tensors', { field: 'inputs' }));
    const badSignal = signalError(options?.signal);
    if (badSignal) return Promise.reject(badSignal);
    this.#p.count('submitted');
    this.#meter.record(serviceId);
    const startedAt = this.#o.monotonicClock.now();
    const deadline = options.deadline ?? this.#o.clock.now() + defaultBudgetMs(this.#o, serviceId);
    const trace = options.trace === undefined ? undefined : sanitizeTraceContext(options.trace);
    const done = this.#track(this.#p.handler.handle({ serviceId, inputs, deadline, hops: 0, visited: [], signal: options.signal, priority: options.priority ?? 0, trace }));
    done.then(
      () => this.#completed(serviceId, startedAt, deadline),
      (err: unknown) => this.#completed(serviceId, startedAt, deadline, toEparaError(err).code),
    );
    return done;
  }

  /**
   * Opens a stream (frequency task): admitted once against spare rate and pinned to a local instance, or to
   * a peer's when the local one is full.
   *
   * @throws EparaError (rejects) `NO_INSTANCE`, `OVERLOADED`, `DEADLINE_INFEASIBLE`, `HOP_LIMIT`, `PEER_UNAVAILABLE`, `CLOSED`.
   */
  async openStream(serviceId: ServiceId, options: NodeStreamOptions): Promise<MeshStream> {
    if (this.#state === 'closing' || this.#state === 'closed') throw new EparaError('CLOSED', 'node is closed');
    if (!(options?.rateHz > 0)) throw new EparaError('INVALID_OPTIONS', 'rateHz must be > 0', { field: 'rateHz', value: options?.rateHz });
    const service = this.#o.services.find((s) => s.id === serviceId);
    const stalenessMs = options.stalenessMs ?? (service?.slo.kind === 'frequency' ? service.slo.stalenessMs : undefined);
    const stream = await this.#p.streams.open({ serviceId, rateHz: options.rateHz, stalenessMs, hops: 0, visited: [] });
    this.#meter.streamRate(serviceId, options.rateHz);
    const close = stream.close.bind(stream);
    let closed = false;
    return Object.assign(Object.create(null) as object, stream, {
      push: stream.push.bind(stream),
      [Symbol.asyncIterator]: () => this.#observeFrames(serviceId, stream[Symbol.asyncIterator]()),
      close: () => {
        if (!closed) this.#meter.streamRate(serviceId, -options.rateHz);
        closed = true;
        return close();
      },
    }) as MeshStream;
  }

  /**
   * A snapshot of this node's cluster view. Entries' `updatedAt` are on this node's `clock` (the one deadlines
   * are on), each as old as the monotonic clock measured it: a wall-clock step does not age or rejuvenate them.
   */
  view(): ClusterView {
    const v = nodeClockView(this.#p.sync.store.view(), this.#o);
    // The sync keeps one view object until it changes, for the routing path: the host gets a copy of its own.
    return { entries: { ...v.entries } };
  }

  /**
   * Resolves with this node's view once `check` holds for it: checked now and on every `viewChanged`, never by
   * polling. The way to wait until a peer has joined or an instance is ready before sending work.
   *
   * @throws EparaError (rejects) `DEADLINE_EXCEEDED` after `timeoutMs`, `ABORTED` on the signal, `CLOSED` when
   * the node closes, `INVALID_OPTIONS` for a bad option or a `check` that throws.
   * @example
   * ```ts
   * await node.whenView((v) => Object.values(v.entries).some((e) => e.instances.some((i) => i.serviceId === 'classify' && i.status === 'ready')), { timeoutMs: 10_000 });
   * ```
   */
  whenView(check: (view: ClusterView) => boolean, options?: WhenViewOptions): Promise<ClusterView> {
    if (this.#state === 'closing' || this.#state === 'closed') return Promise.reject(new EparaError('CLOSED', 'node is closed'));
    return waitForView(
      {
        view: () => this.view(),
        on: (e, l) => this.on(e, l),
        off: (e, l) => this.off(e, l),
        timers: this.#o.timers,
        onClose: (reject) => {
          this.#viewWaiters.add(reject);
          return () => this.#viewWaiters.delete(reject);
        },
      },
      check,
      options,
    );
  }

  /** A snapshot of this node's counters. */
  stats(): NodeStats {
    const g = (c: Counter): number => this.#counters.get(c) ?? 0;
    const v = this.view();
    return {
      id: this.id,
      epoch: this.#p.sync.store.self.epoch,
      submitted: g('submitted'),
      ranLocally: g('ranLocally'),
      offloaded: g('offloaded'),
      retried: g('retried'),
      retriedUnanswered: g('retriedUnanswered'),
      received: g('received'),
      rejected: g('rejected'),
      inFlightForwards: this.#p.handler.outstanding,
      syncRounds: g('syncRounds'),
      syncBytesSent: g('syncBytesSent'),
      syncFramesSent: g('syncFramesSent'),
      bytesSent: g('bytesSent'),
      framesRejected: g('framesRejected'),
      connectedPeers: this.#p.links.connectedPeers().length,
      alivePeers: Object.values(v.entries).filter((e) => e.alive && e.serverId !== this.id).length,
      leader: this.#p.coordinator?.leader() ?? Object.values(v.entries).filter((e) => e.alive).map((e) => e.serverId).sort()[0] ?? this.id,
      placementsApplied: g('placementsApplied'),
    };
  }

  /**
   * Runs placement now (trigger `manual`) if this node is the started leader, e.g. after the host changed its
   * demand forecast or loaded instances; the decision is distributed and applied like a periodic one. Returns
   * whether a decision was made: `false` on a non-leader (`stats().leader` names the leader), before `start()`,
   * after `close()`, with placement off, or when no server has reported devices yet.
   */
  placeNow(): boolean {
    if (this.#state !== 'started') return false;
    return this.#p.coordinator?.run('manual') !== undefined;
  }

  /**
   * Graceful shutdown for rolling restarts: refuses new submits at once (`CLOSED`, retryable elsewhere) and new
   * requests from peers (answered `CLOSED`, which their senders retry on another server at once), waits up to
   * `timeoutMs` for the requests it already accepted — its own (locally or offloaded) and those peers forwarded
   * here — to settle, then {@link close}s: what still runs for peers is then answered `CLOSED`, which their
   * senders retry elsewhere. Idempotent; resolves when the node is closed. `timeoutMs: Infinity` waits for
   * every accepted request.
   *
   * @throws EparaError (rejects) `INVALID_OPTIONS` when `timeoutMs` is not a number ≥ 0.
   */
  drain(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    const t = options?.timeoutMs;
    if (t !== undefined && !(typeof t === 'number' && t >= 0)) {
      return Promise.reject(new EparaError('INVALID_OPTIONS', `drain timeoutMs must be a number >= 0 (or Infinity), got ${String(t)}`, { field: 'timeoutMs' }));
    }
    this.#drainP ??= (async () => {
      this.#draining = true;
      // Requests peers forwarded here finish too; new ones are refused `CLOSED`, which their senders retry
      // elsewhere at once. Before, the drain waited for this node's own submits only and then closed, answering
      // `CLOSED` to what peers had forwarded — each retried from scratch, or lost where no other server served it.
      const inbound = this.#p.inbound;
      inbound.refuse();
      const timeoutMs = options.timeoutMs ?? this.#o.drainTimeoutMs;
      this.#o.logger.info({ id: this.id, pending: this.#pending.size, received: inbound.size, timeoutMs }, 'node draining');
      // A queue-group offloader leaves its groups and answers what it took (its members take the rest).
      const served = this.#p.offloadServing?.drain();
      await this.#atMost(Promise.all([this.#drained(), inbound.idle(), served]), timeoutMs);
      await this.close();
    })();
    return this.#drainP;
  }

  /**
   * Stops everything and settles every pending call: forwarded requests and remote streams reject with
   * `CLOSED`; local work may finish until `closeTimeoutMs`, then rejects with `CLOSED`. Closes the transport.
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closeP ??= this.#close();
    return this.#closeP;
  }

  async #close(): Promise<void> {
    this.#state = 'closing';
    for (const reject of [...this.#viewWaiters]) reject(new EparaError('CLOSED', 'node closed while waiting for the view'));
    const p = this.#p;
    p.coordinator?.stop();
    await p.sync.stop();
    p.handler.close();
    p.offloadServing?.close();
    p.inbound.close();
    p.streams.close();
    await this.#atMost(p.streamHost.closeAll(), this.#o.closeTimeoutMs);
    if (this.#pending.size > 0) await this.#atMost(this.#drained(), this.#o.closeTimeoutMs);
    for (const reject of [...this.#pending]) reject(new EparaError('CLOSED', 'node closed before the request finished'));
    await this.#atMost(this.#p.applier.close(), this.#o.closeTimeoutMs);
    p.links.close();
    await this.#o.transport.close();
    this.#state = 'closed';
  }

  #track(work: Promise<NamedTensors>): Promise<NamedTensors> {
    return new Promise<NamedTensors>((resolve, reject) => {
      const fail = (e: EparaError): void => {
        this.#untrack(fail);
        reject(e);
      };
      this.#pending.add(fail);
      work.then(
        (v) => {
          this.#untrack(fail);
          resolve(v);
        },
        (err: unknown) => fail(toEparaError(err)),
      );
    });
  }

  #untrack(fail: (e: EparaError) => void): void {
    this.#pending.delete(fail);
    if (this.#pending.size > 0) return;
    for (const resolve of [...this.#drainWaiters]) resolve();
    this.#drainWaiters.clear();
  }

  /** Passes a stream's results through unchanged, reporting each as `frameCompleted`. */
  #observeFrames(serviceId: ServiceId, it: AsyncIterator<StreamResult>): AsyncIterator<StreamResult> {
    // A `then` on the inner result rather than an async wrapper: one promise per frame, not two.
    const seen = (r: IteratorResult<StreamResult>): IteratorResult<StreamResult> => {
      if (r.done !== true) {
        const v = r.value;
        this.#observe('frameCompleted', v.ok ? { serviceId, ok: true, latencyMs: v.latencyMs } : { serviceId, ok: false, latencyMs: 0, code: v.error.code });
      }
      return r;
    };
    return {
      next: () => {
        try {
          return it.next().then(seen);
        } catch (err) {
          return Promise.reject(err);
        }
      },
      ...(it.return ? { return: (value?: unknown) => it.return!(value) } : {}),
    };
  }

  #completed(serviceId: ServiceId, startedAt: number, deadline: number, code?: string): void {
    const ok = code === undefined;
    const latencyMs = Math.max(0, this.#o.monotonicClock.now() - startedAt);
    this.#observe('requestCompleted', { serviceId, ok, latencyMs, deadlineMet: ok && this.#o.clock.now() <= deadline, ...(ok ? {} : { code }) });
  }

  /** Emits an observation event; a listener that throws is logged, never allowed to fail the request or stream. */
  #observe<K extends 'requestCompleted' | 'frameCompleted' | 'requestReceived'>(event: K, payload: NodeEvents[K][0]): void {
    try {
      (this.emit as (e: string, p: unknown) => boolean)(event, payload);
    } catch (err) {
      this.#o.logger.error({ err, event }, 'a node event listener threw');
    }
  }

  /** Resolves once no submit is pending (at once when none is). */
  #drained(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.add(resolve));
  }

  /** Waits for `work` at most `ms`; its timer is cancelled once `work` settles, so a closed node keeps none. */
  #atMost(work: Promise<unknown>, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#o.timers.setTimeout(resolve, ms);
      const done = (): void => (timer.cancel(), resolve());
      work.then(done, done);
    });
  }

  #wireEvents(): void {
    const { links, sync, handler, inbound, streamHost, streams, coordinator, count } = this.#p;
    links.on('messageReceived', ({ link, message }) => {
      if (message.type === 'submit') this.#observe('requestReceived', { serviceId: message.serviceId, from: link.peerId, hops: message.hops });
      dispatchMessage(this.#p, link, message);
    });
    links.on('frameSent', ({ type, bytes }) => {
      count('bytesSent', bytes);
      if (type === 'sync-token' || type === 'sync-ack') (count('syncBytesSent', bytes), count('syncFramesSent'));
    });
    links.on('frameRejected', ({ peerId, error }) => (count('framesRejected'), this.emit('frameRejected', { peerId, code: error.code })));
    links.on('linkClosed', ({ link, lastLink, dialIds }) => {
      inbound.onLinkClosed(link.linkId);
      streamHost.onLinkClosed(link.linkId);
      if (this.#state !== 'started') return;
      if (!lastLink) {
        for (const id of [link.linkId, ...dialIds]) (handler.onLinkDown(id), streams.onLinkDown(id));
        return;
      }
      handler.onPeerDown(link.peerId);
      streams.onPeerDown(link.peerId);
      sync.reportDead(link.peerId, 'link-closed');
    });
    // Only what waited for that dial is lost: requests on a link the peer's current run opened meanwhile are not.
    links.on('peerUnreachable', ({ dialId, peerLinked }) => {
      if (this.#state !== 'started') return;
      handler.onLinkDown(dialId, !peerLinked, false);
      streams.onLinkDown(dialId);
    });
    sync.on('peerJoined', (e) => {
      // First: the owed cancels below go to the peer over a fresh dial, not into one stuck in a healed cut.
      links.peerBack(e.serverId);
      handler.onPeerBack(e.serverId);
      streams.onPeerJoined(e.serverId);
      this.emit('peerJoined', e);
    });
    sync.on('peerLeft', (e) => {
      links.peerLeft(e.serverId);
      handler.onPeerDown(e.serverId);
      streams.onPeerLeft(e.serverId);
      this.emit('peerLeft', e);
      coordinator?.onPeerLeft();
    });
    let ownKey = '';
    let ownFree = -1;
    sync.on('viewUpdated', (update?: ViewUpdate) => {
      const own = update?.own === true;
      // Ids the view forgot (and no link holds) leave nothing behind in the links' per-peer bookkeeping.
      if (!own) links.prune();
      // This server's own entry is rewritten each round its state moved (load, rates, waits): the coordinator reacts
      // only to what it reads of it — its epoch and its instances (their ids and statuses) — not to every round.
      const key = ownPlacementKey(sync.store.self);
      if (!own || key !== ownKey) coordinator?.onViewChanged();
      // A device failed or is back (its memory left or rejoined the entry): the coordinator reads device health.
      else if (own && sync.store.self.freeMemoryBytes !== ownFree) coordinator?.checkDevices();
      ownFree = sync.store.self.freeMemoryBytes;
      ownKey = key;
      this.emit('viewChanged');
    });
    sync.on('roundCompleted', (e) => {
      count('syncRounds');
      this.emit('syncCompleted', { round: e.round, durationMs: e.durationMs, servers: e.hops });
    });
  }
}

/** What the placement coordinator reads of this server's own entry: its epoch and its instances' ids and statuses. */
function ownPlacementKey(self: ServerEntry): string {
  let key = String(self.epoch);
  for (const i of self.instances) key += `|${i.instanceId}:${i.status}`;
  return key;
}
