import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { headers } from '@nats-io/transport-node';
import { EparaError, toEparaError } from '@epara/core';
import type { ServiceId } from '@epara/core';
import { decodeFrame, encodeFrame } from '@epara/mesh/wire';
import type { WireMessage } from '@epara/mesh/wire';
import type { ResolvedNatsOffloaderOptions } from './nats-offload-options.js';

/** Reply subjects remembered as answered, per member: the most recent this many. */
export const ANSWERED_KEPT = 4096;

/** Cancels of requests that had not arrived, remembered per member: the most recent this many. */
export const EARLY_CANCELS_KEPT = 1024;

/** Requests started per turn of the event loop; the rest of a burst waits its turn (see {@link NatsOffloadServer}). */
export const STARTS_PER_TURN = 64;

/** Requests waiting for a turn, at most; past this, requests are declined `OVERLOADED` at once. */
export const WAITING_KEPT = 1024;

/** Bytes of the requests waiting for a turn, at most (the same refusal past it). */
export const WAITING_BYTES_KEPT = 64 * 1024 * 1024;

/** Header names of the offload control replies (the payload of `done` is a protocol frame). */
export const OFFLOAD_HEADERS = { kind: 'Epara-Kind', server: 'Epara-Server', code: 'Epara-Code', reason: 'Epara-Reason' } as const;

/** The subject a service is served on (hex-encoded when the id is not subject-safe). */
export function serviceSubject(prefix: string, serviceId: ServiceId): string {
  return `${prefix}.svc.${/^[A-Za-z0-9_-]+$/.test(serviceId) ? serviceId : `=${Buffer.from(serviceId).toString('hex')}`}`;
}

/**
 * The serving half of NATS offloading: one queue-group subscription per served service, so the broker hands
 * each request to exactly one server hosting it. A request is taken (`progress` every interval while it
 * runs — none for a quick one —, then `done` with a result or typed error frame) only if the local executor
 * can meet its deadline;
 * otherwise it is `declined` at once with the reason, and the sender tries another server. A request that
 * names this server in `visited` is always declined (never served twice).
 *
 * A flood on the service subjects is sliced and bounded: at most {@link STARTS_PER_TURN} requests are read and
 * started per turn of the event loop, the rest wait in arrival order (their deadlines counted from their arrival,
 * a cancel reaching them there), and past {@link WAITING_KEPT} waiting (or {@link WAITING_BYTES_KEPT}) a request is
 * declined `OVERLOADED` at once —
 * the member's own work (its host's submits, the executor's timers) runs between the slices.
 */
export class NatsOffloadServer {
  readonly #o: ResolvedNatsOffloaderOptions;
  readonly #nc: NatsConnection;
  readonly #subs = new Map<ServiceId, Subscription>();
  /** The requests running here, by reply subject (each attempt of a sender has its own). */
  readonly #running = new Map<string, AbortController>();
  /**
   * The reply subjects of the last {@link ANSWERED_KEPT} requests this member answered (or had cancelled), oldest
   * first: a copy of one of them arriving later is not run again.
   */
  readonly #answered = new Set<string>();
  /**
   * The reply subjects of the last {@link EARLY_CANCELS_KEPT} cancels that found no request here, oldest first: the
   * request may still be on its way (cancels are broadcast on another subject, and a sender that heard nothing
   * within `acceptTimeoutMs` cancels before it retries), and is not run when it comes — its sender gave it up.
   */
  readonly #earlyCancels = new Set<string>();
  /** Resolved once nothing runs here ({@link drain}). */
  readonly #idleWaiters = new Set<() => void>();
  #draining = false;
  /** Requests waiting for a turn, oldest first, by reply subject (arrival order is the map's). */
  readonly #waiting = new Map<string, { readonly serviceId: ServiceId; readonly msg: Msg; readonly arrivedAt: number }>();
  #waitingBytes = 0;
  #startsLeft = STARTS_PER_TURN;
  #turnArmed = false;
  readonly #cancelSubject: string;
  #cancelSub: Subscription | undefined;
  served = 0;
  declined = 0;

  constructor(o: ResolvedNatsOffloaderOptions) {
    this.#o = o;
    this.#nc = o.connection;
    // Cancels are broadcast (rare): the sender may abort before it learns which member took the request.
    this.#cancelSubject = `${o.subjectPrefix}.cancel`;
  }

