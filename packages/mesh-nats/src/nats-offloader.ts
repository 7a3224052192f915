import type { Subscription } from '@nats-io/transport-node';
import { EparaError, isEparaError } from '@epara/core';
import type { AbortSignalLike, NamedTensors, ServerId, ServiceId } from '@epara/core';
import { ForwardAttempt } from './nats-forward-attempt.js';
import type { AttemptOutcome } from './nats-forward-attempt.js';
import { NatsOffloadServer } from './nats-offload-server.js';
import { resolveNatsOffloaderOptions } from './nats-offload-options.js';
import type { NatsOffloaderOptions, ResolvedNatsOffloaderOptions } from './nats-offload-options.js';
import { randomToken } from './nats-transport-options.js';
import type { Offloader, OffloadForwardOptions } from '@epara/mesh';

/** Options of {@link NatsOffloader.forward}: the same budget, hop and visited semantics as ring mode. */
export type NatsForwardOptions = OffloadForwardOptions;

/** A request delivered back to its own sender (it is a queue-group member too) is not a hop; at most this many. */
const MAX_SELF_BOUNCES = 4;

/** Counters of a {@link NatsOffloader}. */
export interface NatsOffloaderStats {
  readonly forwarded: number;
  readonly retried: number;
  /**
   * Retries after an attempt that got no answer (no member answered in time, or the one that took it went
   * silent): that attempt was cancelled, but a member may have run it anyway. Forwards run at least once:
   * runs beyond the first number at most this.
   */
  readonly retriedUnanswered: number;
  readonly served: number;
  readonly declined: number;
}

/**
 * Offloading over NATS queue groups. `serve(ids)` makes this server one of the queue-group members of each
 * service; `forward(...)` sends a request to whichever member the broker picks, and keeps it safe: every
 * attempt is one hop (hop limit and visited list as in ring mode, the deadline travelling as a budget); a
 * member that declines is added to `visited` and another is tried; a member that goes silent (no answer
 * within `acceptTimeoutMs`, or its progress reports stop for `deadAfterMs`: it died) is presumed dead and the
 * request is retried elsewhere while its deadline allows, else rejected with a code. Every forward settles.
 */
export class NatsOffloader implements Offloader {
  readonly #o: ResolvedNatsOffloaderOptions;
  readonly #server: NatsOffloadServer;
  readonly #inbox: string;
  readonly #pending = new Map<string, ForwardAttempt>();
  #inboxSub: Subscription | undefined;
  #nextId = 0;
  #closed = false;
  #forwarded = 0;
  #retried = 0;
  #retriedUnanswered = 0;

  constructor(o: ResolvedNatsOffloaderOptions) {
    this.#o = o;
    this.#inbox = `_EPARA_OFF.${randomToken()}`;
    this.#server = new NatsOffloadServer(o);
  }

