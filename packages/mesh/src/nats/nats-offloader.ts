import type { Msg, Subscription } from '@nats-io/transport-node';
import { EparaError, toEparaError } from '@epara/core';
import type { AbortSignalLike, NamedTensors, ServerId, ServiceId } from '@epara/core';
import { decodeFrame, encodeFrame } from '../protocol/frame-codec.js';
import { NatsOffloadServer, OFFLOAD_HEADERS, serviceSubject } from './nats-offload-server.js';
import { resolveNatsOffloaderOptions } from './nats-offload-options.js';
import type { NatsOffloaderOptions, ResolvedNatsOffloaderOptions } from './nats-offload-options.js';
import { randomToken } from './nats-transport-options.js';

/** Options of {@link NatsOffloader.forward}: the same budget, hop and visited semantics as ring mode. */
export interface NatsForwardOptions {
  /** Absolute deadline, this server's clock (the wire carries the remaining budget). */
  readonly deadline: number;
  /** Forwards this request already took. @default 0 */
  readonly hops?: number;
  /** Servers that already saw it (this server is added). @default [] */
  readonly visited?: readonly ServerId[];
  readonly signal?: AbortSignalLike;
}

/** Counters of a {@link NatsOffloader}. */
export interface NatsOffloaderStats {
  readonly forwarded: number;
  readonly retried: number;
  readonly served: number;
  readonly declined: number;
}

type Outcome =
  | { readonly kind: 'result'; readonly outputs: NamedTensors }
  | { readonly kind: 'error'; readonly error: EparaError }
  | { readonly kind: 'retry'; readonly server: ServerId | undefined; readonly error: EparaError };

/** Failures of a server that are worth another server's try. */
const RETRYABLE = new Set(['PEER_UNAVAILABLE', 'CLOSED', 'OVERLOADED', 'NO_INSTANCE', 'UNAUTHENTICATED', 'RATE_LIMITED']);

/**
 * Offloading over NATS queue groups. `serve(ids)` makes this server one of the queue-group members of each
 * service; `forward(...)` sends a request to whichever member the broker picks, and keeps it safe: every
 * attempt is one hop (hop limit and visited list as in ring mode, the deadline travelling as a budget); a
 * member that declines is added to `visited` and another is tried; a member that goes silent (no answer
 * within `acceptTimeoutMs`, or its progress reports stop for `deadAfterMs`: it died) is presumed dead and the
 * request is retried elsewhere while its deadline allows, else rejected with a code. Every forward settles.
 */
export class NatsOffloader {
  readonly #o: ResolvedNatsOffloaderOptions;
  readonly #server: NatsOffloadServer;
  readonly #inbox: string;
  readonly #pending = new Map<string, (msg: Msg) => void>();
  #inboxSub: Subscription | undefined;
  #nextId = 0;
  #closed = false;
  #forwarded = 0;
  #retried = 0;

  constructor(o: ResolvedNatsOffloaderOptions) {
    this.#o = o;
    this.#inbox = `_EPARA_OFF.${randomToken()}`;
    this.#server = new NatsOffloadServer(o);
  }

