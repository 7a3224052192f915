import type { Msg } from '@nats-io/transport-node';
import { EparaError, toEparaError } from '@epara/core';
import type { AbortSignalLike, NamedTensors, ServerId, ServiceId } from '@epara/core';
import { decodeFrame, encodeFrame } from '@epara/mesh/wire';
import { OFFLOAD_HEADERS, serviceSubject } from './nats-offload-server.js';
import type { ResolvedNatsOffloaderOptions } from './nats-offload-options.js';

/** How one attempt ended: an answer, a final error, or a reason to try another member. */
export type AttemptOutcome =
  | { readonly kind: 'result'; readonly outputs: NamedTensors }
  | { readonly kind: 'error'; readonly error: EparaError }
  /** `unanswered`: no answer came (silence, or one that could not be read): the member may have run it. */
  | { readonly kind: 'retry'; readonly server: ServerId | undefined; readonly error: EparaError; readonly unanswered: boolean };

/** What one attempt sends. */
export interface AttemptRequest {
  readonly serviceId: ServiceId;
  readonly inputs: NamedTensors;
  readonly requestId: number;
  /** The reply subject unique to this attempt. */
  readonly reply: string;
  readonly deadline: number;
  readonly hops: number;
  readonly visited: readonly ServerId[];
  readonly signal?: AbortSignalLike | undefined;
}

/** Failures of a member that are worth another member's try. */
const RETRYABLE = new Set(['PEER_UNAVAILABLE', 'CLOSED', 'OVERLOADED', 'NO_INSTANCE', 'UNAUTHENTICATED', 'RATE_LIMITED']);

/**
 * One hop of a queue-group forward: publishes the `submit` frame and turns what comes back (or does not)
 * into an {@link AttemptOutcome}. Silence is bounded twice: no answer within `acceptTimeoutMs` means no live
 * member took it; after progress, `deadAfterMs` without more means the member died — and never past the
 * deadline + `deadAfterMs`. An attempt given up for silence is cancelled (broadcast) before the sender retries, so a
 * member that did take it aborts it. Settles exactly once.
 */
export class ForwardAttempt {
  readonly outcome: Promise<AttemptOutcome>;
  readonly #o: ResolvedNatsOffloaderOptions;
  readonly #r: AttemptRequest;
  #resolve!: (out: AttemptOutcome) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #server: ServerId | undefined;
  #settled = false;

