import { connect } from '@nats-io/transport-node';
import type { NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';
import { EparaError, invalidOption } from '@epara/core';
import type { AbortSignalLike } from '@epara/core';

/** An open connection of the NATS client (`@nats-io/transport-node`), as `connectNats` returns it. */
export type { NatsConnection };

/** NATS credentials: user/password or a token (as the server was started with `--user/--pass` or `--auth`). */
export type NatsAuth = { readonly user: string; readonly pass: string } | { readonly token: string };

/** TLS towards the NATS server, passed through to the client (`ca`/`cert`/`key` as PEM text or file paths). */
export interface NatsTlsOptions {
  /** PEM CA certificates the client trusts. */
  readonly ca?: string;
  /** PEM client certificate (mutual TLS). */
  readonly cert?: string;
  /** PEM client key (mutual TLS). */
  readonly key?: string;
  /** Paths instead of PEM text. */
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Start TLS before the NATS INFO exchange (servers configured with `handshake_first`). @default false */
  readonly handshakeFirst?: boolean;
}

/** How to reach a NATS deployment. */
export interface NatsConnectOptions {
  /** Server URLs (`nats://127.0.0.1:4222`, or several for a cluster). */
  readonly servers: string | readonly string[];
  /** Credentials; omitted for an open server. */
  readonly auth?: NatsAuth;
  /** TLS options; when set the client insists on TLS. */
  readonly tls?: NatsTlsOptions;
  /** Client name shown by the server's monitoring. @default 'epara' */
  readonly name?: string;
  /** Limit for the initial connection, ms. @default 5000 */
  readonly timeoutMs?: number;
  /**
   * Reconnect attempts per server after the connection is lost before the client gives up and closes for good
   * (every forward and serve then rejects `CLOSED`, and the transport and view stop); `-1` never gives up, so a
   * node rides out a broker outage of any length. @default -1
   */
  readonly maxReconnectAttempts?: number;
  /** Wait between reconnect attempts, ms (plus the client's jitter). @default 2000 */
  readonly reconnectWaitMs?: number;
}

/**
 * Opens a NATS connection and maps its failures to EPARA codes. The caller owns the connection and closes it.
 *
 * @throws EparaError `UNAUTHENTICATED` when the server refuses the credentials; `PEER_UNAVAILABLE` when no
 * server can be reached; `INVALID_OPTIONS` for malformed options; `ABORTED` when `signal` fires first.
 * @example
 * ```ts
 * const nc = await connectNats({ servers: 'nats://127.0.0.1:4222', auth: { token: 's3cret' } });
 * ```
 */
export async function connectNats(options: NatsConnectOptions, { signal }: { signal?: AbortSignalLike } = {}): Promise<NatsConnection> {
  const opts = toClientOptions(options);
  if (signal?.aborted) throw new EparaError('ABORTED', 'aborted before connecting to NATS');
  let nc: NatsConnection;
  try {
    nc = await connect(opts);
  } catch (err) {
    throw mapConnectError(err, opts.servers);
  }
  if (signal?.aborted) {
    await nc.close();
    throw new EparaError('ABORTED', 'aborted while connecting to NATS');
  }
  return nc;
}

/** Maps a NATS client error to an `EparaError` (auth failures to `UNAUTHENTICATED`). */
export function mapConnectError(err: unknown, servers: unknown): EparaError {
  const e = err as { name?: string; message?: string; code?: string };
  const message = e?.message ?? String(err);
  if (e?.name === 'AuthorizationError' || /authoriz|authenticat/i.test(message)) {
    return new EparaError('UNAUTHENTICATED', `NATS refused the credentials: ${message}`, { servers }, { cause: err });
  }
  return new EparaError('PEER_UNAVAILABLE', `cannot connect to NATS: ${message}`, { servers }, { cause: err });
}

function toClientOptions(o: NatsConnectOptions): NodeConnectionOptions & { servers: string[] } {
  if (typeof o !== 'object' || o === null) invalidOption('options', o, 'an object');
  const servers = typeof o.servers === 'string' ? [o.servers] : Array.isArray(o.servers) ? [...o.servers] : [];
  if (servers.length === 0 || servers.some((s) => typeof s !== 'string' || s === '')) {
    invalidOption('servers', o.servers, 'a URL string or a non-empty array of URL strings');
  }
  const timeout = o.timeoutMs ?? 5000;
  if (!Number.isInteger(timeout) || timeout <= 0) invalidOption('timeoutMs', o.timeoutMs, 'a positive integer');
  const maxReconnectAttempts = o.maxReconnectAttempts ?? -1;
  if (!Number.isInteger(maxReconnectAttempts) || maxReconnectAttempts < -1) invalidOption('maxReconnectAttempts', o.maxReconnectAttempts, 'an integer ≥ 0, or -1 for never giving up');
  const reconnectTimeWait = o.reconnectWaitMs ?? 2000;
  if (!Number.isInteger(reconnectTimeWait) || reconnectTimeWait <= 0) invalidOption('reconnectWaitMs', o.reconnectWaitMs, 'a positive integer');
  const out: NodeConnectionOptions & { servers: string[] } = { servers, name: o.name ?? 'epara', timeout, maxReconnectAttempts, reconnectTimeWait };
  if (o.auth !== undefined) Object.assign(out, authOptions(o.auth));
  if (o.tls !== undefined) {
    if (typeof o.tls !== 'object' || o.tls === null) invalidOption('tls', o.tls, 'an object');
    out.tls = { ...o.tls };
  }
  return out;
}

function authOptions(auth: NatsAuth): { user: string; pass: string } | { token: string } {
  if (typeof auth !== 'object' || auth === null) invalidOption('auth', auth, '{ user, pass } or { token }');
  if ('token' in auth) {
    if (typeof auth.token !== 'string' || auth.token === '') invalidOption('auth.token', auth.token, 'a non-empty string');
    return { token: auth.token };
  }
  if (typeof auth.user !== 'string' || auth.user === '') invalidOption('auth.user', auth.user, 'a non-empty string');
  if (typeof auth.pass !== 'string') invalidOption('auth.pass', auth.pass, 'a string');
  return { user: auth.user, pass: auth.pass };
}