  /** Serves these services from the local executor (joins their queue groups). */
  serve(serviceIds: readonly ServiceId[]): void {
    if (this.#closed) throw new EparaError('CLOSED', 'offloader is closed');
    this.#server.serve(serviceIds);
  }

  /** Leaves these services' queue groups (e.g. after placement unloaded them). */
  unserve(serviceIds: readonly ServiceId[]): void {
    this.#server.unserve(serviceIds);
  }

  stats(): NatsOffloaderStats {
    return { forwarded: this.#forwarded, retried: this.#retried, served: this.#server.served, declined: this.#server.declined };
  }

  /**
   * Runs a request on another server that serves `serviceId`.
   *
   * @throws EparaError with the serving side's code (`MODEL_ERROR`, `DEADLINE_EXCEEDED`…), or `NO_INSTANCE`
   * (nobody serves it), `OVERLOADED` (every member tried declined), `HOP_LIMIT`, `DEADLINE_INFEASIBLE` (no
   * time left to retry), `PEER_UNAVAILABLE` (members died), `ABORTED`, `CLOSED`.
   */
  async forward(serviceId: ServiceId, inputs: NamedTensors, options: NatsForwardOptions): Promise<NamedTensors> {
    const o = this.#o;
    let hops = options.hops ?? 0;
    const visited = [...(options.visited ?? [])];
    if (!visited.includes(o.selfId)) visited.push(o.selfId);
    let last: EparaError | undefined;
    for (;;) {
      if (this.#closed) throw new EparaError('CLOSED', 'offloader is closed');
      if (options.signal?.aborted) throw new EparaError('ABORTED', 'aborted before forwarding');
      if (hops >= o.hopLimit) throw last ?? new EparaError('HOP_LIMIT', `request already took ${hops} hops`, { serviceId });
      if (options.deadline - o.clock.now() <= o.guardMs) {
        throw new EparaError('DEADLINE_INFEASIBLE', `no time left to ${last ? 'retry' : 'forward'}`, { serviceId, ...(last ? { after: last.code } : {}) });
      }
      hops++;
      if (last) this.#retried++;
      this.#forwarded++;
      const out = await this.#attempt(serviceId, inputs, { deadline: options.deadline, hops, visited, signal: options.signal });
      if (out.kind === 'result') return out.outputs;
      if (out.kind === 'error') throw out.error;
      last = out.error;
      if (out.server !== undefined && !visited.includes(out.server)) visited.push(out.server);
    }
  }

  /** Stops serving and rejects every forward in flight with `CLOSED`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close();
    this.#inboxSub?.unsubscribe();
    for (const settle of [...this.#pending.values()]) settle(closedMsg);
  }

  #attempt(serviceId: ServiceId, inputs: NamedTensors, a: { deadline: number; hops: number; visited: readonly ServerId[]; signal?: AbortSignalLike | undefined }): Promise<Outcome> {
    const o = this.#o;
    const nc = o.connection;
    this.#inboxSub ??= nc.subscribe(`${this.#inbox}.*`, { callback: (_e, msg) => this.#pending.get(msg.subject)?.(msg) });
    const requestId = ++this.#nextId;
    const reply = `${this.#inbox}.${requestId}`;
    const remaining = (): number => a.deadline - o.clock.now();
    return new Promise<Outcome>((resolve) => {
      let server: ServerId | undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const arm = (ms: number, fire: () => void): void => {
        clearTimeout(timer);
        timer = setTimeout(fire, Math.max(0, ms));
      };
      const finish = (out: Outcome): void => {
        clearTimeout(timer);
        this.#pending.delete(reply);
        a.signal?.removeEventListener('abort', onAbort);
        resolve(out);
      };
      const cancel = (): void => {
        if (!nc.isClosed()) nc.publish(`${o.subjectPrefix}.cancel`, new TextEncoder().encode(reply));
      };
      const onAbort = (): void => (cancel(), finish({ kind: 'error', error: new EparaError('ABORTED', 'aborted while offloaded', { server }) }));
      const onSilent = (): void => {
        if (remaining() <= 0) return cancel(), finish({ kind: 'error', error: new EparaError('DEADLINE_EXCEEDED', `server ${server} did not answer before the deadline`, { server }) });
        cancel();
        finish({ kind: 'retry', server, error: new EparaError('PEER_UNAVAILABLE', `server ${server ?? '(none)'} went silent with the request`, { server }) });
      };
      const onMessage = (msg: Msg): void => {
        if (msg === closedMsg) return finish({ kind: 'error', error: new EparaError('CLOSED', 'offloader closed with the request in flight') });
        const h = msg.headers;
        if (h?.code === 503) return finish({ kind: 'error', error: new EparaError('NO_INSTANCE', `no server serves ${serviceId}`, { serviceId }) });
        const kind = h?.get(OFFLOAD_HEADERS.kind);
        if (kind === 'progress') {
          server = h?.get(OFFLOAD_HEADERS.server) || server;
          return arm(Math.min(o.deadAfterMs, remaining() + o.deadAfterMs), onSilent);
        }
        if (kind === 'declined') {
          const code = (h?.get(OFFLOAD_HEADERS.code) || 'OVERLOADED') as EparaError['code'];
          return finish({ kind: 'retry', server: h?.get(OFFLOAD_HEADERS.server) || undefined, error: new EparaError(code, h?.get(OFFLOAD_HEADERS.reason) || 'declined', { serviceId }) });
        }
        if (kind === 'done') return finish(this.#outcome(msg, h?.get(OFFLOAD_HEADERS.server) || server));
      };
      let frame: Uint8Array;
      try {
        frame = encodeFrame({ type: 'submit', requestId, serviceId, budgetMs: remaining(), hops: a.hops, maxHops: o.hopLimit, visited: a.visited, priority: 0, inputs }, o.limits);
        const max = nc.info?.max_payload ?? Infinity;
        if (frame.byteLength > max) throw new EparaError('PROTOCOL_ERROR', `a ${frame.byteLength}-byte request exceeds the broker's max_payload ${max}`);
      } catch (err) {
        return resolve({ kind: 'error', error: toEparaError(err, 'INVALID_INPUT') });
      }
      this.#pending.set(reply, onMessage);
      a.signal?.addEventListener('abort', onAbort, { once: true });
      // Nobody took it in time: the broker gave it to a member that is gone or stuck.
      arm(Math.min(o.acceptTimeoutMs, remaining()), () => finish({ kind: 'retry', server: undefined, error: new EparaError('PEER_UNAVAILABLE', `no server took the request within ${o.acceptTimeoutMs} ms`) }));
      try {
        nc.publish(serviceSubject(o.subjectPrefix, serviceId), frame, { reply });
      } catch (err) {
        finish({ kind: 'error', error: new EparaError('PEER_UNAVAILABLE', `NATS publish failed: ${(err as Error).message}`, {}, { cause: err }) });
      }
    });
  }

  #outcome(msg: Msg, server: ServerId | undefined): Outcome {
    try {
      const m = decodeFrame(new Uint8Array(msg.data), this.#o.limits); // own the bytes: outputs are views into them
      if (m.type === 'result') return { kind: 'result', outputs: m.outputs };
      if (m.type !== 'error') throw new EparaError('PROTOCOL_ERROR', `unexpected ${m.type} answer`);
      return RETRYABLE.has(m.error.code) ? { kind: 'retry', server, error: m.error } : { kind: 'error', error: m.error };
    } catch (err) {
      return { kind: 'retry', server, error: toEparaError(err, 'PROTOCOL_ERROR') };
    }
  }
}

const closedMsg = {} as Msg;

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