  constructor(o: ResolvedNatsOffloaderOptions, request: AttemptRequest, onSettled: () => void) {
    this.#o = o;
    this.#r = request;
    this.outcome = new Promise<AttemptOutcome>((resolve) => (this.#resolve = resolve)).finally(onSettled);
  }

  /** Encodes and publishes; the outcome settles later (or now, for a request that cannot be sent). */
  start(): void {
    const { serviceId, signal } = this.#r;
    const nc = this.#o.connection;
    let frame: Uint8Array;
    try {
      frame = this.#encode();
    } catch (err) {
      return this.#finish({ kind: 'error', error: toEparaError(err, 'INVALID_INPUT') });
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#arm(Math.min(this.#o.acceptTimeoutMs, this.#remaining()), this.#onUnanswered);
    try {
      nc.publish(serviceSubject(this.#o.subjectPrefix, serviceId), frame, { reply: this.#r.reply });
    } catch (err) {
      this.#finish({ kind: 'error', error: new EparaError('PEER_UNAVAILABLE', `NATS publish failed: ${(err as Error).message}`, {}, { cause: err }) });
    }
  }

  /** A message arrived on this attempt's reply subject. */
  onMessage(msg: Msg): void {
    const h = msg.headers;
    if (h?.code === 503) return this.#finish({ kind: 'error', error: new EparaError('NO_INSTANCE', `no server serves ${this.#r.serviceId}`, { serviceId: this.#r.serviceId }) });
    const kind = h?.get(OFFLOAD_HEADERS.kind);
    const server = h?.get(OFFLOAD_HEADERS.server) || this.#server;
    if (kind === 'progress') {
      this.#server = server;
      return this.#arm(Math.min(this.#o.deadAfterMs, this.#remaining() + this.#o.deadAfterMs), this.#onSilent);
    }
    if (kind === 'declined') {
      const code = (h?.get(OFFLOAD_HEADERS.code) || 'OVERLOADED') as EparaError['code'];
      return this.#finish({ kind: 'retry', server, error: new EparaError(code, h?.get(OFFLOAD_HEADERS.reason) || 'declined', { serviceId: this.#r.serviceId }), unanswered: false });
    }
    if (kind === 'done') this.#finish(this.#decode(msg, server));
  }

  /** The offloader closed. */
  close(): void {
    this.#finish({ kind: 'error', error: new EparaError('CLOSED', 'offloader closed with the request in flight') });
  }

  #encode(): Uint8Array {
    const { requestId, serviceId, hops, visited, inputs } = this.#r;
    const frame = encodeFrame({ type: 'submit', requestId, serviceId, budgetMs: this.#remaining(), hops, maxHops: this.#o.hopLimit, visited, priority: 0, inputs }, this.#o.limits);
    const max = this.#o.connection.info?.max_payload ?? Infinity;
    if (frame.byteLength > max) throw new EparaError('PROTOCOL_ERROR', `a ${frame.byteLength}-byte request exceeds the broker's max_payload ${max}`);
    return frame;
  }

  #decode(msg: Msg, server: ServerId | undefined): AttemptOutcome {
    try {
      const m = decodeFrame(new Uint8Array(msg.data), this.#o.limits); // own the bytes: outputs are views into them
      if (m.type === 'result') return { kind: 'result', outputs: m.outputs };
      if (m.type !== 'error') throw new EparaError('PROTOCOL_ERROR', `unexpected ${m.type} answer`);
      return RETRYABLE.has(m.error.code) ? { kind: 'retry', server, error: m.error, unanswered: false } : { kind: 'error', error: m.error };
    } catch (err) {
      return { kind: 'retry', server, error: toEparaError(err, 'PROTOCOL_ERROR'), unanswered: true };
    }
  }

  readonly #onAbort = (): void => {
    this.#cancel();
    this.#finish({ kind: 'error', error: new EparaError('ABORTED', 'aborted while offloaded', { server: this.#server }) });
  };

  /**
   * No answer in time: most likely nobody took the request, but a member may have taken it and be slow to say
   * so (a slow link, a stalled event loop). The request is retried elsewhere, so cancel this attempt first: a
   * member running it aborts it instead of running it a second time beside the retry, and its late answer goes
   * to a reply subject nobody reads any more (the caller gets one result).
   */
  readonly #onUnanswered = (): void => {
    this.#cancel();
    this.#finish({ kind: 'retry', server: undefined, error: new EparaError('PEER_UNAVAILABLE', `no server answered within ${this.#o.acceptTimeoutMs} ms`), unanswered: true });
  };

  readonly #onSilent = (): void => {
    const server = this.#server;
    this.#cancel();
    if (this.#remaining() <= 0) {
      return this.#finish({ kind: 'error', error: new EparaError('DEADLINE_EXCEEDED', `server ${server} did not answer before the deadline`, { server }) });
    }
    this.#finish({ kind: 'retry', server, error: new EparaError('PEER_UNAVAILABLE', `server ${server} went silent with the request`, { server }), unanswered: true });
  };

  /**
   * Cancels are broadcast: the member that runs the request aborts it. Best effort: it runs in timer and abort
   * callbacks, where a throw (a draining connection refuses publishes) would take the process down.
   */
  #cancel(): void {
    const nc = this.#o.connection;
    try {
      if (!nc.isClosed()) nc.publish(`${this.#o.subjectPrefix}.cancel`, new TextEncoder().encode(this.#r.reply));
    } catch (err) {
      this.#o.logger.debug({ err }, 'cancel not sent; the member finishes the request and its answer is dropped');
    }
  }

  #remaining(): number {
    return this.#r.deadline - this.#o.clock.now();
  }

  #arm(ms: number, fire: () => void): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(fire, Math.max(0, ms));
  }

  #finish(out: AttemptOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.#r.signal?.removeEventListener('abort', this.#onAbort);
    this.#resolve(out);
  }
}
