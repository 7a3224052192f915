import type { Clock, ClusterView, ServerEntry, ServerId } from '@epara/core';
import type { Logger } from '@epara/core';
import type { Timers } from '@epara/core';
import type { SyncMessage } from './sync-types.js';
import type { SelfState } from './view-store.js';

/**
 * What a `viewUpdated` changed, when the sync knows it was only this server's own entry (rewritten from
 * `readSelf()`: its load, rates, instances). A sync that does not say (no argument) changed any entry.
 */
export interface ViewUpdate {
  readonly own: true;
}

/** Events a view synchronization reports to its node. */
export interface ViewSyncEvents {
  /**
   * Some entry of the view changed: this server's own entry too (the node's `whenView` waits on it). `{ own: true }`
   * says only the own entry did, so the node can leave what reacts to peers alone.
   */
  viewUpdated: [update?: ViewUpdate];
  peerJoined: [{ serverId: ServerId; epoch: number }];
  peerLeft: [{ serverId: ServerId; reason: string }];
  /** One synchronization round of this server finished (a ring rotation, a KV write…). */
  roundCompleted: [{ origin: ServerId; round: number; hops: number; durationMs: number }];
}

/**
 * How a node keeps its cluster view: the token ring ({@link RingSync}, the default) or another mechanism a
 * host plugs in with `createNode({ viewSync })` (e.g. a key-value store with watches). Entries in the view
 * keep `updatedAt` on the context's `clock` (the node's monotonic clock).
 */
export interface ViewSync {
  /** Subscribes to {@link ViewSyncEvents} (an eventemitter3 emitter with these events, and possibly more, fits). */
  on<K extends keyof ViewSyncEvents>(event: K, listener: (...args: ViewSyncEvents[K]) => void): unknown;
  readonly store: {
    view(): ClusterView;
    get(id: ServerId): ServerEntry | undefined;
    readonly self: ServerEntry;
    /** The run (epoch it announced at start, random instance) that wrote an entry, for a sync whose entries carry one. */
    runOf?(id: ServerId): { readonly epoch: number; readonly instance: number } | undefined;
  };
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
  /** The node saw a peer fail (its link closed…): mark it dead now. */
  reportDead(id: ServerId, reason?: 'reported' | 'link-closed'): void;
  /** Ring-sync messages from authenticated peers; a sync that does not use the transport leaves this out. */
  receive?(message: SyncMessage, reply: (m: SyncMessage) => void): void;
}

/** What the node hands a {@link ViewSyncFactory}. */
export interface ViewSyncContext {
  readonly selfId: ServerId;
  readonly epoch: number;
  /**
   * The node's monotonic clock (its `monotonicClock` option): measure liveness and entry ages on it and keep
   * `updatedAt` on it, so a wall-clock step neither kills live peers nor keeps dead ones. The node moves the
   * ages onto its deadline clock when it routes.
   */
  readonly clock: Clock;
  readonly timers: Timers;
  readonly logger: Logger;
  /** This server's own entry content, read fresh (instances, load, free memory, arrival rates, address). */
  readonly readSelf: () => SelfState;
}

/** Builds the view synchronization of a node. */
export type ViewSyncFactory = (context: ViewSyncContext) => ViewSync;