  /** Starts serving these services (idempotent per service). */
  serve(serviceIds: readonly ServiceId[]): void {
    this.#cancelSub ??= this.#nc.subscribe(this.#cancelSubject, { callback: (_e, msg) => this.#onCancel(new TextDecoder().decode(msg.data)) });
    for (const id of serviceIds) {
      if (this.#subs.has(id)) continue;
      const subject = serviceSubject(this.#o.subjectPrefix, id);
      this.#subs.set(id, this.#nc.subscribe(subject, { queue: subject, callback: (err, msg) => (err ? undefined : this.#onRequest(id, msg)) }));
    }
  }

  /** Stops serving these services (requests already taken finish). */
  unserve(serviceIds: readonly ServiceId[]): void {
    for (const id of serviceIds) {
      this.#subs.get(id)?.unsubscribe();
      this.#subs.delete(id);
    }
  }

  /**
   * Stops taking requests (leaves every queue group: the broker hands them to the other members) and resolves once
   * the requests running here are answered. A request that still reaches it (sent before the broker saw it leave)
   * is declined `CLOSED`, which its sender retries on another member at once.
   */
  drain(): Promise<void> {
    this.#draining = true;
    // Drained, not unsubscribed: the requests already on their way to this member are still read (and declined),
    // where an unsubscribe drops them unanswered, each sender waiting out `acceptTimeoutMs` before a retry that
    // counts as unanswered.
    for (const [id, sub] of [...this.#subs]) {
      this.#subs.delete(id);
      sub.drain().catch((err: unknown) => this.#o.logger.debug({ err }, 'queue-group drain failed'));
    }
    if (this.#running.size === 0 && this.#waiting.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.add(resolve));
  }

  /** Services served now. */
  services(): ServiceId[] {
    return [...this.#subs.keys()];
  }

  /**
   * Stops serving. Each request running here is answered `CLOSED` — which its sender retries on another member at
   * once — and aborted. Before, it was aborted without a word, and its sender waited out `deadAfterMs` (or
   * `acceptTimeoutMs`) of silence before retrying, counting the retry as one that may have run twice.
   */
  close(): void {
    this.unserve([...this.#subs.keys()]);
    this.#cancelSub?.unsubscribe();
    for (const reply of [...this.#waiting.keys()]) {
      this.#waiting.delete(reply);
      this.#decline(reply, 'CLOSED', 'the serving member is shutting down');
    }
    this.#waitingBytes = 0;
    for (const [reply, c] of [...this.#running]) {
      this.#running.delete(reply);
      this.#done(reply, { type: 'error', error: new EparaError('CLOSED', 'the serving member is shutting down') });
      c.abort(new EparaError('CLOSED', 'server stopped serving'));
    }
    this.#idle();
  }

  #onCancel(reply: string): void {
    const running = this.#running.get(reply);
    if (running !== undefined) return running.abort();
    if (this.#answered.has(reply)) return;
    this.#earlyCancels.add(reply);
    if (this.#earlyCancels.size > EARLY_CANCELS_KEPT) this.#earlyCancels.delete(this.#earlyCancels.values().next().value!);
  }

  #onRequest(serviceId: ServiceId, msg: Msg): void {
    const reply = msg.reply;
    if (!reply || this.#waiting.has(reply)) return;
    const arrivedAt = this.#o.clock.now();
    if (this.#startsLeft > 0 && this.#waiting.size === 0) {
      this.#startsLeft--;
      this.#armTurn();
      return this.#start(serviceId, msg, reply, arrivedAt);
    }
    if (this.#running.has(reply) || this.#answered.has(reply)) return;
    if (this.#waiting.size >= WAITING_KEPT || this.#waitingBytes + msg.data.byteLength > WAITING_BYTES_KEPT) {
      return this.#decline(reply, 'OVERLOADED', `${this.#waiting.size} requests (${this.#waitingBytes} bytes) are waiting here`);
    }
    this.#waitingBytes += msg.data.byteLength;
    this.#waiting.set(reply, { serviceId, msg, arrivedAt });
    this.#armTurn();
  }

  /** Ends the turn at the next `setImmediate`: the starts are counted afresh, and waiting requests start. */
  #armTurn(): void {
    if (this.#turnArmed) return;
    this.#turnArmed = true;
    setImmediate(() => {
      this.#turnArmed = false;
      this.#startsLeft = STARTS_PER_TURN;
      for (const [reply, w] of this.#waiting) {
        if (this.#startsLeft === 0) break;
        this.#waiting.delete(reply);
        this.#waitingBytes -= w.msg.data.byteLength;
        this.#startsLeft--;
        this.#start(w.serviceId, w.msg, reply, w.arrivedAt);
      }
      if (this.#waiting.size > 0) this.#armTurn();
      else if (this.#running.size === 0) this.#idle();
    });
  }

  #start(serviceId: ServiceId, msg: Msg, reply: string, arrivedAt: number): void {
    // Its cancel came first: the sender settled it (or retried it elsewhere) already. Before, it ran here to its
    // end, beside the retry, for an answer nobody reads.
    if (this.#earlyCancels.delete(reply)) {
      this.#remember(reply);
      return this.#done(reply, { type: 'error', error: new EparaError('ABORTED', 'cancelled by the sender before the request arrived') });
    }
    // One run per reply subject: a copy of a request running or answered here (a submit delivered twice, a
    // sender that reuses a subject) is not run again. Before, the copy replaced the first in the running set —
    // a cancel then reached only the copy, and both answers went to the one subject, the sender taking
    // whichever came first (another request's answer, when a faulty sender gave two requests one subject).
    if (this.#running.has(reply) || this.#answered.has(reply)) return;
    let m: ReturnType<typeof decodeFrame>;
    try {
      m = decodeFrame(new Uint8Array(msg.data), this.#o.limits); // own the bytes: decoded tensors are views into them
      if (m.type !== 'submit' || m.serviceId !== serviceId) throw new EparaError('PROTOCOL_ERROR', `expected a submit for ${serviceId}`);
    } catch (err) {
      return this.#done(reply, { type: 'error', error: toEparaError(err, 'PROTOCOL_ERROR') });
    }
    const o = this.#o;
    const deadline = arrivedAt + Math.min(Math.max(0, m.budgetMs), o.maxBudgetMs);
    const estimate = o.executor.estimate(serviceId);
    if (m.visited.includes(o.selfId)) return this.#decline(reply, 'OVERLOADED', 'this server already saw the request');
    if (m.hops > m.maxHops) return this.#decline(reply, 'HOP_LIMIT', `hop ${m.hops} exceeds the limit ${m.maxHops}`);
    if (this.#draining) return this.#decline(reply, 'CLOSED', 'this server is draining');
    if (estimate === undefined || !estimate.ready) return this.#decline(reply, 'NO_INSTANCE', `no ready instance of ${serviceId} here`);
    if (estimate.completionAt > deadline - o.guardMs) return this.#decline(reply, 'OVERLOADED', `would finish ${Math.round(estimate.completionAt - deadline)} ms late here`);
    this.#accept(reply, serviceId, m.inputs, deadline);
  }

  #accept(reply: string, serviceId: ServiceId, inputs: Extract<WireMessage, { type: 'submit' }>['inputs'], deadline: number): void {
    const controller = new AbortController();
    this.#running.set(reply, controller);
    // No separate "accepted" message: a quick request costs one reply; a long one reports progress.
    const progress = setInterval(() => this.#control(reply, 'progress'), this.#o.progressIntervalMs);
    this.served++;
    this.#o.executor
      .submit(serviceId, inputs, { deadline, signal: controller.signal })
      .then(
        (outputs) => ({ type: 'result', outputs }) as const,
        (err: unknown) => ({ type: 'error', error: toEparaError(err) }) as const,
      )
      .then((message) => {
        clearInterval(progress);
        if (this.#running.get(reply) !== controller) return; // answered CLOSED by close()
        this.#running.delete(reply);
        this.#remember(reply);
        if (!controller.signal.aborted) this.#done(reply, message);
        if (this.#running.size === 0 && this.#waiting.size === 0) this.#idle();
      });
  }

  #idle(): void {
    for (const resolve of [...this.#idleWaiters]) resolve();
    this.#idleWaiters.clear();
  }

  #remember(reply: string): void {
    this.#answered.add(reply);
    if (this.#answered.size > ANSWERED_KEPT) this.#answered.delete(this.#answered.values().next().value!);
  }

  #decline(reply: string, code: EparaError['code'], reason: string): void {
    this.declined++;
    this.#control(reply, 'declined', { [OFFLOAD_HEADERS.code]: code, [OFFLOAD_HEADERS.reason]: reason });
  }

  #control(reply: string, kind: string, extra: Record<string, string> = {}): void {
    const h = headers();
    h.set(OFFLOAD_HEADERS.kind, kind);
    h.set(OFFLOAD_HEADERS.server, this.#o.selfId);
    for (const [k, v] of Object.entries(extra)) h.set(k, v);
    this.#publish(reply, new Uint8Array(0), h);
  }

  #done(reply: string, message: Extract<WireMessage, { type: 'result' | 'error' }>): void {
    let frame: Uint8Array;
    try {
      frame = encodeFrame(message, this.#o.limits);
      const max = this.#nc.info?.max_payload ?? Infinity;
      if (frame.byteLength > max) throw new EparaError('PROTOCOL_ERROR', `a ${frame.byteLength}-byte answer exceeds the broker's max_payload ${max}`);
    } catch (err) {
      frame = encodeFrame({ type: 'error', error: toEparaError(err) }, this.#o.limits);
    }
    const h = headers();
    h.set(OFFLOAD_HEADERS.kind, 'done');
    h.set(OFFLOAD_HEADERS.server, this.#o.selfId);
    this.#publish(reply, frame, h);
  }

  #publish(subject: string, data: Uint8Array, h: ReturnType<typeof headers>): void {
    try {
      this.#nc.publish(subject, data, { headers: h });
    } catch (err) {
      this.#o.logger.debug({ err }, 'offload reply failed; the sender will time out and retry');
    }
  }
}
