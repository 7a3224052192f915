import { EparaError } from '@epara/core';
import type { GatewayOptions, ResolvedGatewayOptions } from './gateway-options.js';
import { resolveGatewayOptions } from './gateway-options.js';
import { GrpcFront } from './grpc/grpc-server.js';
import { HttpFront } from './http/http-server.js';
import { InferCore } from './inference/infer-core.js';
import { loadGatewayTracing } from './protocol/request-trace.js';

/** Where a started gateway listens. */
export interface GatewayAddresses {
  /** e.g. `http://127.0.0.1:8000`; undefined when HTTP is off. */
  readonly http: string | undefined;
  /** e.g. `127.0.0.1:8001`; undefined when gRPC is off. */
  readonly grpc: string | undefined;
}

/**
 * The Open Inference Protocol v2 front door of a mesh node, over HTTP/REST and gRPC; create it with
 * {@link createGateway}. See `docs/gateway.md`.
 */
export class Gateway {
  readonly #o: ResolvedGatewayOptions;
  readonly #core: InferCore;
  readonly #http: HttpFront | undefined;
  readonly #grpc: GrpcFront | undefined;
  #addresses: GatewayAddresses = { http: undefined, grpc: undefined };
  #startP: Promise<GatewayAddresses> | undefined;
  #closeP: Promise<void> | undefined;

  constructor(o: ResolvedGatewayOptions) {
    this.#o = o;
    this.#core = new InferCore(o);
    this.#http = o.http ? new HttpFront(o, this.#core) : undefined;
    this.#grpc = o.grpc ? new GrpcFront(o, this.#core) : undefined;
  }

  /** The bound addresses (after {@link start}). */
  get addresses(): GatewayAddresses {
    return this.#addresses;
  }

  /** Ready: not draining and the host's readiness condition (joined, services loaded) holds. */
  get ready(): boolean {
    return this.#core.ready();
  }

  /** Requests accepted and not yet answered. */
  get inFlight(): number {
    return this.#core.inFlight;
  }

  /** HTTP inference requests accepted and answered so far (equal once drained: none was dropped). */
  stats(): { readonly inFlight: number; readonly httpAccepted: number; readonly httpAnswered: number } {
    const h = this.#http?.stats() ?? { accepted: 0, answered: 0 };
    return { inFlight: this.#core.inFlight, httpAccepted: h.accepted, httpAnswered: h.answered };
  }

  /**
   * Listens on the configured ports. Idempotent.
   * @throws EparaError `INVALID_OPTIONS` naming the port's field when an address cannot be listened on (in use, not
   * this host's, a privileged port); a front already listening is closed first.
   */
  start(): Promise<GatewayAddresses> {
    if (this.#closeP) return Promise.reject(new EparaError('CLOSED', 'gateway is closed'));
    this.#startP ??= (async () => {
      const { http, grpc } = this.#o;
      await loadGatewayTracing();
      const httpPort = http && this.#http ? await listenOn('http', http, (h, p) => this.#http!.listen(h, p)) : undefined;
      const grpcPort = grpc && this.#grpc ? await listenOn('grpc', grpc, (h, p) => this.#grpc!.listen(h, p)).catch(async (err: unknown) => {
        await this.#http?.close();
        throw err;
      }) : undefined;
      const host = (h: string): string => (h.includes(':') ? `[${h}]` : h);
      this.#addresses = {
        http: http && httpPort !== undefined ? `http://${host(http.host)}:${httpPort}` : undefined,
        grpc: grpc && grpcPort !== undefined ? `${host(grpc.host)}:${grpcPort}` : undefined,
      };
      return this.#addresses;
    })();
    return this.#startP;
  }

  /**
   * Reports not-ready at once, answers new inference requests `503`/`UNAVAILABLE` (retryable, with
   * `Retry-After`) and resolves when the requests in flight have been answered or `timeoutMs` passed. Health
   * and metadata keep answering until {@link close}. `timeoutMs` defaults to `drainTimeoutMs`; `Infinity` (or any
   * wait longer than a timer takes, 2^31 - 1 ms) waits until they are answered.
   * @throws EparaError `INVALID_OPTIONS` (rejected) for a `timeoutMs` that is not a number >= 0.
   */
  drain(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    return this.#core.drain(options.timeoutMs ?? this.#o.drainTimeoutMs);
  }

  /** Stops listening and closes open connections. Idempotent. */
  close(): Promise<void> {
    this.#closeP ??= (async () => {
      await this.#startP?.catch(() => undefined);
      await Promise.all([this.#http?.close(), this.#grpc?.close()]);
    })();
    return this.#closeP;
  }
}

/** Listens one front on its address; a failure (`EADDRINUSE`, `EACCES`…) is `INVALID_OPTIONS` naming the field. */
async function listenOn(field: 'http' | 'grpc', at: { readonly host: string; readonly port: number }, listen: (host: string, port: number) => Promise<number>): Promise<number> {
  try {
    return await listen(at.host, at.port);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const what = field === 'http' ? 'HTTP' : 'gRPC';
    throw new EparaError('INVALID_OPTIONS', `cannot listen for ${what} on ${at.host}:${at.port} (${field}.port): ${e.message}`, { field: `${field}.port`, value: at.port, ...(e.code !== undefined ? { errno: e.code } : {}) }, { cause: err });
  }
}

/**
 * Creates a gateway over a mesh node. Nothing listens until `start()`.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field.
 * @example
 * ```ts
 * import { createGateway } from '@epara/gateway';
 * const gateway = createGateway({
 *   node,                                       // @epara/mesh createNode(...), started
 *   models: [{ name: 'cls', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3, 48, 192] }],
 *              outputs: [{ name: 'softmax_0.tmp_0', datatype: 'FP32', shape: [-1, 2] }] }],
 *   http: { port: 8000 }, grpc: { port: 8001 },
 * });
 * const { http } = await gateway.start();      // POST `${http}/v2/models/cls/infer`
 * ```
 */
export function createGateway(options: GatewayOptions): Gateway {
  return new Gateway(resolveGatewayOptions(options));
}
