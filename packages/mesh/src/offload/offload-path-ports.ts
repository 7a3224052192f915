import type { ClusterView, Clock, LocalExecutor, NetworkModel, ServerId, Timers } from '@epara/core';
import type { OffloadMessage } from './offload-messages.js';

/** The node's links with one peer at an instant, as a failed request's error names them (diagnostics). */
export interface PeerLinkState {
  /** Links open to the peer. */
  readonly open: number;
  /** Frames queued on a dial to the peer's address that is still running (`undefined`: no dial). */
  readonly dialing?: number;
  /** Frames held on its links until the peer says how large a frame it takes. */
  readonly held: number;
  /** Links to it with a probe waiting for its `pong`. */
  readonly probing: number;
  /** The address the view gives it (`undefined`: none). */
  readonly address?: string;
  /** How long its address stays backed off after a failed handshake, ms (0: not backed off). */
  readonly backoffMs: number;
}

/**
 * What the request path ({@link RequestHandler}) and the stream path (`StreamOpener`) share: this server's id,
 * its time ports, executor and view, the hop rules, the request-id allocator and the way to a peer. A node
 * builds it once and hands the same object to both, so the two paths cannot disagree on any of them.
 */
export interface OffloadPathPorts {
  readonly selfId: ServerId;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly executor: LocalExecutor;
  readonly view: () => ClusterView;
  /** Forwards one request may take. */
  readonly hopLimit: number;
  /** Time one forward costs, counted against the deadline when routing, ms (peers `network` does not list). */
  readonly hopDelayMs: number;
  /**
   * One-way delay and bandwidth per peer that routing and stream admission price each peer with (read per
   * decision: the configured figures over the delays the node measured).
   */
  readonly network?: (() => NetworkModel | undefined) | undefined;
  /** Allocates request ids (shared by requests and streams, so responses on a link never collide). */
  readonly nextId: () => number;
  /**
   * Sends to a peer; returns the id of the link it went on, or of the dial it waits for (the node reports either
   * to `onLinkDown` if the frame is lost with it). Throws `PEER_UNAVAILABLE` when no link can be had.
   */
  readonly send: (peer: ServerId, message: OffloadMessage) => string | void;
  /** Whether a link to `peer` is open now (a frame sent to it needs no dial). @default never */
  readonly linked?: ((peer: ServerId) => boolean) | undefined;
  /** The node's links with `peer` now, named in the error of a request that failed with it. @default none named */
  readonly linkState?: ((peer: ServerId) => PeerLinkState) | undefined;
  /**
   * Something sent to `peer` (on link or dial `via`, as `send` returned it) that asked for an answer got none in
   * time: a forwarded request by its deadline plus the grace, a stream's open by its timeout, a stream frame by its
   * limit. The node checks that the link carries frames both ways (a one-way partition leaves it open and looking
   * alive) and closes it if not. @default nothing
   */
  readonly unanswered?: ((peer: ServerId, via: string | undefined) => void) | undefined;
}
