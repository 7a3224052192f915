import type { EparaErrorCode, ServerId, ServiceId } from '@epara/core';
import type { PlacementAppliedEvent } from '../placement/placement-applier.js';
import type { PlacementDecision } from '../placement/placement-payload.js';

/** Payloads of a node's events (eventemitter3 object map; past-tense names). */
export interface NodeEvents {
  /** A server became alive in this node's view (first seen, or back with a new epoch). */
  peerJoined: [{ readonly serverId: ServerId; readonly epoch: number }];
  /** A server left this node's view: its link closed, its ring successor stopped acknowledging, or a peer said so. */
  peerLeft: [{ readonly serverId: ServerId; readonly reason: 'ack-timeout' | 'reported' | 'link-closed' | 'expired' | 'deleted' | string }];
  /**
   * A request was sent to a peer (`retry` when it is a second try after a peer failed); `to` is `'*'` when
   * the `offloader` option sent it (its queue group picks the server).
   */
  requestOffloaded: [{ readonly serviceId: ServiceId; readonly to: ServerId; readonly hops: number; readonly retry: boolean }];
  /**
   * A request submitted on this node by its host settled (one event per `submit`): its latency from submit to
   * settle, whether it succeeded within its deadline, and the error code when it failed.
   */
  requestCompleted: [
    { readonly serviceId: ServiceId; readonly ok: boolean; readonly latencyMs: number; readonly deadlineMet: boolean; readonly code?: EparaErrorCode | string },
  ];
  /**
   * A frame of a stream opened on this node by its host settled, as the host reads it from the stream: `ok`
   * with the frame's latency, or the code it was dropped with (`STALE_FRAME`…). Emitted while the host
   * iterates the stream's results.
   */
  frameCompleted: [{ readonly serviceId: ServiceId; readonly ok: boolean; readonly latencyMs: number; readonly code?: EparaErrorCode | string }];
  /** A peer forwarded a request to this node (`hops` as it arrived). */
  requestReceived: [{ readonly serviceId: ServiceId; readonly from: ServerId; readonly hops: number }];
  /** This node rejected a request (no instance, deadline, hop limit…). */
  requestRejected: [{ readonly serviceId: ServiceId; readonly code: EparaErrorCode | string; readonly reason: string }];
  /** This node applied its part of a placement. */
  placementApplied: [PlacementAppliedEvent];
  /**
   * This node, as leader, computed and distributed a placement: why, its number, predicted goodput, how many
   * steps it changes, and the whole placement (`instances`, with their devices).
   */
  placementComputed: [
    { readonly trigger: PlacementDecision['trigger']; readonly seq: number; readonly goodputPerSec: number; readonly changes: number; readonly instances: PlacementDecision['instances'] },
  ];
  /**
   * Some entry of this node's cluster view changed (a peer's instances, load, liveness…), as its view sync
   * (the ring, a KV store…) reports it. Carries nothing: read `node.view()`. Lets a host or a test wait on a
   * view change instead of polling the view.
   */
  viewChanged: [];
  /** A ring round this node started came back around. */
  syncCompleted: [{ readonly round: number; readonly durationMs: number; readonly servers: number }];
  /** A peer sent a frame that failed validation (it was ignored). */
  frameRejected: [{ readonly peerId: ServerId; readonly code: EparaErrorCode }];
}

/** Counters of a node (a snapshot from `node.stats()`). */
export interface NodeStats {
  readonly id: ServerId;
  readonly epoch: number;
  /** Submits made on this node by its host. */
  readonly submitted: number;
  /** Requests run by the local executor (host submits and peers' requests). */
  readonly ranLocally: number;
  /** Requests this node forwarded (including retries). */
  readonly offloaded: number;
  /** Forwards that were retries after a peer failed. */
  readonly retried: number;
  /**
   * Retries (forwarded or run here) of a forward that reached a peer's link and was never answered — the link
   * closed or the peer was found dead — so its first attempt may have run as well. Requests run at least once:
   * across all requests, runs beyond the first number at most this (docs/mesh.md, *At least once*).
   */
  readonly retriedUnanswered: number;
  /** Requests peers forwarded to this node. */
  readonly received: number;
  readonly rejected: number;
  /** Forwarded requests still waiting for their peer. */
  readonly inFlightForwards: number;
  readonly syncRounds: number;
  /** Bytes of ring-sync frames (tokens and acks) this node sent. */
  readonly syncBytesSent: number;
  readonly syncFramesSent: number;
  readonly bytesSent: number;
  readonly framesRejected: number;
  readonly connectedPeers: number;
  readonly alivePeers: number;
  readonly leader: ServerId;
  readonly placementsApplied: number;
}
