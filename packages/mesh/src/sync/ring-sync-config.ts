import type { Clock, ServerId } from '@epara/core';
import type { Logger } from '@epara/core';
import type { Timers } from '@epara/core';
import type { EntryRun } from '../protocol/view-codec.js';
import type { FaultInjector } from './sync-faults.js';
import type { SyncMessage } from './sync-types.js';
import type { SelfState } from './view-store.js';
import type { ViewUpdate } from './view-sync.js';

/** Where a sync message goes: a known server, or (to join) just an address. */
export interface SyncTarget {
  readonly id?: ServerId;
  readonly address?: string;
}

/** Resolved settings and ports of a {@link RingSync}. */
export interface RingSyncConfig {
  readonly selfId: ServerId;
  readonly epoch: number;
  /**
   * This process's run (its announced epoch and random instance). Given, this server's entry carries it, and a
   * live entry of this id written by a newer run is not outbid: this run was replaced. Without it, any larger
   * epoch of this id is outbid (a previous life's entry).
   */
  readonly run?: EntryRun;
  /** Measures liveness and entry ages; must not step with the wall clock (the node passes its monotonic clock). */
  readonly clock: Clock;
  readonly timers: Timers;
  readonly periodMs: number;
  readonly ackTimeoutMs: number;
  /** Sends to the same successor before it is suspected (bypassed for that token). */
  readonly attempts: number;
  /**
   * A suspected successor is declared dead only once no sign of life from it (a message of its own, or a
   * fresher stamp of its entry in anyone's token) is younger than this, ms.
   * @default max(3 × periodMs, 2 × attempts × ackTimeoutMs)
   */
  readonly suspicionMs?: number;
  /**
   * Dead entries are forgotten once their last stamp is older than this, ms (docs/mesh.md, *Forgetting the
   * dead*). @default 3 600 000 (an hour)
   */
  readonly deadRetentionMs?: number;
  /** At most this many dead entries are kept; past it the oldest-stamped are forgotten. @default 256 */
  readonly maxDeadEntries?: number;
  /** Every this many rounds a token carries every entry in full (anti-entropy). */
  readonly fullEvery: number;
  readonly seeds: readonly string[];
  readonly faults: FaultInjector;
  readonly logger: Logger;
  readonly readSelf: () => SelfState;
  /** Fire-and-forget delivery; failures show up as missing acks. */
  readonly send: (to: SyncTarget, message: SyncMessage) => void;
}

/** Events of a {@link RingSync}. */
export interface RingSyncEvents {
  /** A token this server started came back: every alive server has merged and updated it. */
  roundCompleted: [{ origin: ServerId; round: number; hops: number; durationMs: number }];
  peerJoined: [{ serverId: ServerId; epoch: number }];
  peerLeft: [{ serverId: ServerId; reason: 'ack-timeout' | 'reported' | 'link-closed' }];
  /** The view changed (any entry updated); `{ own: true }` when only this server's own entry did. */
  viewUpdated: [update?: ViewUpdate];
}