  /**
   * Serves these services from the local executor (joins their queue groups). Resolves once the broker has
   * the subscriptions, so a request sent after it can reach this server (at once with an aborted `signal`, which
   * makes it not wait for the broker).
   *
   * While the client is disconnected (the broker down or restarting) it rejects at once, and a broker that does
   * not confirm within `serveTimeoutMs` makes it reject then: the subscriptions stay with the client, which sends
   * them again when it reconnects, so this server serves once the broker is back (calling `serve` again then
   * confirms it). Before, it waited for the broker however long it was away, and a node's `start()` with it.
   *
   * @throws EparaError `CLOSED` after `close()` or on a closed NATS connection, `PEER_UNAVAILABLE` when the
   * broker refused the subscriptions, the client is disconnected (`details.cause: 'DISCONNECTED'`) or the broker
   * did not confirm in time (`details.cause: 'TIMEOUT'`).
   */
  async serve(serviceIds: readonly ServiceId[], { signal }: { signal?: AbortSignalLike } = {}): Promise<void> {
    if (this.#closed) throw new EparaError('CLOSED', 'offloader is closed');
    try {
      this.#server.serve(serviceIds);
    } catch (err) {
      throw connectionError(this.#o, err);
    }
    if (!signal?.aborted) await this.#confirmed(serviceIds, signal);
  }

  /**
   * Resolves once the broker answered a ping sent after the subscriptions (it read them first): `rtt()` refuses at
   * once while the client is disconnected, where a flush waited for the next reconnect. Bounded by
   * `serveTimeoutMs` (a broker that hangs); an abort of `signal` stops the wait.
   */
  #confirmed(serviceIds: readonly ServiceId[], signal: AbortSignalLike | undefined): Promise<void> {
    const nc = this.#o.connection;
    return new Promise<void>((resolve, reject) => {
      const finish = (err?: EparaError): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onAbort = (): void => finish();
      const timer = setTimeout(
        () => finish(new EparaError('PEER_UNAVAILABLE', `the NATS broker did not confirm the subscriptions within ${this.#o.serveTimeoutMs} ms; served once it does`, { services: [...serviceIds], cause: 'TIMEOUT' })),
        this.#o.serveTimeoutMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      nc.rtt().then(
        () => finish(),
        (err: unknown) => {
          const e = connectionError(this.#o, err);
          finish(e.code === 'CLOSED' ? e : new EparaError('PEER_UNAVAILABLE', `NATS is disconnected: served once the client reconnects (${e.message})`, { services: [...serviceIds], cause: 'DISCONNECTED' }, { cause: err }));
        },
      );
    });
  }

  /** Leaves these services' queue groups (e.g. after placement unloaded them). */
  unserve(serviceIds: readonly ServiceId[]): void {
    this.#server.unserve(serviceIds);
  }

  stats(): NatsOffloaderStats {
    return { forwarded: this.#forwarded, retried: this.#retried, retriedUnanswered: this.#retriedUnanswered, served: this.#server.served, declined: this.#server.declined };
  }

  /**
   * Runs a request on another server that serves `serviceId`.
   *
   * @throws EparaError with the serving side's code (`MODEL_ERROR`, `DEADLINE_EXCEEDED`…), or `NO_INSTANCE`
   * (nobody serves it), `OVERLOADED` (every member tried declined), `HOP_LIMIT`, `DEADLINE_INFEASIBLE` (no
   * time left to retry), `DEADLINE_EXCEEDED` (a retry due after the deadline), `PEER_UNAVAILABLE` (members died), `ABORTED`, `CLOSED` (this offloader or its NATS
   * connection is closed).
   */
  async forward(serviceId: ServiceId, inputs: NamedTensors, options: NatsForwardOptions): Promise<NamedTensors> {
    const o = this.#o;
    let hops = options.hops ?? 0;
    const visited = [...(options.visited ?? [])];
    if (!visited.includes(o.selfId)) visited.push(o.selfId);
    let last: EparaError | undefined;
    let unanswered = false;
    let selfBounces = 0;
    let attempts = 0;
    for (;;) {
      if (this.#closed) throw new EparaError('CLOSED', 'offloader is closed');
      if (options.signal?.aborted) throw new EparaError('ABORTED', 'aborted before forwarding');
      // Past the deadline a retry ends as late, whatever the last member said (`OVERLOADED` from one that
      // declined, with the hop limit reached, hid that the caller's time ran out).
      const left = options.deadline - o.clock.now();
      if (left <= 0 && last) throw new EparaError('DEADLINE_EXCEEDED', 'the deadline passed before another member could take the request', { serviceId, after: last.code });
      if (hops >= o.hopLimit) throw last ?? new EparaError('HOP_LIMIT', `request already took ${hops} hops`, { serviceId });
      if (left <= o.guardMs) {
        throw new EparaError('DEADLINE_INFEASIBLE', `no time left to ${last ? 'retry' : 'forward'}`, { serviceId, ...(last ? { after: last.code } : {}) });
      }
      hops++;
      if (last) this.#retried++;
      if (unanswered) this.#retriedUnanswered++;
      this.#forwarded++;
      options.onAttempt?.({ hops, retry: attempts++ > 0, ...(unanswered ? { unanswered } : {}) });
      const out = await this.#attempt(serviceId, inputs, { deadline: options.deadline, hops, visited, signal: options.signal });
      if (out.kind === 'result') return out.outputs;
      if (out.kind === 'error') throw out.error;
      unanswered = out.unanswered;
      if (out.server === o.selfId && selfBounces++ < MAX_SELF_BOUNCES) hops--; // the broker picked this server: no hop taken
      else last = out.error;
      if (out.server !== undefined && !visited.includes(out.server)) visited.push(out.server);
    }
  }

  /**
   * Stops taking requests (leaves every queue group, so the other members take them; one that still arrives is
   * declined `CLOSED` and retried elsewhere at once) and resolves once the requests running here are answered.
   * Forwarding goes on until {@link close}. A node's `drain()` calls it.
   */
  drain(): Promise<void> {
    return this.#server.drain();
  }

  /** Stops serving and rejects every forward in flight with `CLOSED`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close();
    this.#inboxSub?.unsubscribe();
    for (const attempt of [...this.#pending.values()]) attempt.close();
  }

  #attempt(serviceId: ServiceId, inputs: NamedTensors, a: { deadline: number; hops: number; visited: readonly ServerId[]; signal?: AbortSignalLike | undefined }): Promise<AttemptOutcome> {
    try {
      this.#inboxSub ??= this.#o.connection.subscribe(`${this.#inbox}.*`, { callback: (_e, msg) => this.#pending.get(msg.subject)?.onMessage(msg) });
    } catch (err) {
      return Promise.resolve({ kind: 'error', error: connectionError(this.#o, err) });
    }
    const requestId = ++this.#nextId;
    const reply = `${this.#inbox}.${requestId}`;
    const attempt = new ForwardAttempt(this.#o, { serviceId, inputs, requestId, reply, ...a }, () => this.#pending.delete(reply));
    this.#pending.set(reply, attempt);
    attempt.start();
    return attempt.outcome;
  }
}

/** A NATS client failure as a typed error: `CLOSED` once the connection is closed for good, else `PEER_UNAVAILABLE`. */
function connectionError(o: ResolvedNatsOffloaderOptions, err: unknown): EparaError {
  if (isEparaError(err)) return err;
  const code = o.connection.isClosed() ? 'CLOSED' : 'PEER_UNAVAILABLE';
  return new EparaError(code, `NATS: ${(err as Error)?.message ?? String(err)}`, {}, { cause: err });
}

/**
 * Creates a {@link NatsOffloader}. Constructing does no I/O.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field and value.
 * @example
 * ```ts
 * const offloader = createNatsOffloader({ connection: nc, selfId: 'edge-1', executor });
 * offloader.serve(['ocr-det']);
 * const outputs = await offloader.forward('ocr-det', inputs, { deadline: Date.now() + 200 });
 * ```
 */
export function createNatsOffloader(options: NatsOffloaderOptions): NatsOffloader {
  return new NatsOffloader(resolveNatsOffloaderOptions(options));
}
