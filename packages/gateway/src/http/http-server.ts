import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CLOSING_BODY, RETRY_AFTER_SECONDS, errorStatusOf } from '../errors/error-status.js';
import { EparaError } from '@epara/core';
import { OVER_GRACE_MS } from '../gateway-options.js';
import type { ResolvedGatewayOptions } from '../gateway-options.js';
import type { InferCore } from '../inference/infer-core.js';
import { InferRoute } from './infer-route.js';
import { answerClientError, refuseUnframed, refuseWithoutHost, unframedTransferEncoding } from './client-errors.js';
import { answerClosing, cutStalledClient } from './stalled-clients.js';
import { EXTENSIONS, metadataJson, modelConfigJson } from './metadata-json.js';
import { checkRepository, repositoryIndex } from '../inference/repository-index.js';
import { RouteMethods, withoutEmptySegments } from './route-methods.js';
import { REQUEST_ENCODINGS, inflateBody } from './content-encoding.js';
import { CUDA_SHARED_MEMORY, GENERATE, LOGGING, SYSTEM_SHARED_MEMORY, TRACE, unsupportedMessage } from '../protocol/unsupported-extensions.js';
import type { UnsupportedExtension } from '../protocol/unsupported-extensions.js';

type Params = { name: string; version?: string };
/** A repository route's parameters: the model (load, unload), and the repository when the path names one. */
type RepositoryParams = { repository?: string; name?: string };

/** Fastify error codes that mean the client sent a broken request. */
const CLIENT_ERRORS: Readonly<Record<string, number>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 413,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 400,
  FST_ERR_CTP_EMPTY_JSON_BODY: 400,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 415,
};

/**
 * The protocol's HTTP/REST front: a node:http server whose request listener first offers each request to the
 * host's handlers (a dashboard…), then to the infer route (plain node:http, the hot path: {@link InferRoute}),
 * then to Fastify for health, metadata and everything else.
 */
export class HttpFront {
  readonly #o: ResolvedGatewayOptions;
  readonly #core: InferCore;
  readonly #app: FastifyInstance;
  readonly #route: InferRoute;
  #server: Server | undefined;
  #accepted = 0;
  #answered = 0;
  /** Open connections. */
  readonly #sockets = new Set<Socket>();
  /** Open connections accepted past `maxConnections`: each request on one is refused 503 `OVERLOADED`. */
  readonly #over = new Set<Socket>();
  /** Requests handed to the router and not yet answered (a body may still be arriving). */
  readonly #routed = new Set<ServerResponse>();
  /** Answers of the host's handlers still open (the dashboard's event stream never ends by itself). */
  readonly #hosted = new Set<ServerResponse>();
  /**
   * Each connection's answers not yet closed (none: idle, or its request's head still arriving) — for
   * {@link close}, and for a request node:http then fails to parse ({@link #clientError}).
   */
  readonly #answers = new WeakMap<Socket, Set<ServerResponse>>();
  /** Connections whose 400 for a request that did not parse waits for the answers ahead of it. */
  readonly #refusing = new WeakSet<Socket>();
  /** Set once close() began: a host's answer still open {@link HOSTED_GRACE_MS} later has its connection destroyed. */
  #closing = false;

