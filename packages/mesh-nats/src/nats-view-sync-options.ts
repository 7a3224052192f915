import type { NatsConnection } from '@nats-io/transport-node';
import { invalidOption } from '@epara/core';
import { monotonicClock } from '@epara/mesh';
import type { Clock, EparaError, ServerId } from '@epara/core';
import type { SelfState } from '@epara/mesh';
import { silentLogger } from '@epara/core';
import { isLogger } from '@epara/core/internal';
import type { Logger } from '@epara/core';
import { createSystemTimers } from '@epara/core';
import type { Timers } from '@epara/core';

/** Options of `createNatsViewSync`. */
export interface NatsViewSyncOptions {
  /** An open NATS connection to a server with JetStream enabled; the sync never closes it. */
  readonly connection: NatsConnection;
  /** This server's id (its KV key is derived from it). */
  readonly selfId: ServerId;
  /** This server's own state, read before every write (the node's `readSelf`). */
  readonly readSelf: () => SelfState;
  /** Incarnation number; must grow across restarts. @default clock.now() at creation */
  readonly epoch?: number;
  /** The KV bucket every server of the cluster shares. @default 'epara-view' */
  readonly bucket?: string;
  /** How often this server rewrites its entry (also its heartbeat), ms. @default 500 */
  readonly periodMs?: number;
  /** A peer whose entry was not rewritten for this long is marked dead, ms. @default 4 × periodMs */
  readonly deadAfterMs?: number;
  /** Bucket max age: entries of servers gone this long vanish from the store, ms (set when the bucket is created). @default 60000 */
  readonly ttlMs?: number;
  /** Bucket replicas in a clustered JetStream (1, 3 or 5; set at creation). @default 1 */
  readonly replicas?: number;
  /**
   * Measures how long a peer's entry went unrewritten (death after `deadAfterMs`) and keeps the view's
   * `updatedAt`; it must not step with the wall clock. A node passes its own monotonic clock. @default monotonicClock
   */
  readonly clock?: Clock;
  /** @default createSystemTimers() */
  readonly timers?: Timers;
  /** @default silent */
  readonly logger?: Logger;
  /** Background failures (a write or the watch failed, a malformed entry); sync keeps running. @default ignore (they are logged) */
  readonly onError?: (error: EparaError) => void;
}

/** Defaults of {@link NatsViewSyncOptions}. */
export const NATS_VIEW_SYNC_DEFAULTS = { bucket: 'epara-view', periodMs: 500, ttlMs: 60_000, replicas: 1 } as const;

/** {@link NatsViewSyncOptions} after defaults and validation. */
export interface ResolvedNatsViewSyncOptions {
  readonly connection: NatsConnection;
  readonly selfId: ServerId;
  readonly readSelf: () => SelfState;
  readonly epoch: number;
  readonly bucket: string;
  readonly periodMs: number;
  readonly deadAfterMs: number;
  readonly ttlMs: number;
  readonly replicas: number;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly logger: Logger;
  readonly onError: (error: EparaError) => void;
}

function positiveInt(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) invalidOption(field, value, 'an integer >= 1');
  return value;
}

/**
 * Fills and validates {@link NatsViewSyncOptions}.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field and value.
 */
export function resolveNatsViewSyncOptions(options: NatsViewSyncOptions): ResolvedNatsViewSyncOptions {
  if (typeof options !== 'object' || options === null) invalidOption('options', options, 'an object');
  const d = NATS_VIEW_SYNC_DEFAULTS;
  const o = options;
  if (typeof o.connection?.publish !== 'function') invalidOption('connection', o.connection, 'a NatsConnection');
  if (typeof o.selfId !== 'string' || o.selfId === '') invalidOption('selfId', o.selfId, 'a non-empty string');
  if (typeof o.readSelf !== 'function') invalidOption('readSelf', o.readSelf, 'a function');
  const clock = o.clock ?? monotonicClock;
  const epoch = o.epoch ?? Math.floor(clock.now());
  if (!Number.isInteger(epoch) || epoch < 0) invalidOption('epoch', epoch, 'an integer >= 0');
  const bucket = o.bucket ?? d.bucket;
  if (typeof bucket !== 'string' || !/^[A-Za-z0-9_-]+$/.test(bucket)) invalidOption('bucket', bucket, 'a bucket name ([A-Za-z0-9_-]+)');
  const periodMs = positiveInt('periodMs', o.periodMs ?? d.periodMs);
  const deadAfterMs = positiveInt('deadAfterMs', o.deadAfterMs ?? 4 * periodMs);
  if (deadAfterMs <= periodMs) invalidOption('deadAfterMs', deadAfterMs, `greater than periodMs (${periodMs})`);
  const ttlMs = positiveInt('ttlMs', o.ttlMs ?? d.ttlMs);
  if (ttlMs <= deadAfterMs) invalidOption('ttlMs', ttlMs, `greater than deadAfterMs (${deadAfterMs})`);
  const replicas = o.replicas ?? d.replicas;
  if (![1, 3, 5].includes(replicas)) invalidOption('replicas', replicas, '1, 3 or 5');
  if (o.logger !== undefined && !isLogger(o.logger)) invalidOption('logger', o.logger, 'a pino-compatible logger');
  if (o.onError !== undefined && typeof o.onError !== 'function') invalidOption('onError', o.onError, 'a function');
  return {
    connection: o.connection,
    selfId: o.selfId,
    readSelf: o.readSelf,
    epoch,
    bucket,
    periodMs,
    deadAfterMs,
    ttlMs,
    replicas,
    clock,
    timers: o.timers ?? createSystemTimers(clock),
    logger: o.logger ?? silentLogger,
    onError: o.onError ?? (() => undefined),
  };
}
