import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EparaError, isEparaError } from '@epara/core';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RETRY_AFTER_SECONDS, errorStatusOf } from '../errors/error-status.js';
import type { ResolvedGatewayOptions } from '../gateway-options.js';
import type { InferCore } from '../inference/infer-core.js';
import { DEADLINE_HEADER, PRIORITY_HEADER } from '../protocol/request-controls.js';
import { beginRequestTrace } from '../protocol/request-trace.js';
import { HEADER_LENGTH, encodeInferResponse, parseInferBody } from './infer-body.js';
import { EXTENSIONS, metadataJson } from './metadata-json.js';

type Params = { name: string; version?: string };

/** Fastify error codes that mean the client sent a broken request. */
const CLIENT_ERRORS: Readonly<Record<string, number>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 413,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 400,
  FST_ERR_CTP_EMPTY_JSON_BODY: 400,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 415,
};

/**
 * The protocol's HTTP/REST front: Fastify on a node:http server whose request listener first offers each
 * request to the host's handlers (a dashboard…).
 */
export class HttpFront {
  readonly #o: ResolvedGatewayOptions;
  readonly #core: InferCore;
  readonly #app: FastifyInstance;
  #server: Server | undefined;
  #accepted = 0;
  #answered = 0;

  constructor(o: ResolvedGatewayOptions, core: InferCore) {
    this.#o = o;
    this.#core = core;
    this.#app = Fastify({
      logger: false,
      bodyLimit: o.maxBodyBytes,
      serverFactory: (handler) => {
        this.#server = createServer((req, res) => {
          for (const h of o.handlers) if (h(req, res)) return;
          handler(req, res);
        });
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
    return { accepted: this.#accepted, answered: this.#answered };
  }

  async close(): Promise<void> {
    this.#server?.closeIdleConnections();
    await this.#app.close();
  }

  #routes(): void {
    const app = this.#app;
    const core = this.#core;
    app.addHook('onRequest', (req, _reply, done) => {
      if (req.method === 'POST') this.#accepted++;
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
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, _req, reply) => {
      const status = err.code !== undefined ? CLIENT_ERRORS[err.code] : undefined;
      if (status !== undefined || (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)) {
        const message = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `request body is larger than the limit of ${this.#o.maxBodyBytes} bytes` : err.message;
        return void reply.code(status ?? err.statusCode!).send({ error: message, code: 'INVALID_INPUT' });
      }
      sendError(reply, err);
    });
    app.setNotFoundHandler((req, reply) => void reply.code(404).send({ error: `no route ${req.method} ${req.url}`, code: 'NOT_FOUND' }));

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
    app.post('/v2/models/:name/infer', (req: FastifyRequest<{ Params: Params }>, reply) => this.#infer(req, reply));
    app.post('/v2/models/:name/versions/:version/infer', (req: FastifyRequest<{ Params: Params }>, reply) => this.#infer(req, reply));
  }

  async #infer(req: FastifyRequest<{ Params: Params }>, reply: FastifyReply): Promise<unknown> {
    try {
      const body = req.body;
      if (!Buffer.isBuffer(body) || body.length === 0) throw new EparaError('INVALID_INPUT', 'the request has no body', { field: 'body' });
      const request = parseInferBody(body, req.params.name, req.params.version, header(req.raw, HEADER_LENGTH));
      const abort = new AbortController();
      const onClose = (): void => {
        if (!reply.raw.writableFinished) abort.abort();
      };
      reply.raw.once('close', onClose);
      const trace = beginRequestTrace((name) => header(req.raw, name), request.model);
      reply.headers(trace.responseHeaders);
      try {
        const response = await this.#core.infer(request, { signal: abort.signal, headers: { deadline: header(req.raw, DEADLINE_HEADER), priority: header(req.raw, PRIORITY_HEADER) }, trace: trace.context }).catch((err: unknown) => {
          trace.end(isEparaError(err) ? err.code : 'INTERNAL');
          throw err;
        });
        trace.end();
        const { body: out, headerLength } = encodeInferResponse(response);
        if (headerLength === undefined) return reply.type('application/json').send(out);
        return reply.type('application/octet-stream').header('Inference-Header-Content-Length', String(headerLength)).send(out);
      } finally {
        reply.raw.off('close', onClose);
      }
    } catch (err) {
      return sendError(reply, err);
    }
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Sends an error as the protocol's `{ "error": message }`, plus EPARA's `code`, with the status of the table. */
function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const { error, status, message } = errorStatusOf(err);
  if (status.retryable) reply.header('Retry-After', String(RETRY_AFTER_SECONDS));
  return reply.code(status.http).type('application/json').send({ error: message, code: error.code });
}

