import type { NatsConnection } from '@nats-io/transport-node';
import { invalidOption, systemClock } from '@epara/core';
import type { Clock, LocalExecutor, ServerId } from '@epara/core';
import type { ProtocolLimits } from '@epara/mesh/wire';
import { silentLogger } from '@epara/core';
import { isLogger } from '@epara/core/internal';
import type { Logger } from '@epara/core';

/** Options of `createNatsOffloader`. */
export interface NatsOffloaderOptions {
  /** An open NATS connection; the offloader never closes it. */
  readonly connection: NatsConnection;
  /** This server's id: written into `visited`, and never served twice for one request. */
  readonly selfId: ServerId;
  /** Runs the requests this server serves (the core `LocalExecutor` port). */
  readonly executor: LocalExecutor;
  /** First token(s) of the subjects: services listen on `<subjectPrefix>.svc.<serviceId>`. @default 'epara' */
  readonly subjectPrefix?: string;
  /** Most forwards per request, as in ring mode: each attempt is one hop. @default 2 */
  readonly hopLimit?: number;
  /** Margin kept before a deadline, ms. @default 1 */
  readonly guardMs?: number;
  /**
   * A server must answer (progress, decline or result) within this, else the attempt failed and is retried,
   * ms; greater than `progressIntervalMs`. @default 250
   */
  readonly acceptTimeoutMs?: number;
  /** A serving server reports progress this often while it runs a request, ms. @default 100 */
  readonly progressIntervalMs?: number;
  /** A server silent this long after taking a request is presumed dead: retry elsewhere or reject, ms. @default 500 */
  readonly deadAfterMs?: number;
  /**
   * `serve` waits at most this for the broker to confirm the subscriptions, then rejects `PEER_UNAVAILABLE` (the
   * subscriptions stay, and serve once the broker answers), ms. @default 2000
   */
  readonly serveTimeoutMs?: number;
  /** Largest deadline budget a remote sender may ask for, ms. @default 60000 */
  readonly maxBudgetMs?: number;
  /** Wire limits for the payload frames (size, tensors). @default the protocol defaults */
  readonly limits?: ProtocolLimits;
  /** @default systemClock */
  readonly clock?: Clock;
  /** @default silent */
  readonly logger?: Logger;
}

/** Defaults of {@link NatsOffloaderOptions}. */
export const NATS_OFFLOADER_DEFAULTS = {
  subjectPrefix: 'epara',
  hopLimit: 2,
  guardMs: 1,
  acceptTimeoutMs: 250,
  progressIntervalMs: 100,
  deadAfterMs: 500,
  serveTimeoutMs: 2000,
  maxBudgetMs: 60_000,
} as const;

/** {@link NatsOffloaderOptions} after defaults and validation. */
export type ResolvedNatsOffloaderOptions = Required<Omit<NatsOffloaderOptions, 'limits'>> & { readonly limits: ProtocolLimits | undefined };

function positive(field: string, value: unknown, min = 1): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) invalidOption(field, value, `a number >= ${min}`);
  return value;
}

/**
 * Fills and validates {@link NatsOffloaderOptions}.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field and value.
 */
export function resolveNatsOffloaderOptions(options: NatsOffloaderOptions): ResolvedNatsOffloaderOptions {
  if (typeof options !== 'object' || options === null) invalidOption('options', options, 'an object');
  const d = NATS_OFFLOADER_DEFAULTS;
  const o = { ...d, ...options };
  if (typeof o.connection?.publish !== 'function') invalidOption('connection', o.connection, 'a NatsConnection');
  if (typeof o.selfId !== 'string' || o.selfId === '') invalidOption('selfId', o.selfId, 'a non-empty string');
  if (typeof o.executor?.submit !== 'function' || typeof o.executor.estimate !== 'function') invalidOption('executor', o.executor, 'a LocalExecutor');
  if (typeof o.subjectPrefix !== 'string' || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(o.subjectPrefix)) {
    invalidOption('subjectPrefix', o.subjectPrefix, 'dot-separated subject tokens');
  }
  if (!Number.isInteger(o.hopLimit) || o.hopLimit < 1) invalidOption('hopLimit', o.hopLimit, 'an integer >= 1');
  positive('guardMs', o.guardMs, 0);
  positive('acceptTimeoutMs', o.acceptTimeoutMs);
  positive('progressIntervalMs', o.progressIntervalMs);
  positive('deadAfterMs', o.deadAfterMs);
  if (o.deadAfterMs <= o.progressIntervalMs) invalidOption('deadAfterMs', o.deadAfterMs, `greater than progressIntervalMs (${o.progressIntervalMs})`);
  if (o.acceptTimeoutMs <= o.progressIntervalMs) invalidOption('acceptTimeoutMs', o.acceptTimeoutMs, `greater than progressIntervalMs (${o.progressIntervalMs})`);
  positive('serveTimeoutMs', o.serveTimeoutMs);
  positive('maxBudgetMs', o.maxBudgetMs);
  if (o.logger !== undefined && !isLogger(o.logger)) invalidOption('logger', o.logger, 'a pino-compatible logger');
  return { ...o, clock: o.clock ?? systemClock, logger: o.logger ?? silentLogger, limits: options.limits };
}
