import { EparaError, toEparaError } from '@epara/core';
import { tensorsByteLength } from '@epara/core/internal';
import type { Clock, NamedTensors, ServerId } from '@epara/core';
import type { HandledRequest } from './request-handler.js';
import type { OffloadMessage } from './offload-messages.js';

/** What {@link InboundRequests} needs from the node. */
export interface InboundConfig {
  readonly clock: Clock;
  /** Runs a request through the node's handler (local or a further hop). */
  readonly handle: (request: HandledRequest) => Promise<NamedTensors>;
  /** Answers on the link the request came from. */
  readonly reply: (linkId: string, message: OffloadMessage) => void;
  /** Largest deadline budget a peer may ask for, ms (a lying peer cannot pin work forever). */
  readonly maxBudgetMs: number;
  /** This node's hop limit. */
  readonly hopLimit: number;
  /**
   * Forwarded requests started in one turn of the event loop; the rest of a burst waits its turn, so that the
   * node's own work (its host's submits, the executor's timers, sync) runs between slices of a flood.
   * @default Infinity (each starts as it arrives)
   */
  readonly startsPerTurn?: number;
  /** Requests of one sender waiting for a turn; past this, its requests are refused `OVERLOADED` at once. @default Infinity */
  readonly maxWaitingPerSender?: number;
  /** Input bytes of one sender's requests waiting for a turn, at most (the same refusal past it). @default Infinity */
  readonly maxWaitingBytesPerSender?: number;
}

/** What the node starts per turn of its event loop ({@link InboundConfig.startsPerTurn}). */
export const INBOUND_STARTS_PER_TURN = 64;
/** What the node lets one sender hold waiting ({@link InboundConfig.maxWaitingPerSender}). */
export const INBOUND_WAITING_PER_SENDER = 1024;
/** The input bytes one sender may hold waiting ({@link InboundConfig.maxWaitingBytesPerSender}). */
export const INBOUND_WAITING_BYTES_PER_SENDER = 64 * 1024 * 1024;

/** Request ids remembered as answered, per link: the most recent this many (older ones are forgotten first). */
export const ANSWERED_KEPT_PER_LINK = 4096;

/** Cancels that found no request, remembered per link: the most recent this many (older ones are forgotten first). */
export const EARLY_CANCELS_KEPT_PER_LINK = 1024;

/**
 * Requests that peers forwarded to this node: each runs through the same handler as a local submit, with a
 * deadline rebuilt from the carried budget (clock skew between servers never matters), and its outcome goes
 * back on the link it came from. A `cancel` or the link closing aborts it.
 *
 * A request runs once per link: a `submit` repeated on the link it came in on (a frame duplicated in transit)
 * is not run again, whether the first is still running or was answered already — its answer went out on the same
 * link before the copy arrived. The ids answered are remembered per link (the last
 * {@link ANSWERED_KEPT_PER_LINK}) and forgotten with the link.
 *
 * A flood is sliced and bounded: at most `startsPerTurn` requests start in one turn of the event loop, the rest
 * wait in arrival order for the next turns (a cancel or a close of their link reaches them there), and a sender
 * with `maxWaitingPerSender` waiting (or `maxWaitingBytesPerSender` of inputs) has its next requests refused
 * `OVERLOADED` at once — what a flood makes
 * the node hold is bounded, and its own clients are served between the slices.
 */
export class InboundRequests {
  readonly #c: InboundConfig;
  /** The running requests by key (`link#id`). */
  readonly #running = new Map<string, Running>();
  /**
   * The keys of the running requests by sender and request id (`sender#id`), for a cancel that comes over
   * another of the sender's links: found at once, however many requests run (before, a scan of all of them).
   */
  readonly #bySender = new Map<string, Set<string>>();
  /** The keys of the running requests by the link they came on, for that link's close. */
  readonly #byLink = new Map<string, Set<string>>();
  /** Per open link, the request ids answered (or cancelled) on it, oldest first. */
  readonly #answered = new Map<string, Set<number>>();
  /**
   * Per open link, the request ids a cancel named before the request arrived (it overtook its request: the request
   * waited on a dial while the cancel took the sender's open link, or frames were reordered on the way), oldest
   * first, with the sender each came from.
   */
  readonly #earlyCancels = new Map<string, { readonly from: ServerId | undefined; readonly ids: Set<number> }>();
  /** The links of {@link #earlyCancels} by sender, for a request that comes over another of the sender's links. */
  readonly #earlyBySender = new Map<ServerId, Set<string>>();
  /** Resolved once nothing runs ({@link idle}). */
  readonly #idleWaiters = new Set<() => void>();
  /** From {@link refuse} on: new requests are answered `CLOSED` at once (the node drains). */
  #refusing = false;
  /** Requests waiting for a turn to start, oldest first, and their keys (`link#id`). */
  #waiting: Waiting[] = [];
  readonly #waitingKeys = new Set<string>();
  /** Waiting requests per sender, and their input bytes. */
  readonly #waitingBy = new Map<ServerId, { count: number; bytes: number }>();
  /** Starts left in this turn; a turn ends at the next `setImmediate`. */
  #startsLeft: number;
  #turnArmed = false;
  readonly #startsPerTurn: number;
  readonly #maxWaiting: number;
  readonly #maxWaitingBytes: number;
  /** The refusal of a sender with too many waiting (one error: a flood makes no stack trace per frame). */
  readonly #tooMany: EparaError;

