import type { NatsConnection } from '@nats-io/transport-node';
import { invalidOption } from '@epara/core';
import { DEFAULT_MAX_FRAME_BYTES } from '@epara/mesh/wire';
import type { Logger } from '@epara/core';
import { silentLogger } from '@epara/core';
import type { NatsAuth, NatsTlsOptions } from './nats-connect.js';

/** Options of `createNatsTransport`. Give either `connection` or `servers`. */
export interface NatsTransportOptions {
  /** An open NATS connection to ride on; the transport never closes it (the host does). */
  readonly connection?: NatsConnection;
  /** NATS server URLs; the transport opens (on first use) and closes its own connection. */
  readonly servers?: string | readonly string[];
  /** Credentials for `servers`. */
  readonly auth?: NatsAuth;
  /** TLS towards `servers`. */
  readonly tls?: NatsTlsOptions;
  /** This transport's name: its address is `<subjectPrefix>.peer.<name>`. @default a random id */
  readonly name?: string;
  /** First token(s) of every subject it uses. @default 'epara' */
  readonly subjectPrefix?: string;
  /** Largest frame sent or accepted, bytes; larger frames travel in chunks under the server's max_payload. @default 16 MiB */
  readonly maxFrameBytes?: number;
  /** How often a link with no incoming traffic is probed (a request the peer answers), ms. @default 5000 */
  readonly keepaliveIntervalMs?: number;
  /** A probe unanswered this long closes the link with `PEER_UNAVAILABLE`, ms. @default 15000 */
  readonly deadPeerTimeoutMs?: number;
  /**
   * Inbound links allowed mid-handshake at once (a handshake started on them, not finished); a hello past it is
   * refused (the dialer gets `PEER_UNAVAILABLE`, "busy"). Anyone who may publish on the broker can send hellos.
   * @default 64
   */
  readonly maxUnauthenticatedLinks?: number;
  /**
   * Bytes an inbound link may receive (and frame lengths it may announce) before it authenticates; past it the
   * link is closed `PROTOCOL_ERROR`, so no large frame is assembled first. @default 65 536
   */
  readonly preAuthMaxBytes?: number;
  /** Limit for a dial's handshake, ms; then `PEER_UNAVAILABLE`. @default 5000 */
  readonly connectTimeoutMs?: number;
  /** Where diagnostics go. @default silent */
  readonly logger?: Logger;
}

/** Defaults of {@link NatsTransportOptions}. */
export const NATS_TRANSPORT_DEFAULTS = {
  subjectPrefix: 'epara',
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  keepaliveIntervalMs: 5000,
  deadPeerTimeoutMs: 15_000,
  connectTimeoutMs: 5000,
  maxUnauthenticatedLinks: 64,
  preAuthMaxBytes: 64 * 1024,
} as const;

/** {@link NatsTransportOptions} after defaults and validation. */
export interface ResolvedNatsTransportOptions {
  readonly connection: NatsConnection | undefined;
  readonly servers: readonly string[] | undefined;
  readonly auth: NatsAuth | undefined;
  readonly tls: NatsTlsOptions | undefined;
  readonly name: string;
  readonly subjectPrefix: string;
  readonly maxFrameBytes: number;
  readonly keepaliveIntervalMs: number;
  readonly deadPeerTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxUnauthenticatedLinks: number;
  readonly preAuthMaxBytes: number;
  readonly logger: Logger;
}

const TOKEN = /^[A-Za-z0-9_-]+$/;
const SUBJECT = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

function positiveInt(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) invalidOption(field, value, 'an integer >= 1');
  return value;
}

/** A random subject-safe id. */
export function randomToken(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * Fills and validates {@link NatsTransportOptions}.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field and value.
 */
export function resolveNatsTransportOptions(options: NatsTransportOptions): ResolvedNatsTransportOptions {
  if (typeof options !== 'object' || options === null) invalidOption('options', options, 'an object');
  const o = { ...NATS_TRANSPORT_DEFAULTS, ...options };
  if ((o.connection === undefined) === (o.servers === undefined)) {
    invalidOption('servers', o.servers, 'given when (and only when) `connection` is not');
  }
  if (o.connection !== undefined && typeof o.connection.publish !== 'function') invalidOption('connection', o.connection, 'a NatsConnection');
  const servers = o.servers === undefined ? undefined : typeof o.servers === 'string' ? [o.servers] : [...o.servers];
  const name = o.name ?? randomToken();
  if (typeof name !== 'string' || !TOKEN.test(name)) invalidOption('name', name, 'a subject token ([A-Za-z0-9_-]+)');
  if (typeof o.subjectPrefix !== 'string' || !SUBJECT.test(o.subjectPrefix)) invalidOption('subjectPrefix', o.subjectPrefix, 'dot-separated subject tokens');
  positiveInt('maxFrameBytes', o.maxFrameBytes);
  positiveInt('keepaliveIntervalMs', o.keepaliveIntervalMs);
  positiveInt('deadPeerTimeoutMs', o.deadPeerTimeoutMs);
  positiveInt('connectTimeoutMs', o.connectTimeoutMs);
  positiveInt('maxUnauthenticatedLinks', o.maxUnauthenticatedLinks);
  positiveInt('preAuthMaxBytes', o.preAuthMaxBytes);
  if (o.deadPeerTimeoutMs <= o.keepaliveIntervalMs) {
    invalidOption('deadPeerTimeoutMs', o.deadPeerTimeoutMs, `greater than keepaliveIntervalMs (${o.keepaliveIntervalMs})`);
  }
  return {
    connection: o.connection,
    servers,
    auth: o.auth,
    tls: o.tls,
    name,
    subjectPrefix: o.subjectPrefix,
    maxFrameBytes: o.maxFrameBytes,
    keepaliveIntervalMs: o.keepaliveIntervalMs,
    deadPeerTimeoutMs: o.deadPeerTimeoutMs,
    connectTimeoutMs: o.connectTimeoutMs,
    maxUnauthenticatedLinks: o.maxUnauthenticatedLinks,
    preAuthMaxBytes: o.preAuthMaxBytes,
    logger: o.logger ?? silentLogger,
  };
}
