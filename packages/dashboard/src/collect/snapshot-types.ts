/**
 * The JSON the dashboard sends to the page (server-sent events `history` and `tick`). Shared by the server
 * (which builds it from the node's public API) and the page script (which renders it); no runtime code.
 */

/** How this node sees a server: `alive` (fresh entry), `suspected` (alive but its entry is old), `dead`. */
export type NodeHealth = 'alive' | 'suspected' | 'dead';

/** One instance as the view reports it. */
export interface InstanceRow {
  readonly instanceId: string;
  readonly serviceId: string;
  /** `latency · single`, `frequency · multi`… */
  readonly category: string;
  /** Request- and service-level strategy, e.g. `batching / single`, `multi-frame / data-parallel`. */
  readonly mode: string;
  /** Batch size (batching) or pack size (multi-frame). */
  readonly batchSize: number;
  readonly status: 'LOADING' | 'READY' | 'DRAINING';
  readonly capacityPerSec: number;
  readonly loadPerSec: number;
  readonly waitMs: number;
}

/**
 * A device of a server and the instances on it (`devices not reported` when neither the view nor a placement
 * decision this node saw names the devices).
 */
export interface DeviceRow {
  readonly deviceId: string;
  readonly instances: readonly InstanceRow[];
}

/** One server in this node's view. */
export interface NodeRow {
  readonly id: string;
  readonly health: NodeHealth;
  /** Age of its entry in this node's view, ms (how stale what we know is). */
  readonly viewAgeMs: number;
  readonly epoch: number;
  readonly load: number;
  readonly freeMemoryBytes: number;
  readonly self: boolean;
  readonly leader: boolean;
  /** Why it left the view, when it did (`link-closed`, `ack-timeout`…). */
  readonly leftReason?: string;
  readonly devices: readonly DeviceRow[];
}

/** Requests per second from one server to another, over the last few seconds. */
export interface FlowCell {
  readonly from: string;
  /** `'*'` when a queue-group offloader picked the server. */
  readonly to: string;
  readonly ratePerSec: number;
}

/** A placement change this node saw: a decision it computed, applied, or an instance change in the view. */
export interface PlacementRow {
  readonly at: number;
  readonly kind: 'computed' | 'applied' | 'observed';
  readonly server: string;
  /** `period`, `failure`, `start`, `joined`, `manual`; `unknown` for a change seen only in the view. */
  readonly reason: string;
  readonly text: string;
}

/** One point of every series at one time. */
export interface SeriesPoint {
  /** Seconds (Unix time), the chart's x. */
  readonly t: number;
  /** By series key (a service id, or `category:<label>`). */
  readonly values: Readonly<Record<string, MetricValues>>;
}

/** The metrics of one service or category at one point (`null`: nothing to measure in that interval). */
export interface MetricValues {
  /** Requests/s arriving in the whole cluster (sum of every alive server's measured arrival rate). */
  readonly offeredCluster: number;
  /** Requests (and stream frames) per second submitted at this node, counted when they settle. */
  readonly offered: number;
  /** Of those, per second, the ones that completed within their deadline (frames: not stale). */
  readonly goodput: number;
  /** Good / settled, 0..1. */
  readonly attainment: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** Requests/s that failed or finished late, by code (`LATE` for a result after its deadline). */
  readonly drops: Readonly<Record<string, number>>;
}

/** A series the page charts. */
export interface SeriesInfo {
  readonly key: string;
  readonly label: string;
  readonly kind: 'service' | 'category';
  readonly category: string;
}

/** Sent once when the page connects: the retained points. */
export interface HistoryMessage {
  readonly self: string;
  readonly stepMs: number;
  readonly windowMs: number;
  readonly points: readonly SeriesPoint[];
}

/** Sent every step: the cluster now, and the newest point. */
export interface TickMessage {
  readonly at: number;
  readonly self: string;
  readonly address: string | undefined;
  readonly nodes: readonly NodeRow[];
  readonly series: readonly SeriesInfo[];
  readonly point: SeriesPoint;
  readonly flows: readonly FlowCell[];
  readonly placements: readonly PlacementRow[];
  readonly counters: Readonly<Record<string, number>>;
}
