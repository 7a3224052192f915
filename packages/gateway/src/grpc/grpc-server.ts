import { createServer } from 'node:http2';
import type { Http2Server, Http2Session, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { MAX_TIMER_MS, OVER_GRACE_MS } from '../gateway-options.js';
import { RETRY_AFTER_SECONDS } from '../errors/error-status.js';
import type { ResolvedGatewayOptions } from '../gateway-options.js';
import type { InferCore } from '../inference/infer-core.js';
import { encodeGrpcMessage, parseGrpcTimeout } from './grpc-http2-wire.js';
import { SERVICE_NAME, grpcMethods, modelInfer } from './grpc-methods.js';
import { GRPC_STATUS } from './grpc-status.js';
import { HealthService } from './health-service.js';
import { REFLECTION_PATHS, ReflectionStream } from './server-reflection.js';
import { ACCEPT_ENCODING, UnaryCall } from './unary-call.js';
import type { ReadingCall, UnaryMethod } from './unary-call.js';
import { StreamInferCall } from './stream-infer-call.js';
import { UNSUPPORTED_GRPC_METHODS, unsupportedMessage } from '../protocol/unsupported-extensions.js';
import type { StreamRequestHandler } from './stream-infer-call.js';


/** `application/grpc`, optionally `+proto`, optionally with parameters (the gRPC over HTTP/2 spec's Content-Type). */
const GRPC_CONTENT_TYPE = /^application\/grpc(\+proto)?\s*(;|$)/i;

/** Triton's bidirectional streaming inference method. */
const STREAM_INFER_PATH = `/${SERVICE_NAME}/ModelStreamInfer`;

export { PROTO_LOADER_OPTIONS } from './grpc-methods.js';

const ignore = (): void => undefined;

/** Why a method is not served: one of Triton's extensions the gateway does not implement, by name, or no such method. */
function unknownMethodMessage(path: string): string {
  const extension = path.startsWith(`/${SERVICE_NAME}/`) ? UNSUPPORTED_GRPC_METHODS.get(path.slice(SERVICE_NAME.length + 2)) : undefined;
  return extension ? unsupportedMessage(extension) : `unknown method ${path}`;
}

/**
 * The protocol's `GRPCInferenceService` served directly on `node:http2` (cleartext HTTP/2, prior knowledge, as
 * gRPC clients connect): each call of a unary method is one {@link UnaryCall}, and Triton's `ModelStreamInfer`
 * one {@link StreamInferCall}; gRPC's health service (`grpc.health.v1.Health`) and server reflection beside it. Speaks
 * what standard clients expect: `grpc-timeout` deadlines, cancellation by stream reset, `gzip`/`deflate`
 * request messages, `grpc-status`/`grpc-message` trailers (trailers-only for errors), `UNIMPLEMENTED` for
 * unknown methods, `415` for a non-gRPC content type, and a GOAWAY on close.
 */
export class GrpcFront {
  readonly #o: ResolvedGatewayOptions;
  readonly #methods: ReadonlyMap<string, UnaryMethod>;
  readonly #health: HealthService;
  readonly #server: Http2Server;
  readonly #sessions = new Set<Http2Session>();
  /** Open sessions accepted past `maxConnections`: each call on one is refused `UNAVAILABLE` (`OVERLOADED`). */
  readonly #over = new Set<Http2Session>();
  /** Calls whose request message is still arriving (swept for `requestTimeoutMs`). */
  readonly #reading = new Set<ReadingCall>();
  readonly #streamRequest: StreamRequestHandler;
  /** Open streams per session: an idle timeout closes only a session without any. */
  readonly #open = new WeakMap<Http2Session, number>();
  /** Sessions whose idle timer fired while a call was open: re-armed when their last call ends. */
  readonly #idledBusy = new WeakSet<Http2Session>();
  #sweep: ReturnType<typeof setInterval> | undefined;

  constructor(o: ResolvedGatewayOptions, core: InferCore) {
    this.#o = o;
    this.#health = new HealthService(core);
    this.#methods = new Map([...grpcMethods(o, core), ...this.#health.methods()]);
    this.#streamRequest = (request, call) => modelInfer(core, request, call);
    // node:http2 refuses new streams once a session buffers more than `maxSessionMemory` (default 10 MB); a
    // client multiplexing several calls of the allowed size on one connection should not meet that first.
    this.#server = createServer({ maxSessionMemory: Math.max(10, Math.ceil((4 * o.maxBodyBytes) / 2 ** 20)) });
    this.#server.on('session', (session: Http2Session) => {
      // Past maxConnections (those refused not counted): each call on it is refused, typed, and the connection
      // closed; one that makes no call within a second is destroyed.
      const over = this.#sessions.size - this.#over.size >= o.maxConnections;
      this.#sessions.add(session);
      session.once('close', () => this.#over.delete(session));
      if (over) {
        this.#over.add(session);
        session.setTimeout(OVER_GRACE_MS, () => session.destroy());
        session.on('error', ignore);
        session.once('close', () => this.#sessions.delete(session));
        return;
      }
      // No traffic for idleTimeoutMs: a session without calls is closed (a silent or abandoned client). The
      // timer is re-armed when its last call ends, since it does not fire twice without traffic in between.
      session.setTimeout(o.idleTimeoutMs, () => this.#idle(session));
      session.on('error', ignore); // a broken connection ends its calls ('close'); nothing to report
      session.once('close', () => this.#sessions.delete(session));
    });
    this.#server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => this.#call(stream, headers));
  }

  /** Listens; resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        this.#startSweep();
        resolve((this.#server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops taking connections, sends GOAWAY (running calls finish), and destroys what is left after `graceMs`. */
  close(graceMs = 1000): Promise<void> {
    clearInterval(this.#sweep);
    // Calls whose message is still arriving will not be served: answered UNAVAILABLE (retryable) at once.
    for (const call of [...this.#reading]) call.refuseClosing();
    // Health watches never end by themselves: told NOT_SERVING, then ended UNAVAILABLE, before the GOAWAY.
    this.#health.close();
    return new Promise((resolve) => {
      if (!this.#server.listening) return resolve();
      const timer = setTimeout(() => {
        for (const s of this.#sessions) s.destroy();
      }, graceMs);
      this.#server.close(() => (clearTimeout(timer), resolve()));
      for (const s of this.#sessions) s.close();
    });
  }

  #call(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', ignore); // a reset stream or a lost connection: the call sees 'close'
    const session = stream.session;
    if (session) {
      this.#open.set(session, (this.#open.get(session) ?? 0) + 1);
      stream.once('close', () => {
        const left = this.#open.get(session)! - 1;
        this.#open.set(session, left);
        if (left === 0 && this.#idledBusy.delete(session) && !session.destroyed) session.setTimeout(this.#o.idleTimeoutMs, () => this.#idle(session));
      });
    }
    if (session && this.#over.has(session)) {
      stream.respond({
        ':status': 200,
        'content-type': 'application/grpc',
        'grpc-status': String(GRPC_STATUS.UNAVAILABLE),
        'grpc-message': encodeGrpcMessage(`too many connections: this server takes at most ${this.#o.maxConnections} at once (gateway.maxConnections); call again later or another server`),
        'epara-code': 'OVERLOADED',
        'retry-after': String(RETRY_AFTER_SECONDS),
      }, { endStream: true });
      stream.resume();
      session.close(); // GOAWAY: the client's next call opens a new connection
      return;
    }
    const contentType = headers['content-type'];
    if (headers[':method'] !== 'POST' || contentType === undefined || !GRPC_CONTENT_TYPE.test(contentType)) {
      // Not a gRPC call: an HTTP status, as the protocol asks of a server (405 or 415). gRPC-Web (its status in the
      // body, not in trailers) and messages in another encoding than protobuf (`+json`) are not gRPC this serves.
      stream.respond({ ':status': headers[':method'] !== 'POST' ? 405 : 415, 'content-type': 'text/plain' }, { endStream: false });
      stream.end(`gRPC needs POST with content-type application/grpc (or application/grpc+proto); got ${headers[':method']} ${contentType ?? '(none)'}`);
      return;
    }
    if (REFLECTION_PATHS.has(headers[':path'] ?? '')) {
      new ReflectionStream(stream, { maxMessageBytes: this.#o.maxBodyBytes, idleMs: Math.min(this.#o.requestTimeoutMs, MAX_TIMER_MS) });
      return;
    }
    const streaming = headers[':path'] === STREAM_INFER_PATH;
    const method = this.#methods.get(headers[':path'] ?? '');
    const timeoutMs = parseGrpcTimeout(headers['grpc-timeout'] as string | undefined);
    if (streaming && !Number.isNaN(timeoutMs)) {
      new StreamInferCall({ stream, headers, run: this.#streamRequest, maxMessageBytes: this.#o.maxBodyBytes, stalledMs: this.#o.idleTimeoutMs, timeoutMs, now: this.#o.clock.now(), reading: this.#reading });
      return;
    }
    if (!method || Number.isNaN(timeoutMs)) {
      const known = method !== undefined || streaming;
      stream.respond({
        ':status': 200,
        'content-type': 'application/grpc',
        'grpc-accept-encoding': ACCEPT_ENCODING,
        'grpc-status': String(known ? GRPC_STATUS.OUT_OF_RANGE : GRPC_STATUS.UNIMPLEMENTED),
        'grpc-message': encodeGrpcMessage(known ? `invalid grpc-timeout ${JSON.stringify(headers['grpc-timeout'])}` : unknownMethodMessage(headers[':path'] ?? '')),
      }, { endStream: true });
      stream.resume(); // the request's data is not read
      return;
    }
    new UnaryCall({ stream, headers, method, maxMessageBytes: this.#o.maxBodyBytes, timeoutMs, now: this.#o.clock.now(), reading: this.#reading, stalledMs: this.#o.idleTimeoutMs });
  }

  #idle(session: Http2Session): void {
    if (this.#open.get(session)) this.#idledBusy.add(session);
    else if (!session.closed) session.close();
  }

  /** Refuses calls whose message has not arrived within `requestTimeoutMs` (checked 4 times per timeout, at most each second). */
  #startSweep(): void {
    const timeoutMs = this.#o.requestTimeoutMs;
    this.#sweep = setInterval(() => {
      const now = performance.now(); // monotonic, like each call's startedAt
      for (const call of this.#reading) if (now - call.startedAt >= timeoutMs) call.readTimedOut(timeoutMs);
    }, Math.max(20, Math.min(1000, Math.floor(timeoutMs / 4))));
    this.#sweep.unref();
  }
}
