import type { DeviceId, ServerId, ServiceId } from '../model/device.js';
import type { RequestStrategy, ServiceStrategy } from '../allocation/plan.js';

/**
 * Lifecycle of a placed instance (make-before-break: `loading` → `ready` → `draining` → gone). There is no `failed`
 * status: an instance whose device failed (the runtime's `deviceFailed`) takes no more work, so it is reported
 * `draining` from that moment — never `ready` again — and is gone once unloaded, which every reader of the view
 * (routing, placement, readiness) already takes as out of service. A host tells the failure apart in its own
 * events (the runtime's `instanceChanged` with status `failed`, then `draining` and `unloaded`).
 */
export type InstanceStatus = 'loading' | 'ready' | 'draining';

/** What a server reports about one instance it hosts. */
export interface InstanceInfo {
  /** Unique within the server. */
  readonly instanceId: string;
  readonly serviceId: ServiceId;
  readonly status: InstanceStatus;
  readonly requestStrategy: RequestStrategy;
  readonly serviceStrategy: ServiceStrategy;
  /** Batch or pack size in use. */
  readonly batchSize: number;
  /** Items/s the instance serves within SLO. */
  readonly capacityPerSec: number;
  /** Items/s currently directed at it (requests plus pinned streams). */
  readonly loadPerSec: number;
  /** Estimated queueing delay a new request would see now, ms. */
  readonly waitMs: number;
  /** Run time of one batch at the plan's batch size, ms. */
  readonly runMs: number;
  /**
   * Run time of the batch a request arriving now would join, ms (at most `runMs`): a lightly loaded instance
   * launches batches smaller than the plan's, so `runMs` overstates how soon it would answer. Routing uses it
   * instead of `runMs` when the host reports it, `waitMs` then being the time before that batch starts.
   * Optional: without it routing assumes a full batch.
   */
  readonly nextRunMs?: number;
  /**
   * The devices the instance occupies on its server, when the executor knows them. Placement adopts an
   * instance the host loaded on its own on exactly these devices (co-located instances included). Optional:
   * without it, placement infers devices of the plan's kind.
   */
  readonly deviceIds?: readonly DeviceId[];
}

/**
 * Whether a service's requests of several items may be split into one request per item and the answers put
 * back together, as the executor that runs it found: `separable` (each item's answer depends on that item alone,
 * so the executor stacks requests), `not-separable` (items mix: a request must run whole), `unknown` (not checked
 * yet: a model whose free dims wait for a first request).
 */
export type ItemSeparability = 'separable' | 'not-separable' | 'unknown';

/**
 * What a server's executor knows of how one service's items lie in its tensors: a front end without an instance
 * of the service (a cluster entry) splits a request of several items only by what the server that runs it says.
 */
export interface ServiceItems {
  readonly separability: ItemSeparability;
  /**
   * The batch axis of each input and output (`null`: an input every item shares whole), as the executor reads
   * the model (a state `[2, batch, 128]` on axis 1, an output `[3, N]` on axis 1). Absent when it does not say.
   */
  readonly batchAxes?: {
    readonly inputs: Readonly<Record<string, number | null>>;
    readonly outputs: Readonly<Record<string, number | null>>;
  };
}

/**
 * One server's entry in the cluster view, written only by that server. Merge rule: the entry with the
 * higher `(epoch, version)` wins.
 */
export interface ServerEntry {
  readonly serverId: ServerId;
  /** Incremented each time the server (re)starts; a returning server rejoins with a new epoch. */
  readonly epoch: number;
  /** Incremented on every update within an epoch. */
  readonly version: number;
  /** When the server wrote this entry, in its own clock's ms. */
  readonly updatedAt: number;
  readonly alive: boolean;
  readonly instances: readonly InstanceInfo[];
  /** Fraction of device time busy, 0..1. */
  readonly load: number;
  readonly freeMemoryBytes: number;
  /** Recent arrivals per service at this server (requests/s, stream items/s). */
  readonly arrivalRates: Readonly<Record<ServiceId, number>>;
  /** How to reach the server (transport address), if the transport needs one. */
  readonly address?: string;
  /**
   * Per service with a ready instance here, how its requests' items may be split ({@link ServiceItems}).
   * Optional: absent from servers whose executor does not say, and from older builds.
   */
  readonly items?: Readonly<Record<ServiceId, ServiceItems>>;
}

/** The synchronized view of the cluster: one entry per known server. */
export interface ClusterView {
  readonly entries: Readonly<Record<ServerId, ServerEntry>>;
}
