import type { AbortSignalLike, Clock, LocalExecutor, NamedTensors, ServerId, ServiceId } from '@epara/core';
import type { Logger } from '@epara/core';

/** Options of {@link Offloader.forward}: the ring mode's deadline budget, hop limit and visited list. */
export interface OffloadForwardOptions {
  /** Absolute deadline, this node's clock (the wire carries the remaining budget). */
  readonly deadline: number;
  /** Forwards this request already took; each attempt is one more. @default 0 */
  readonly hops?: number;
  /** Servers that already saw the request (the offloader adds this server). @default [] */
  readonly visited?: readonly ServerId[];
  readonly signal?: AbortSignalLike;
  /**
   * Called for each attempt sent (`retry` from the second on), so the node can count and report it;
   * `unanswered`: the attempt before it got no answer (silence), so it may have run as well.
   */
  readonly onAttempt?: (e: { readonly hops: number; readonly retry: boolean; readonly unanswered?: boolean }) => void;
}

/**
 * A way to offload requests other than the node's transport links (e.g. NATS queue groups, see
 * `createNatsOffloader`). It serves the services this server hosts and forwards requests to whichever
 * server serves the service. Contract: every `forward` settles — with outputs or an `EparaError`
 * (`NO_INSTANCE`, `OVERLOADED`, `HOP_LIMIT`, `DEADLINE_INFEASIBLE`, `PEER_UNAVAILABLE`, `DEADLINE_EXCEEDED`,
 * `ABORTED`, `CLOSED`, or the serving side's code) —; a server that dies mid-request is retried elsewhere
 * while the deadline and hop limit allow.
 */
export interface Offloader {
  /** Starts serving these services from the local executor; resolves once remote senders can reach it. */
  serve(serviceIds: readonly ServiceId[], options?: { signal?: AbortSignalLike }): Promise<void>;
  /** Stops serving these services (requests already taken finish). */
  unserve(serviceIds: readonly ServiceId[]): void;
  /** Runs a request on another server that serves `serviceId`. */
  forward(serviceId: ServiceId, inputs: NamedTensors, options: OffloadForwardOptions): Promise<NamedTensors>;
  /** Stops serving and rejects every forward in flight with `CLOSED`. Idempotent. */
  close(): void;
  /**
   * The node drains: stop taking requests for every service (others take them), and resolve once the requests
   * already taken here are answered. Optional: without it, a drain closes the offloader at its end, which answers
   * what still runs `CLOSED`.
   */
  drain?(): Promise<void>;
}

/** What a node hands its offloader factory: spread it into the offloader's options so semantics match. */
export interface OffloaderContext {
  readonly selfId: ServerId;
  readonly executor: LocalExecutor;
  /** The node's hop limit (forwards per request). */
  readonly hopLimit: number;
  /** The node's margin before a deadline, ms. */
  readonly guardMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * Builds a node's {@link Offloader} (node option `offloader`).
 *
 * @example
 * ```ts
 * const offloader: OffloaderFactory = (ctx) => createNatsOffloader({ ...ctx, connection: nc });
 * ```
 */
export type OffloaderFactory = (context: OffloaderContext) => Offloader;

/** Whether a value has the {@link Offloader} methods. */
export function isOffloader(value: unknown): value is Offloader {
  const o = value as Partial<Offloader> | null | undefined;
  return typeof o === 'object' && o !== null && ['serve', 'unserve', 'forward', 'close'].every((k) => typeof (o as Record<string, unknown>)[k] === 'function');
}
