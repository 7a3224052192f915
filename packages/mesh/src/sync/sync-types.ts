import type { ServerId } from '@epara/core';
import type { WireEntryStub, WireViewEntry } from '../protocol/view-codec.js';

/**
 * A server entry as it travels on the ring. It carries an age instead of an absolute time, so clocks of
 * different servers never need to agree: each holder adds the time it kept the token, and the receiver
 * turns the age into its own clock (`updatedAt = now − ageMs`). The protocol's codec defines the shape.
 */
export type WireEntry = WireViewEntry;

/** A heartbeat for an entry whose content did not change: identity, version and age only. */
export type EntryStub = WireEntryStub;

/**
 * The token that circulates the ring each sync period. It starts at `origin` and ends when it returns there
 * (or reaches a server that has already seen it). It carries full entries only for what changed recently
 * (deltas) and stubs for the rest, unless `full` is set.
 */
export interface SyncToken {
  readonly origin: ServerId;
  /** The origin's epoch: rounds restart from 1 when a server restarts, so tokens are keyed by both. */
  readonly epoch: number;
  readonly round: number;
  readonly full: boolean;
  /** Servers that saw a stub newer than what they hold and ask the next round to carry full entries. */
  readonly wantFull: boolean;
  readonly entries: readonly WireEntry[];
  readonly stubs: readonly EntryStub[];
}

/** The two messages of ring sync: a token for the successor, and the successor's acknowledgement. */
export type SyncMessage =
  | { readonly kind: 'token'; readonly from: ServerId; readonly token: SyncToken }
  | { readonly kind: 'ack'; readonly from: ServerId; readonly origin: ServerId; readonly epoch: number; readonly round: number };
