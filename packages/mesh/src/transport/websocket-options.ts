import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { invalidOption, silentLogger, type Logger } from '@epara/core';
import { DEFAULT_MAX_FRAME_BYTES } from './transport-util.js';

/** TLS material for `wss://`: the server's key and certificate, and what a dialer trusts. */
export interface WebSocketTlsOptions {
  /** PEM private key: required to listen with TLS; as a dialer, a client key for mutual TLS. */
  readonly key?: string | Buffer;
  /** PEM certificate matching `key`. */
  readonly cert?: string | Buffer;
  /** PEM certificate authorities a dialer trusts (e.g. a self-signed server certificate). @default the system roots */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Reject peers whose certificate does not verify. Keep true in production. @default true */
  readonly rejectUnauthorized?: boolean;
  /**
   * Mutual TLS: the listening side asks every dialer for a certificate signed by `ca` (and, with
   * `rejectUnauthorized`, refuses dialers without one). Dialers then need `key` and `cert`. @default false
   */
  readonly requestCert?: boolean;
}

/** Options of `createWebSocketTransport`. */
export interface WebSocketTransportOptions {
  /** Interface to bind when the transport runs its own server. Keep it on loopback or a private network. @default '127.0.0.1' */
  readonly host?: string;
  /** Port of its own server; 0 picks a free one. @default 0 */
  readonly port?: number;
  /**
   * A host HTTP(S) server to attach to instead of running one: the transport handles `upgrade` requests on
   * `path` and leaves every other request and path alone. The host starts and stops the server.
   */
  readonly server?: HttpServer | HttpsServer;
  /** URL path that accepts mesh connections. @default '/epara' */
  readonly path?: string;
  /** Serve `wss://` with this key/cert, and dial `wss://` trusting `ca`. With `server`, the host's server owns TLS. */
  readonly tls?: WebSocketTlsOptions;
  /** Largest frame sent or accepted, bytes (ws `maxPayload`); a larger incoming frame closes the link. @default 16 MiB */
  readonly maxFrameBytes?: number;
  /** How often each link is pinged, ms. @default 5000 */
  readonly keepaliveIntervalMs?: number;
  /** A link that shows no sign of life (frame, ping or pong) for this long is dropped as dead, ms. @default 15000 */
  readonly deadPeerTimeoutMs?: number;
  /** Limit for a dial's TCP + TLS + HTTP upgrade, ms; then `PEER_UNAVAILABLE`. @default 5000 */
  readonly connectTimeoutMs?: number;
  /** After `close()` asks peers to close cleanly, links still open after this long are cut, ms. @default 1000 */
  readonly closeGraceMs?: number;
  /**
   * Mask outgoing frames with random keys (RFC 6455 §5.3). Masking protects HTTP intermediaries from cache
   * poisoning by hostile browser scripts; between authenticated servers it only costs time (`ws` masks in
   * JavaScript: about 0.4 ms per 100 KB each way here). When `false`, dialed links use the all-zero key, which
   * RFC 6455 permits and which `ws` skips on both ends. Turn it on when a proxy you do not control sits between
   * nodes. @default false
   */
  readonly maskFrames?: boolean;
  /**
   * Bytes an inbound link may send before its handshake succeeds (counted on the socket, so no large frame
   * is buffered first); past it the link is cut. The PSK handshake needs a few hundred. @default 65536
   */
  readonly preAuthMaxBytes?: number;
  /** Inbound links allowed to be mid-handshake at once; further upgrade requests get HTTP 503. @default 64 */
  readonly maxUnauthenticatedLinks?: number;
  /** Where diagnostics go. @default silent */
  readonly logger?: Logger;
}

/** Defaults of {@link WebSocketTransportOptions}. */
export const WEBSOCKET_TRANSPORT_DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  path: '/epara',
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  keepaliveIntervalMs: 5000,
  deadPeerTimeoutMs: 15_000,
  connectTimeoutMs: 5000,
  closeGraceMs: 1000,
  maskFrames: false,
  preAuthMaxBytes: 65_536,
  maxUnauthenticatedLinks: 64,
} as const;

/** {@link WebSocketTransportOptions} after defaults and validation. */
export interface ResolvedWebSocketTransportOptions
  extends Required<Omit<WebSocketTransportOptions, 'server' | 'tls'>> {
  readonly server: HttpServer | HttpsServer | undefined;
  readonly tls: WebSocketTlsOptions | undefined;
}

function positiveInt(field: string, value: number, min = 1): number {
  if (!Number.isInteger(value) || value < min) invalidOption(field, value, `an integer >= ${min}`);
  return value;
}

/**
 * Fills and validates {@link WebSocketTransportOptions}.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field and value.
 */
export function resolveWebSocketTransportOptions(options: WebSocketTransportOptions = {}): ResolvedWebSocketTransportOptions {
  const d = WEBSOCKET_TRANSPORT_DEFAULTS;
  const o = { ...d, ...options };
  if (typeof o.host !== 'string' || o.host === '') invalidOption('host', o.host, 'a non-empty string');
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65_535) invalidOption('port', o.port, 'an integer in [0, 65535]');
  if (typeof o.path !== 'string' || !o.path.startsWith('/')) invalidOption('path', o.path, "a string starting with '/'");
  if (o.server !== undefined && (typeof o.server !== 'object' || typeof o.server.on !== 'function')) {
    invalidOption('server', o.server, 'a node:http or node:https Server');
  }
  if (o.tls !== undefined && (typeof o.tls !== 'object' || o.tls === null)) invalidOption('tls', o.tls, 'an object');
  if (o.tls !== undefined && (o.tls.key === undefined) !== (o.tls.cert === undefined)) {
    invalidOption('tls.cert', o.tls.cert, 'given together with tls.key');
  }
  positiveInt('maxFrameBytes', o.maxFrameBytes);
  positiveInt('keepaliveIntervalMs', o.keepaliveIntervalMs);
  positiveInt('deadPeerTimeoutMs', o.deadPeerTimeoutMs);
  if (o.deadPeerTimeoutMs <= o.keepaliveIntervalMs) {
    invalidOption('deadPeerTimeoutMs', o.deadPeerTimeoutMs, `greater than keepaliveIntervalMs (${o.keepaliveIntervalMs})`);
  }
  positiveInt('connectTimeoutMs', o.connectTimeoutMs);
  positiveInt('closeGraceMs', o.closeGraceMs, 0);
  positiveInt('preAuthMaxBytes', o.preAuthMaxBytes, 1024);
  positiveInt('maxUnauthenticatedLinks', o.maxUnauthenticatedLinks);
  if (typeof o.maskFrames !== 'boolean') invalidOption('maskFrames', o.maskFrames, 'a boolean');
  return {
    ...o,
    server: options.server,
    tls: options.tls,
    logger: options.logger ?? silentLogger,
  };
}