  constructor(config: InboundConfig) {
    this.#c = config;
    this.#startsPerTurn = config.startsPerTurn ?? Infinity;
    this.#maxWaiting = config.maxWaitingPerSender ?? Infinity;
    this.#maxWaitingBytes = config.maxWaitingBytesPerSender ?? Infinity;
    this.#startsLeft = this.#startsPerTurn;
    this.#tooMany = new EparaError('OVERLOADED', 'the sender has too many forwarded requests waiting at this server', { maxWaiting: this.#maxWaiting, maxWaitingBytes: this.#maxWaitingBytes });
  }

  /** Requests running or waiting to start. */
  get size(): number {
    return this.#running.size + this.#waiting.length;
  }

  /** Entries of the indexes by sender and by link (none once nothing runs): for tests. */
  get indexed(): number {
    return this.#bySender.size + this.#byLink.size;
  }

  /** Links whose answered ids, or cancels that came before their request, are remembered (open links only). */
  get linksRemembered(): number {
    return new Set([...this.#answered.keys(), ...this.#earlyCancels.keys()]).size;
  }

  onSubmit(linkId: string, from: ServerId, m: Extract<OffloadMessage, { type: 'submit' }>): void {
    const requestId = m.requestId ?? 0;
    const key = `${linkId}#${requestId}`;
    if (this.#running.has(key) || this.#waitingKeys.has(key)) return;
    let answered = this.#answered.get(linkId);
    if (answered?.has(requestId) === true) return;
    if (!answered) this.#answered.set(linkId, (answered = new Set()));
    const budget = Math.min(Math.max(0, m.budgetMs), this.#c.maxBudgetMs);
    // The deadline counts from the arrival, whenever the request starts.
    const deadline = this.#c.clock.now() + budget;
    if (this.#startsLeft > 0 && this.#waiting.length === 0) {
      this.#startsLeft--;
      this.#armTurn();
      return this.#start({ linkId, from, m, key, deadline, bytes: 0 });
    }
    const waiting = this.#waitingBy.get(from) ?? { count: 0, bytes: 0 };
    const bytes = this.#maxWaitingBytes === Infinity ? 0 : tensorsByteLength(m.inputs);
    if (waiting.count >= this.#maxWaiting || waiting.bytes + bytes > this.#maxWaitingBytes) {
      this.#remember(linkId, requestId);
      try {
        this.#c.reply(linkId, { type: 'error', requestId, error: this.#tooMany });
      } catch {
        // The link closed meanwhile: nobody waits for this answer.
      }
      return;
    }
    waiting.count++;
    waiting.bytes += bytes;
    this.#waitingBy.set(from, waiting);
    this.#waitingKeys.add(key);
    this.#waiting.push({ linkId, from, m, key, deadline, bytes });
    this.#armTurn();
  }

  /** Ends the turn at the next `setImmediate`: the starts are counted afresh, and waiting requests start. */
  #armTurn(): void {
    if (this.#turnArmed || this.#startsPerTurn === Infinity) return;
    this.#turnArmed = true;
    setImmediate(() => {
      this.#turnArmed = false;
      this.#startsLeft = this.#startsPerTurn;
      this.#startWaiting();
    });
  }

  #startWaiting(): void {
    if (this.#waiting.length === 0) return;
    const batch = this.#waiting.splice(0, Math.min(this.#startsLeft, this.#waiting.length));
    for (const w of batch) this.#unwait(w);
    for (const w of batch) {
      // Its link closed while it waited (nothing is remembered for a closed link): nobody waits for its answer.
      if (!this.#answered.has(w.linkId)) continue;
      this.#startsLeft--;
      this.#start(w);
    }
    if (this.#waiting.length > 0) this.#armTurn();
    else this.#resolveIdle();
  }

  #unwait(w: Waiting): void {
    this.#waitingKeys.delete(w.key);
    const by = this.#waitingBy.get(w.from);
    if (by === undefined) return;
    by.count--;
    by.bytes -= w.bytes;
    if (by.count <= 0) this.#waitingBy.delete(w.from);
  }

  #start({ linkId, from, m, key, deadline }: Waiting): void {
    const requestId = m.requestId ?? 0;
    if (this.#takeEarlyCancel(linkId, from, requestId)) {
      // Its sender gave it up already (and settled it): run, it would hold an instance for an answer nobody reads.
      this.#remember(linkId, requestId);
      try {
        this.#c.reply(linkId, { type: 'error', requestId, error: new EparaError('ABORTED', 'cancelled by the sender before the request arrived') });
      } catch {
        // The link closed meanwhile: nobody waits for this answer.
      }
      return;
    }
    if (this.#refusing) {
      // The sender retries a `CLOSED` answer on another server at once, as a request this one did not serve.
      this.#remember(linkId, requestId);
      try {
        this.#c.reply(linkId, { type: 'error', requestId, error: new EparaError('CLOSED', 'peer is draining: send the request to another server', { retryable: true }) });
      } catch {
        // The link closed meanwhile: the sender sees the close instead.
      }
      return;
    }
    const controller = new AbortController();
    this.#add(key, { controller, linkId, requestId, from });
    const visited = m.visited.includes(from) ? m.visited : [...m.visited, from];
    // The sender's hop limit binds the whole path, even if this node would allow more.
    const hops = Math.max(m.hops, m.hops + this.#c.hopLimit - Math.min(m.maxHops, this.#c.hopLimit));
    this.#c
      .handle({ serviceId: m.serviceId, inputs: m.inputs, deadline, hops, visited, signal: controller.signal, priority: m.priority, trace: m.trace })
      .then(
        (outputs) => this.#answer(key, linkId, { type: 'result', requestId, outputs }),
        (err: unknown) => this.#answer(key, linkId, { type: 'error', requestId, error: toEparaError(err) }),
      );
  }

  /**
   * The sender gave up a request. A sender numbers its requests once for all its links, and with two links to
   * this node (both dialed at once) it may cancel over another link than the request came on: `from` finds the
   * request there too.
   */
  onCancel(linkId: string, requestId: number, from?: ServerId): void {
    const abort = (r: Running | undefined): void => r?.controller.abort(new EparaError('ABORTED', 'cancelled by the sender'));
    const running = this.#running.get(`${linkId}#${requestId}`);
    if (running !== undefined) return abort(running);
    const keys = from === undefined ? [] : [...(this.#bySender.get(`${from}#${requestId}`) ?? [])];
    for (const key of keys) abort(this.#running.get(key));
    // Nothing runs under that id: the request is done here, or it has not arrived yet — the cancel overtook it.
    // Remembered, so that the request, when it comes, is not run for a sender that settled it already.
    if (keys.length === 0 && this.#answered.get(linkId)?.has(requestId) !== true) this.#rememberEarlyCancel(linkId, from, requestId);
  }

  /**
   * The node drains: requests already running here finish and are answered as usual, new ones are answered
   * `CLOSED` at once, which their senders retry on another server ({@link idle} says when the last one settled).
   */
  refuse(): void {
    this.#refusing = true;
  }

  /** Resolves once no request runs here (at once when none does). */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.add(resolve));
  }

  /** The link closed: nobody is waiting for these answers any more. */
  onLinkClosed(linkId: string): void {
    // No frame comes over a closed link again: what was answered or cancelled on it need not be remembered. A
    // sender's run whose links all closed (it restarted under its id) numbers its requests afresh: the cancels of
    // its old run must not refuse the new run's requests.
    this.#answered.delete(linkId);
    this.#forgetEarlyCancels(linkId);
    if (this.#waiting.some((w) => w.linkId === linkId)) {
      for (const w of this.#waiting) if (w.linkId === linkId) this.#unwait(w);
      this.#waiting = this.#waiting.filter((w) => w.linkId !== linkId);
      this.#resolveIdle();
    }
    for (const key of [...(this.#byLink.get(linkId) ?? [])]) this.#running.get(key)?.controller.abort(new EparaError('PEER_UNAVAILABLE', 'sender link closed'));
  }

  /**
   * Node shutdown: answers every running request with `CLOSED` (its sender retries it elsewhere) and aborts
   * it here.
   */
  close(): void {
    for (const w of this.#waiting.splice(0)) {
      this.#unwait(w);
      try {
        this.#c.reply(w.linkId, { type: 'error', requestId: w.m.requestId ?? 0, error: new EparaError('CLOSED', 'peer is shutting down') });
      } catch {
        // link already gone: the sender sees the close instead
      }
    }
    this.#answered.clear();
    this.#earlyCancels.clear();
    this.#earlyBySender.clear();
    for (const [key, { controller, linkId, requestId }] of [...this.#running]) {
      this.#delete(key);
      try {
        this.#c.reply(linkId, { type: 'error', requestId, error: new EparaError('CLOSED', 'peer is shutting down') });
      } catch {
        // link already gone: the sender sees the close instead
      }
      controller.abort(new EparaError('CLOSED', 'node closing'));
    }
  }

  #rememberEarlyCancel(linkId: string, from: ServerId | undefined, requestId: number): void {
    let early = this.#earlyCancels.get(linkId);
    if (!early) {
      this.#earlyCancels.set(linkId, (early = { from, ids: new Set() }));
      if (from !== undefined) addTo(this.#earlyBySender, from, linkId);
    }
    early.ids.add(requestId);
    if (early.ids.size > EARLY_CANCELS_KEPT_PER_LINK) early.ids.delete(early.ids.values().next().value!);
  }

  /** Whether a cancel of this request came before it (on its link, or on another of its sender's); forgets it. */
  #takeEarlyCancel(linkId: string, from: ServerId, requestId: number): boolean {
    for (const id of [linkId, ...(this.#earlyBySender.get(from) ?? [])]) {
      const early = this.#earlyCancels.get(id);
      if (early === undefined || (id !== linkId && early.from !== from) || !early.ids.delete(requestId)) continue;
      if (early.ids.size === 0) this.#forgetEarlyCancels(id);
      return true;
    }
    return false;
  }

  #forgetEarlyCancels(linkId: string): void {
    const early = this.#earlyCancels.get(linkId);
    if (early === undefined) return;
    this.#earlyCancels.delete(linkId);
    if (early.from !== undefined) removeFrom(this.#earlyBySender, early.from, linkId);
  }

  #add(key: string, r: Running): void {
    this.#running.set(key, r);
    addTo(this.#bySender, `${r.from}#${r.requestId}`, key);
    addTo(this.#byLink, r.linkId, key);
  }

  /** Forgets a running request; returns it (`undefined` if it was not running). */
  #delete(key: string): Running | undefined {
    const r = this.#running.get(key);
    if (!r) return undefined;
    this.#running.delete(key);
    removeFrom(this.#bySender, `${r.from}#${r.requestId}`, key);
    removeFrom(this.#byLink, r.linkId, key);
    this.#resolveIdle();
    return r;
  }

  #resolveIdle(): void {
    if (this.size > 0) return;
    for (const resolve of [...this.#idleWaiters]) resolve();
    this.#idleWaiters.clear();
  }

  #answer(key: string, linkId: string, message: OffloadMessage): void {
    const controller = this.#delete(key)?.controller;
    if (!controller) return;
    this.#remember(linkId, message.requestId ?? 0);
    if (controller.signal.aborted) return;
    try {
      this.#c.reply(linkId, message);
    } catch (err) {
      // The link closed meanwhile: the sender retries or times out on its own. A result too large for a frame
      // (the codec refused it) is answered with that error instead of left for the sender to wait out.
      const e = toEparaError(err);
      if (message.type !== 'result' || e.code !== 'PROTOCOL_ERROR') return;
      try {
        this.#c.reply(linkId, { type: 'error', requestId: message.requestId, error: new EparaError('PROTOCOL_ERROR', `the result cannot be sent: ${e.message}`, e.details) });
      } catch {
        // The link closed after all.
      }
    }
  }

  /** Remembers `requestId` as settled on `linkId` (unless the link closed meanwhile: nothing is kept for it then). */
  #remember(linkId: string, requestId: number): void {
    const answered = this.#answered.get(linkId);
    if (!answered) return;
    answered.add(requestId);
    if (answered.size > ANSWERED_KEPT_PER_LINK) answered.delete(answered.values().next().value!);
  }
}

/** A request that arrived and waits for a turn to start (its deadline counted from its arrival). */
interface Waiting {
  readonly linkId: string;
  readonly from: ServerId;
  readonly m: Extract<OffloadMessage, { type: 'submit' }>;
  readonly key: string;
  readonly deadline: number;
  /** Its input bytes, as counted against its sender's bound (0 when that is unbounded). */
  readonly bytes: number;
}

/** A request running here for a peer. */
interface Running {
  readonly controller: AbortController;
  readonly linkId: string;
  readonly requestId: number;
  readonly from: ServerId;
}

function addTo(index: Map<string, Set<string>>, k: string, key: string): void {
  const keys = index.get(k);
  if (keys) keys.add(key);
  else index.set(k, new Set([key]));
}

function removeFrom(index: Map<string, Set<string>>, k: string, key: string): void {
  const keys = index.get(k);
  if (!keys?.delete(key) || keys.size > 0) return;
  index.delete(k);
}
