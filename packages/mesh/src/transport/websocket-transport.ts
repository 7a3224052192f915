import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Server as TlsServer } from 'node:tls';
import { EventEmitter } from 'eventemitter3';
import { WebSocket, WebSocketServer } from 'ws';
import { EparaError } from '@epara/core';
import { createConnection } from './create-connection.js';
import { PreAuthGuard } from './pre-auth-guard.js';
import type { PreAuthTicket } from './pre-auth-guard.js';
import type { ConnectionController } from './create-connection.js';
import { abortError, withAbort } from './transport-util.js';
import type { Connection, ConnectOptions, ListenOptions, Transport, TransportEvents } from './transport.js';
import { resolveWebSocketTransportOptions } from './websocket-options.js';
import type { ResolvedWebSocketTransportOptions, WebSocketTransportOptions } from './websocket-options.js';

interface Link {
  readonly ws: WebSocket;
  readonly ctl: ConnectionController;
  /** When the peer last showed life, `performance.now()`: a monotonic clock, so a wall-clock step neither cuts live links nor spares dead ones. */
  lastSeenAt: number;
  error: EparaError | undefined;
}

/** Maps how a socket ended to the error its connection reports (none for a clean close). */
function closeError(code: number, reason: string): EparaError | undefined {
  if (code === 1000 || code === 1001 || code === 1005) return undefined;
  if (code === 1003 || code === 1007 || code === 1009 || code === 1002) {
    return new EparaError('PROTOCOL_ERROR', `peer closed the link: ${reason || `code ${code}`}`, { closeCode: code });
  }
  return new EparaError('PEER_UNAVAILABLE', `link lost: ${reason || `code ${code}`}`, { closeCode: code });
}

function wsError(err: Error & { code?: string }): EparaError {
  if (typeof err.code === 'string' && err.code.startsWith('WS_ERR_')) {
    return new EparaError('PROTOCOL_ERROR', err.message, { wsCode: err.code });
  }
  return new EparaError('PEER_UNAVAILABLE', err.message, { errno: err.code });
}

// A close reason must fit a control frame (123 bytes of UTF-8).
const shortReason = (reason: string): string => Buffer.from(reason).subarray(0, 120).toString().replace(/\uFFFD+$/, '');

class WebSocketTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly kind = 'websocket';
  readonly maxFrameBytes: number;
  readonly #o: ResolvedWebSocketTransportOptions;
  readonly #wss: WebSocketServer;
  readonly #links = new Set<Link>();
  readonly #dials = new Set<WebSocket>();
  readonly #preAuth: PreAuthGuard;
  #server: HttpServer | HttpsServer | undefined;
  #listening: Promise<{ address: string }> | undefined;
  #address: string | undefined;
  #keepalive: ReturnType<typeof setInterval> | undefined;
  #closing: Promise<void> | undefined;

  constructor(o: ResolvedWebSocketTransportOptions) {
    super();
    this.#o = o;
    this.maxFrameBytes = o.maxFrameBytes;
    this.#preAuth = new PreAuthGuard({ maxBytes: o.preAuthMaxBytes, maxLinks: o.maxUnauthenticatedLinks });
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: o.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
    // A bad upgrade request is answered (400) by ws; report it without letting it affect anything else.
    this.#wss.on('wsClientError', (err, socket) => {
      socket.destroy();
      this.#background(new EparaError('PROTOCOL_ERROR', `rejected a WebSocket upgrade: ${err.message}`));
    });
  }

  get address(): string | undefined {
    return this.#address;
  }

  /** Mutual TLS on the transport's own server: dialers must present a certificate that verifies. */
  get clientAuth(): boolean {
    const tls = this.#o.tls;
    return this.#o.server === undefined && tls?.key !== undefined && tls.requestCert === true && tls.rejectUnauthorized !== false;
  }

  listen(options: ListenOptions = {}): Promise<{ address: string }> {
    if (this.#closing !== undefined) return Promise.reject(new EparaError('CLOSED', 'transport is closed'));
    if (options.signal?.aborted === true) return Promise.reject(abortError(options.signal));
    this.#listening ??= this.#startListening();
    return this.#listening;
  }

  async #startListening(): Promise<{ address: string }> {
    const own = this.#o.server === undefined;
    const tls = this.#o.tls;
    const server =
      this.#o.server ??
      (tls?.key !== undefined
        ? createHttpsServer({
            key: tls.key,
            cert: tls.cert,
            ca: tls.ca as string[] | undefined,
            requestCert: tls.requestCert ?? false,
            rejectUnauthorized: tls.rejectUnauthorized ?? true,
          })
        : createHttpServer());
    this.#server = server;
    server.on('upgrade', this.#onUpgrade);
    if (own) {
      server.on('request', (_req, res) => res.writeHead(426, { connection: 'close' }).end('EPARA mesh: WebSocket only'));
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: Error & { code?: string }) =>
          reject(new EparaError('INVALID_OPTIONS', `cannot listen on ${this.#o.host}:${this.#o.port}: ${err.message}`, { field: 'port', value: this.#o.port, errno: err.code })),
        );
        server.listen(this.#o.port, this.#o.host, resolve);
      });
      server.on('error', (err) => this.#background(new EparaError('INTERNAL', `mesh server error: ${err.message}`)));
      server.on('clientError', (err, socket) => {
        socket.destroy();
        this.#background(new EparaError('PROTOCOL_ERROR', `bad HTTP request on the mesh port: ${err.message}`));
      });
    } else if (!server.listening) {
      await new Promise<void>((resolve) => server.once('listening', resolve));
    }
    const info = server.address() as AddressInfo | string | null;
    if (info === null || typeof info === 'string') {
      throw new EparaError('INVALID_OPTIONS', 'the host server must listen on a TCP port, not a pipe or socket path', { field: 'server', value: info });
    }
    const bound = own || info.address === '::' || info.address === '0.0.0.0' ? this.#o.host : info.address;
    const host = bound.includes(':') ? `[${bound}]` : bound;
    this.#address = `${server instanceof TlsServer ? 'wss' : 'ws'}://${host}:${info.port}${this.#o.path}`;
    return { address: this.#address };
  }

  readonly #onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== this.#o.path) {
      // On the host's server other paths belong to the host; on our own server nobody else will answer.
      if (this.#o.server === undefined) socket.destroy();
      return;
    }
    if (this.#closing !== undefined) return void socket.destroy();
    if (!this.#preAuth.hasRoom()) {
      // Too many links mid-handshake: refuse before the WebSocket layer allocates anything for this one.
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return this.#background(new EparaError('RATE_LIMITED', `refused a connection: ${this.#preAuth.pending} links are already authenticating`));
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
      const ticket = this.#preAuth.admit(socket, head.byteLength, (error) => {
        this.#background(error);
        (this.#linkOf(ws) ?? { error: undefined }).error ??= error;
        ws.terminate();
      });
      const connection = this.#adopt(ws, { direction: 'inbound', remoteAddress: remote, socket, ticket });
      if (this.#closing !== undefined) return void connection.close('transport closed');
      this.emit('connectionAccepted', { connection });
      // A handshake (secureConnection, the node) arms the limits synchronously from this event; a host that
      // reads a bare link unauthenticated on purpose polices it itself.
      ticket.settle();
    });
  };

  connect(address: string, options: ConnectOptions = {}): Promise<Connection> {
    if (this.#closing !== undefined) return Promise.reject(new EparaError('CLOSED', 'transport is closed'));
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      return Promise.reject(new EparaError('INVALID_OPTIONS', `Expected a ws:// or wss:// address, got \`${address}\``, { field: 'address', value: address }));
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
      return Promise.reject(new EparaError('INVALID_OPTIONS', `Expected a ws:// or wss:// address, got \`${address}\``, { field: 'address', value: address }));
    }
    if (options.signal?.aborted === true) return Promise.reject(abortError(options.signal));
    const tls = url.protocol === 'wss:' ? this.#o.tls : undefined;
    const ws = new WebSocket(address, {
      perMessageDeflate: false,
      maxPayload: this.#o.maxFrameBytes,
      handshakeTimeout: this.#o.connectTimeoutMs,
      ...(this.#o.maskFrames ? {} : { generateMask: zeroMask }),
      ...(tls === undefined ? {} : { ca: tls.ca as string[] | undefined, key: tls.key, cert: tls.cert, rejectUnauthorized: tls.rejectUnauthorized ?? true }),
    });
    this.#dials.add(ws);
    const dial = new Promise<Connection>((resolve, reject) => {
      ws.on('error', (err) => reject(new EparaError('PEER_UNAVAILABLE', `cannot connect to ${address}: ${err.message}`, { address })));
      ws.once('close', () => reject(new EparaError(this.#closing ? 'CLOSED' : 'PEER_UNAVAILABLE', `connection to ${address} closed during the handshake`, { address })));
      let socket: Duplex | undefined;
      ws.once('upgrade', (res: IncomingMessage) => (socket = res.socket));
      ws.once('open', () => {
        ws.removeAllListeners();
        resolve(this.#adopt(ws, { direction: 'outbound', remoteAddress: address, socket }));
      });
    }).finally(() => this.#dials.delete(ws));
    return withAbort(options.signal, () => dial, () => ws.terminate());
  }

  #linkOf(ws: WebSocket): Link | undefined {
    for (const l of this.#links) if (l.ws === ws) return l;
    return undefined;
  }

  #adopt(ws: WebSocket, o: { direction: 'inbound' | 'outbound'; remoteAddress: string; socket: Duplex | undefined; ticket?: PreAuthTicket }): Connection {
    const { direction, remoteAddress, ticket } = o;
    const coalesce = coalescer(o.socket);
    const ctl = createConnection({
      remoteAddress,
      direction,
      maxFrameBytes: this.#o.maxFrameBytes,
      idPrefix: `ws-${direction}`,
      sink: {
        write: (frame) => (coalesce(), ws.send(frame, { binary: true })),
        // The pieces of one frame as the fragments of one WebSocket message: the peer's `ws` joins them (as it joins
        // a message that arrives over several reads), and no piece is copied here.
        writeParts: (parts) => {
          coalesce();
          const last = parts.length - 1;
          for (let i = 0; i <= last; i++) ws.send(parts[i]!, { binary: true, fin: i === last });
        },
        close: (reason) => this.#closeSocket(ws, reason, ticket !== undefined && ticket.armed && !ticket.authenticated),
        bufferedBytes: () => ws.bufferedAmount,
        authenticating: () => ticket?.arm(),
        authenticated: () => ticket?.authenticate(),
      },
    });
    const link: Link = { ws, ctl, lastSeenAt: performance.now(), error: undefined };
    this.#links.add(link);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      link.lastSeenAt = performance.now();
      if (isBinary) return ctl.receive(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      link.error = new EparaError('PROTOCOL_ERROR', 'received a text frame; the mesh speaks binary only');
      ws.close(1003, 'binary frames only');
    });
    ws.on('ping', () => (link.lastSeenAt = performance.now()));
    ws.on('pong', () => (link.lastSeenAt = performance.now()));
    ws.on('error', (err) => {
      link.error ??= wsError(err);
      this.#o.logger.debug({ err, connectionId: ctl.connection.id }, 'websocket link error');
    });
    ws.once('close', (code: number, reason: Buffer) => {
      this.#links.delete(link);
      ticket?.release();
      const text = reason.toString();
      ctl.closedByMedium({ reason: text || link.error?.message || `code ${code}`, error: link.error ?? closeError(code, text) });
    });
    this.#startKeepalive();
    return ctl.connection;
  }

  /**
   * Starts the closing handshake, and does not wait on the peer for it: a link that never authenticated is cut
   * once what was queued (e.g. the handshake's error frame) had a turn to go out; any other is cut after
   * `closeGraceMs` if the peer has not answered. (`ws` alone would keep the socket for 30 s.)
   */
  #closeSocket(ws: WebSocket, reason: string, unauthenticated: boolean): void {
    ws.close(1000, shortReason(reason));
    const cut = (): void => {
      if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
    };
    if (unauthenticated) return void setImmediate(cut);
    setTimeout(cut, this.#o.closeGraceMs).unref();
  }

  #background(error: EparaError): void {
    this.#o.logger.warn({ err: error }, error.message);
    this.emit('errored', { error });
  }

  /**
   * One timer for all links: ping each, and cut those silent for longer than the dead-peer timeout — silent while
   * this process ran. A tick that comes late (the process was stopped, its event loop blocked) credits every link
   * with the lateness: what the peers sent meanwhile waits unread in the sockets, and this tick runs before it is
   * read. Before, a process stopped past the timeout cut every live link on its first look after resuming (and
   * then held every peer dead in its view).
   */
  #startKeepalive(): void {
    if (this.#keepalive !== undefined) return;
    let lastTick = performance.now();
    this.#keepalive = setInterval(() => {
      const now = performance.now();
      const stalledMs = now - lastTick - this.#o.keepaliveIntervalMs;
      lastTick = now;
      for (const link of this.#links) {
        if (stalledMs > 0) link.lastSeenAt = Math.min(now, link.lastSeenAt + stalledMs);
        if (now - link.lastSeenAt > this.#o.deadPeerTimeoutMs) {
          link.error = new EparaError('PEER_UNAVAILABLE', `no sign of life for ${Math.round(now - link.lastSeenAt)} ms`, { remoteAddress: link.ctl.connection.remoteAddress });
          link.ws.terminate();
        } else if (link.ws.readyState === WebSocket.OPEN) link.ws.ping();
      }
    }, this.#o.keepaliveIntervalMs);
    this.#keepalive.unref();
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    clearInterval(this.#keepalive);
    for (const ws of this.#dials) ws.terminate();
    const links = [...this.#links];
    const gone = Promise.all(links.map((l) => (l.ws.readyState === WebSocket.CLOSED ? undefined : new Promise((r) => l.ws.once('close', r)))));
    for (const l of links) l.ctl.connection.close('transport closed');
    const grace = setTimeout(() => links.forEach((l) => l.ws.terminate()), this.#o.closeGraceMs);
    await gone;
    clearTimeout(grace);
    const server = this.#server;
    if (server === undefined) return;
    server.off('upgrade', this.#onUpgrade);
    if (this.#o.server !== undefined) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

/**
 * Creates the default {@link Transport}: binary WebSocket frames over `ws`, on its own HTTP(S) server or
 * attached to the host's server via `upgrade` handling on `path`. Compression off, `maxPayload` enforced,
 * ping/pong keepalive with a dead-peer timeout, `wss://` with the `tls` options.
 *
 * @example
 * ```ts
 * const transport = createWebSocketTransport({ port: 0 });
 * const { address } = await transport.listen(); // 'ws://127.0.0.1:41234/epara'
 * const conn = await createWebSocketTransport().connect(address);
 * ```
 * @throws EparaError `INVALID_OPTIONS` for bad options.
 */
export function createWebSocketTransport(options: WebSocketTransportOptions = {}): Transport {
  return new WebSocketTransport(resolveWebSocketTransportOptions(options));
}

/** The all-zero masking key: `ws` skips the XOR pass on both ends (see `maskFrames`). */
function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

/**
 * Frames written to a link in one turn of the event loop leave in one write: the socket is corked at the first and
 * uncorked once the turn's synchronous work is done (`process.nextTick`, before the I/O phase: no frame waits for a
 * later turn). A burst of requests to one peer, or an answer and a sync ack together, cost one system call instead
 * of one per frame — the largest share of a node's CPU per offloaded request after garbage collection.
 */
function coalescer(socket: Duplex | undefined): () => void {
  if (socket === undefined) return () => undefined;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  return () => {
    if (corked) return;
    corked = true;
    socket.cork();
    process.nextTick(uncork);
  };
}