  constructor(o: ResolvedGatewayOptions, core: InferCore) {
    this.#o = o;
    this.#core = core;
    this.#route = new InferRoute(core, o.maxBodyBytes, o.idleTimeoutMs);
    this.#app = Fastify({
      logger: false,
      // `/v2/health/ready/` is `/v2/health/ready`: clients and proxies that build URLs by joining segments add the
      // slash, and a 404 for it reads as a server without the route.
      routerOptions: { ignoreTrailingSlash: true },
      bodyLimit: o.maxBodyBytes,
      clientErrorHandler: (err: Error & { code?: string }, socket: Socket) => this.#clientError(err, socket),
      // A URL Fastify cannot decode (`%ZZ`): a 400 in the protocol's error form like every other bad request.
      frameworkErrors: (err, _req, reply) => void (reply as FastifyReply).code(400).type('application/json').send({ error: err.message, code: 'INVALID_INPUT' }),
      serverFactory: (handler) => {
        // node:http checks these every `connectionsCheckingInterval`: a fraction of the timeout keeps it close.
        // Host is checked in `route`, to answer its absence in the protocol's error form (node's 400 has no body).
        const timeouts = { requireHostHeader: false, requestTimeout: o.requestTimeoutMs, headersTimeout: Math.min(60_000, o.requestTimeoutMs), connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(o.requestTimeoutMs / 4))) };
        const route = (req: IncomingMessage, res: ServerResponse): void => {
          if (this.#over.has(req.socket)) return refuseConnection(req, res, o.maxConnections);
          const unframed = unframedTransferEncoding(req);
          if (unframed !== undefined) return refuseUnframed(res, unframed);
          if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) return refuseWithoutHost(res);
          for (const h of o.handlers) {
            let took: boolean;
            try {
              took = h(req, res);
            } catch {
              // A host handler's throw would leave the request listener and take the whole process down.
              return hostFailed(res);
            }
            if (took) return this.#host(res);
          }
          if (this.#route.handle(req, res)) return;
          cutStalledClient(req, res, o.idleTimeoutMs);
          this.#routed.add(res);
          res.once('close', () => this.#routed.delete(res));
          handler(req, res);
        };
        this.#server = createServer(timeouts, route);
        this.#trackConnections(this.#server);
        // A client waiting for `100 Continue` before its body (curl's large uploads) hears it only when the body
        // will be read: a request refused anyway (413, 404, 503) is answered at once and the body never sent.
        this.#server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
          if (this.#over.has(req.socket)) return refuseConnection(req, res, o.maxConnections);
          if (this.#route.refusesBeforeBody(req, res)) return;
          res.writeContinue();
          route(req, res);
        });
        // An expectation node:http does not meet (anything but 100-continue): its 417, in the protocol's error form
        // (node's own has an empty body).
        this.#server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
          const body = JSON.stringify({ error: `Expect ${JSON.stringify(req.headers['expect'] ?? '')} is not supported (only 100-continue)`, code: 'INVALID_INPUT' });
          res.writeHead(417, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
          res.end(body);
        });
        // CONNECT asks for a tunnel, which this server does not give: without a listener node:http destroyed the
        // connection unanswered (an empty reply). A 501 in the error form (RFC 9110 §15.6.2: a method the server supports
        // for no resource), then the connection closes.
        this.#server.on('connect', (_req: IncomingMessage, socket: Socket) => socket.end(CONNECT_ANSWER));
        return this.#server;
      },
    });
    this.#routes();
  }

  /** Listens; resolves with the bound port. */
  async listen(host: string, port: number): Promise<number> {
    await this.#app.listen({ host, port });
    return (this.#server!.address() as AddressInfo).port;
  }

  /** Inference requests (POST) routed so far, and those answered (response written). */
  stats(): { readonly accepted: number; readonly answered: number } {
    return { accepted: this.#accepted + this.#route.accepted, answered: this.#answered + this.#route.answered };
  }

  /**
   * Stops listening and resolves once every connection closed: idle ones at once, those answering as soon as their
   * answer is out. A host handler's answer still open {@link HOSTED_GRACE_MS} later (an event stream, which never
   * ends by itself) has its connection destroyed, so closing does not wait for such a client for ever.
   */
  async close(): Promise<void> {
    this.#closing = true;
    this.#route.closeReading();
    // The router's requests whose body is still arriving (a slow upload to the repository index, or to any path)
    // are answered 503 CLOSED at once, as the infer route answers its own: they would hold the shutdown otherwise.
    for (const res of this.#routed) if (!res.req.complete) answerClosing(res);
    // A connection with no answer pending that closeIdleConnections left open is in the middle of a request's head
    // (a client trickling its headers): it would hold the shutdown until headersTimeout (60 s).
    for (const socket of this.#sockets) {
      if (socket.destroyed || this.#answers.get(socket)?.size) continue;
      // Already ended by the server (an HTTP/2 client told GOAWAY, lingering for its close): nothing more to say.
      if (!socket.writable) {
        socket.destroy();
        continue;
      }
      socket.end(CLOSING_HEAD_ANSWER);
      socket.destroySoon(); // the rest of its head is not read
    }
    this.#server?.closeIdleConnections();
    for (const res of this.#hosted) cutAfterGrace(res);
    await this.#app.close();
  }

  /** Counts each connection's pending answers, for {@link close}. */
  #trackConnections(server: Server): void {
    server.on('connection', (socket: Socket) => {
      // Past maxConnections (those refused not counted): refused, typed, on its first request; closed if it
      // sends none within a second, so a flood of silent connections holds no more than that.
      const over = this.#sockets.size - this.#over.size >= this.#o.maxConnections;
      this.#sockets.add(socket);
      socket.once('close', () => (this.#sockets.delete(socket), this.#over.delete(socket)));
      if (!over) return;
      this.#over.add(socket);
      const timer = setTimeout(() => void (this.#answers.get(socket)?.size || socket.destroy()), OVER_GRACE_MS);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
    });
    const pending = (req: IncomingMessage, res: ServerResponse): void => {
      const socket = req.socket;
      let answers = this.#answers.get(socket);
      if (!answers) this.#answers.set(socket, (answers = new Set()));
      answers.add(res);
      res.once('close', () => answers.delete(res));
    };
    server.prependListener('request', pending);
    server.prependListener('checkContinue', pending);
    server.on('timeout', (socket: Socket) => this.#timedOut(socket));
  }

  /**
   * A connection's inactivity timeout (keep-alive between requests, a stalled client), which node:http leaves to this
   * listener. With an answer in progress, as node:http decides: the request's or answer's own listener took it, else
   * the connection is destroyed. Idle between requests, it is destroyed a turn later, unless bytes came meanwhile:
   * a process stalled past the keep-alive timeout (SIGSTOP, a paused VM) runs that timer before it reads a request
   * the client had already sent on the connection, and node:http reset it under that request.
   */
  #timedOut(socket: Socket): void {
    const answers = this.#answers.get(socket);
    if (answers !== undefined && answers.size > 0) {
      for (const res of answers) if (res.listenerCount('timeout') > 0 || (!res.req.complete && res.req.listenerCount('timeout') > 0)) return;
      socket.destroy();
      return;
    }
    const read = socket.bytesRead;
    setImmediate(() => {
      if (!socket.destroyed && socket.bytesRead === read && !this.#answers.get(socket)?.size) socket.destroy();
    });
  }

  /**
   * A request node:http could not parse (after which where the next one starts is unknown): answered 400 (408,
   * 431) and the connection closed. Requests pipelined before it on the connection whose answers are still
   * pending are answered first, in order (the 400 at once would destroy the connection under them, and their
   * answers would be lost); nothing more is read from the connection meanwhile. A request whose own body is what
   * did not parse (cut short, bad chunk framing) is not waited for: the 400 is its answer.
   */
  #clientError(err: Error & { code?: string }, socket: Socket): void {
    if (this.#refusing.has(socket)) return; // the parser reports bytes after the malformed ones again
    const answers = [...(this.#answers.get(socket) ?? [])];
    // The request being read was answered already (refused from its head, its body not read): that answer is the
    // last on this connection, which closes once it is out.
    const answered = answers.find((res) => !res.req.complete && res.headersSent);
    if (answered && !socket.destroyed) {
      this.#refusing.add(socket);
      socket.pause();
      answered.once('close', () => socket.destroySoon());
      return;
    }
    const ahead = answers.filter((res) => res.req.complete);
    if (ahead.length === 0 || socket.destroyed || err.code === 'ECONNRESET') return answerClientError(err, socket);
    this.#refusing.add(socket);
    socket.pause();
    let left = ahead.length;
    for (const res of ahead) res.once('close', () => void (--left === 0 && answerClientError(err, socket)));
  }

  /** Tracks an answer a host handler took, until it closes. */
  #host(res: ServerResponse): void {
    if (res.writableFinished || res.destroyed) return;
    this.#hosted.add(res);
    res.once('close', () => this.#hosted.delete(res));
    if (this.#closing) cutAfterGrace(res);
  }

  #routes(): void {
    const app = this.#app;
    const core = this.#core;
    // Every route's methods, for the 405 (with Allow) of a served path asked with another method, and OPTIONS.
    const methods = new RouteMethods();
    app.addHook('onRoute', (r) => methods.add(r.method, r.url));
    app.addHook('onRequest', (req, reply, done) => {
      if (req.method === 'POST') this.#accepted++;
      // Repeated slashes: no route has an empty segment, and some would otherwise match with an empty parameter.
      const meant = withoutEmptySegments(req.url);
      if (meant !== undefined) return void reply.code(404).send({ error: `no route ${req.method} ${req.url}: a path with repeated slashes names no route (they are not merged, as Triton and KServe do not merge them); merged, it would read ${meant}`, code: 'NOT_FOUND' });
      done();
    });
    app.addHook('onResponse', (req, _reply, done) => {
      if (req.method === 'POST') this.#answered++;
      done();
    });
    // While draining, every answer closes its connection, so clients do not keep sockets to a server about to go.
    app.addHook('onSend', (_req, reply, payload, done) => {
      if (core.draining) reply.header('connection', 'close');
      done(null, payload);
    });
    app.removeAllContentTypeParsers();
    // One parser for every content type: the body is read as bytes and parsed by the protocol code, which
    // knows whether it is JSON or JSON plus binary tensor data.
    // A compressed body (`Content-Encoding`: gzip, deflate) is inflated first, as the infer route inflates its own.
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
      const encoding = req.headers['content-encoding'];
      if (encoding === undefined || (body as Buffer).length === 0) return done(null, body);
      void inflateBody(body as Buffer, String(encoding), { maxBytes: this.#o.maxBodyBytes }).then((r) => (r.ok ? done(null, r.body) : done(Object.assign(new Error(r.message), { statusCode: r.status }))));
    });
    app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, _req, reply) => {
      const status = err.code !== undefined ? CLIENT_ERRORS[err.code] : undefined;
      if (status !== undefined || (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)) {
        const message = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `request body is larger than the limit of ${this.#o.maxBodyBytes} bytes` : err.message;
        const code = status ?? err.statusCode!;
        if (status === undefined && code === 415) reply.header('accept-encoding', REQUEST_ENCODINGS); // a body's Content-Encoding
        return void reply.code(code).send({ error: message, code: 'INVALID_INPUT' });
      }
      sendError(reply, err);
    });
    app.setNotFoundHandler((req, reply) => {
      const allowed = req.url === '*' && req.method === 'OPTIONS' ? methods.any() : methods.allowed(req.url);
      if (allowed === undefined) return void reply.code(404).send({ error: `no route ${req.method} ${req.url}`, code: 'NOT_FOUND' });
      const allow = allowed.join(', ');
      if (req.method === 'OPTIONS') return void reply.code(204).header('allow', allow).send();
      reply.code(405).header('allow', allow).send({ error: `${req.method} is not allowed on ${req.url} (allowed: ${allow})`, code: 'METHOD_NOT_ALLOWED' });
    });

    app.get('/v2', async () => ({ name: this.#o.server.name, version: this.#o.server.version, extensions: EXTENSIONS }));
    app.get('/v2/health/live', async () => ({ live: true }));
    app.get('/v2/health/ready', async (_req, reply) => {
      const ready = core.ready();
      return reply.code(ready ? 200 : 503).send({ ready });
    });
    const metadata = async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply): Promise<unknown> => {
      try {
        return metadataJson(core.model(req.params.name, req.params.version));
      } catch (err) {
        return sendError(reply, err);
      }
    };
    app.get('/v2/models/:name', metadata);
    app.get('/v2/models/:name/versions/:version', metadata);
    const config = async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply): Promise<unknown> => {
      try {
        return modelConfigJson(core.model(req.params.name, req.params.version));
      } catch (err) {
        return sendError(reply, err);
      }
    };
    app.get('/v2/models/:name/config', config);
    app.get('/v2/models/:name/versions/:version/config', config);
    const ready = async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply): Promise<unknown> => {
      try {
        const m = core.model(req.params.name, req.params.version);
        const r = core.modelReady(m);
        return reply.code(r ? 200 : 503).send({ name: m.name, ready: r });
      } catch (err) {
        return sendError(reply, err);
      }
    };
    app.get('/v2/models/:name/ready', ready);
    app.get('/v2/models/:name/versions/:version/ready', ready);
    // Triton's statistics extension: every model, one model (every version), or one version.
    const stats = async (req: FastifyRequest<{ Params: Partial<Params> }>, reply: FastifyReply): Promise<unknown> => {
      try {
        return { model_stats: core.statistics(req.params.name, req.params.version) };
      } catch (err) {
        return sendError(reply, err);
      }
    };
    app.get('/v2/models/stats', stats);
    app.get('/v2/models/:name/stats', stats);
    app.get('/v2/models/:name/versions/:version/stats', stats);
    // Triton's model repository extension: the index, and load / unload through the host's model control.
    // Triton's routes name a repository or none (`/v2/repository[/{repository}]/…`): the gateway has one, named after
    // the server; another name is a 404.
    const index = async (req: FastifyRequest<{ Params: RepositoryParams }>, reply: FastifyReply): Promise<unknown> => {
      try {
        checkRepository(this.#o.server.name, req.params.repository);
        return repositoryIndex(core, this.#o.models.values(), readyOnly(req.body));
      } catch (err) {
        return sendError(reply, err);
      }
    };
    app.post('/v2/repository/index', index);
    app.post('/v2/repository/:repository/index', index);
    const control =
      (action: 'load' | 'unload') =>
      async (req: FastifyRequest<{ Params: RepositoryParams }>, reply: FastifyReply): Promise<unknown> => {
        try {
          checkRepository(this.#o.server.name, req.params.repository);
          await core.controlModel(req.params.name!, action, controlParameters(req.body));
          return {};
        } catch (err) {
          return sendError(reply, err);
        }
      };
    app.post('/v2/repository/models/:name/load', control('load'));
    app.post('/v2/repository/models/:name/unload', control('unload'));
    app.post('/v2/repository/:repository/models/:name/load', control('load'));
    app.post('/v2/repository/:repository/models/:name/unload', control('unload'));
    // The infer route takes POST ahead of the router; what reaches here is an infer URL it cannot read (an empty
    // model name, a malformed %-encoding): no route. Another method on the path is a 405 naming POST (above).
    const noInferRoute = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => reply.code(404).send({ error: `no route ${req.method} ${req.url}`, code: 'NOT_FOUND' });
    app.post('/v2/models/:name/infer', noInferRoute);
    app.post('/v2/models/:name/versions/:version/infer', noInferRoute);
    // Triton's extensions this server does not implement: a 501 naming the extension (Triton's answer to what it
    // does not support; gRPC answers these RPCs UNIMPLEMENTED), rather than a 404 a client reads as a wrong URL.
    for (const [path, extension] of UNSUPPORTED_EXTENSIONS) {
      app.all(path, async (_req, reply) => reply.code(501).send({ error: unsupportedMessage(extension), code: 'NOT_IMPLEMENTED' }));
    }
  }
}

/** A request on a connection past `maxConnections`: 503 `OVERLOADED`, retryable, and the connection closed. */
function refuseConnection(req: IncomingMessage, res: ServerResponse, max: number): void {
  const body = JSON.stringify({ error: `too many connections: this server takes at most ${max} at once (gateway.maxConnections); send the request again later or to another server`, code: 'OVERLOADED' });
  res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'retry-after': String(RETRY_AFTER_SECONDS), connection: 'close' });
  res.end(body);
  req.resume(); // its body is not read
}

/** What a connection whose request head is still arriving hears when the server closes: 503 `CLOSED`, then the end. */
const CLOSING_HEAD_ANSWER = (() => {
  const body = JSON.stringify(CLOSING_BODY);
  return `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nretry-after: ${RETRY_AFTER_SECONDS}\r\nconnection: close\r\n\r\n${body}`;
})();

/** The answer to CONNECT: a 501 (no tunnels here), and the end of the connection, whose bytes would be the tunnel's. */
const CONNECT_ANSWER = (() => {
  const body = JSON.stringify({ error: 'CONNECT is not supported: this server is not a proxy and opens no tunnels', code: 'NOT_IMPLEMENTED' });
  return `HTTP/1.1 501 Not Implemented\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
})();

/**
 * A host handler threw: a 500 `INTERNAL` in the protocol's error form (its message is not sent, as for any untyped
 * error), or, when it had begun its answer, the connection destroyed.
 */
function hostFailed(res: ServerResponse): void {
  if (res.headersSent) return void res.destroy();
  const body = JSON.stringify({ error: 'internal error', code: 'INTERNAL' });
  res.writeHead(500, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** How long a closing gateway lets a host handler's open answer (the dashboard's event stream) go on, ms. */
export const HOSTED_GRACE_MS = 1000;

/** Destroys the answer's connection if it is still open {@link HOSTED_GRACE_MS} from now. */
function cutAfterGrace(res: ServerResponse): void {
  const timer = setTimeout(() => res.destroy(), HOSTED_GRACE_MS);
  timer.unref();
  res.once('close', () => clearTimeout(timer));
}

/** Routes of Triton's extensions the gateway does not implement, and the extension. */
const UNSUPPORTED_EXTENSIONS: readonly (readonly [string, UnsupportedExtension])[] = [
  ['/v2/systemsharedmemory/*', SYSTEM_SHARED_MEMORY],
  ['/v2/cudasharedmemory/*', CUDA_SHARED_MEMORY],
  ['/v2/trace/setting', TRACE],
  ['/v2/models/:name/trace/setting', TRACE],
  ['/v2/logging', LOGGING],
  ...['generate', 'generate_stream'].flatMap((route) => [`/v2/models/:name/${route}`, `/v2/models/:name/versions/:version/${route}`].map((path) => [path, GENERATE] as const)),
];

/** The index request's `ready` flag: an empty body or `{}` lists every model. @throws EparaError `INVALID_INPUT` */
function readyOnly(body: unknown): boolean {
  const text = Buffer.isBuffer(body) ? body.toString('utf8').trim() : '';
  if (text === '') return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new EparaError('INVALID_INPUT', 'the repository index request body is not JSON', { field: 'body' });
  }
  const ready = (parsed as { ready?: unknown } | null)?.ready;
  if (typeof parsed !== 'object' || parsed === null || (ready !== undefined && typeof ready !== 'boolean')) {
    throw new EparaError('INVALID_INPUT', 'the repository index request must be an object whose "ready" is true or false', { field: 'ready' });
  }
  return ready === true;
}

/** The `parameters` of a load or unload request body (empty, `{}`, or `{ "parameters": { … } }`). @throws EparaError `INVALID_INPUT` */
function controlParameters(body: unknown): Record<string, unknown> {
  const text = Buffer.isBuffer(body) ? body.toString('utf8').trim() : '';
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new EparaError('INVALID_INPUT', 'the repository request body is not JSON', { field: 'body' });
  }
  const parameters = (parsed as { parameters?: unknown } | null)?.parameters ?? {};
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) {
    throw new EparaError('INVALID_INPUT', 'the repository request must be an object whose "parameters" is an object', { field: 'parameters' });
  }
  return parameters as Record<string, unknown>;
}

/** Sends an error as the protocol's `{ "error": message }`, plus EPARA's `code`, with the status of the table. */
function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const { error, status, message } = errorStatusOf(err);
  if (status.retryable) reply.header('Retry-After', String(RETRY_AFTER_SECONDS));
  return reply.code(status.http).type('application/json').send({ error: message, code: error.code });
}

