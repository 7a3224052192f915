import { invalidOption } from '@epara/core';
import type { AbortSignalLike } from '@epara/core';
import type { ProtocolLimits } from '../protocol/protocol-limits.js';
import { resolveProtocolLimits } from '../protocol/protocol-limits.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../transport/transport-util.js';
import { pskBytes } from './psk-proof.js';
import { resolveRateLimiterOptions } from './rate-limiter.js';
import type { RateLimiterOptions, ResolvedRateLimiterOptions } from './rate-limiter.js';

/** Options of `secureConnection`. */
export interface SecureConnectionOptions {
  /** The pre-shared key every node of the mesh holds: at least 16 random bytes (a string is taken as UTF-8). */
  readonly psk: string | Uint8Array;
  /** This node's id, sent to the peer and bound into both proofs. */
  readonly selfId: string;
  /** `client` for the side that dialed, `server` for the side that accepted. */
  readonly role: 'client' | 'server';
  /** The whole handshake must finish within this, ms; else `UNAUTHENTICATED` and the link is closed. @default 5000 */
  readonly timeoutMs?: number;
  /** Aborts the handshake (`ABORTED`, link closed). */
  readonly signal?: AbortSignalLike;
  /** A client that knows whom it dialed refuses a peer announcing another id (`UNAUTHENTICATED`). */
  readonly expectedPeerId?: string;
  /** Largest frame accepted from the authenticated peer; larger closes the link with `RATE_LIMITED`. @default 16 MiB */
  readonly maxFrameBytes?: number;
  /** Per-peer token buckets (frames/s, bytes/s); `false` disables them. @default RATE_LIMITER_DEFAULTS */
  readonly rateLimit?: RateLimiterOptions | false;
  /** Limits for decoding handshake frames. @default PROTOCOL_LIMIT_DEFAULTS */
  readonly protocolLimits?: ProtocolLimits;
}

/** Defaults of {@link SecureConnectionOptions}. */
export const SECURE_CONNECTION_DEFAULTS = { timeoutMs: 5000, maxFrameBytes: DEFAULT_MAX_FRAME_BYTES } as const;

/** Handshake frames are tiny; anything larger before authentication is refused outright. */
export const PRE_AUTH_MAX_FRAME_BYTES = 4096;

/** {@link SecureConnectionOptions} after defaults and validation. */
export interface ResolvedSecureConnectionOptions {
  readonly key: Buffer;
  readonly selfId: string;
  readonly role: 'client' | 'server';
  readonly timeoutMs: number;
  readonly signal: AbortSignalLike | undefined;
  readonly expectedPeerId: string | undefined;
  readonly maxFrameBytes: number;
  readonly rateLimit: ResolvedRateLimiterOptions | false;
  readonly protocolLimits: ProtocolLimits;
}

/**
 * Fills and validates {@link SecureConnectionOptions}.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field (the key itself is never quoted).
 */
export function resolveSecureConnectionOptions(options: SecureConnectionOptions): ResolvedSecureConnectionOptions {
  if (typeof options !== 'object' || options === null) invalidOption('options', options, 'an object');
  const { selfId, role } = options;
  if (typeof selfId !== 'string' || selfId === '') invalidOption('selfId', selfId, 'a non-empty string');
  if (role !== 'client' && role !== 'server') invalidOption('role', role, "'client' or 'server'");
  const timeoutMs = options.timeoutMs ?? SECURE_CONNECTION_DEFAULTS.timeoutMs;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) invalidOption('timeoutMs', timeoutMs, 'a positive number');
  const maxFrameBytes = options.maxFrameBytes ?? SECURE_CONNECTION_DEFAULTS.maxFrameBytes;
  if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1) invalidOption('maxFrameBytes', maxFrameBytes, 'a positive integer');
  const protocolLimits = options.protocolLimits ?? {};
  resolveProtocolLimits(protocolLimits);
  return {
    key: pskBytes(options.psk),
    selfId,
    role,
    timeoutMs,
    signal: options.signal,
    expectedPeerId: options.expectedPeerId,
    maxFrameBytes,
    rateLimit: options.rateLimit === false ? false : resolveRateLimiterOptions(options.rateLimit ?? {}),
    protocolLimits,
  };
}
