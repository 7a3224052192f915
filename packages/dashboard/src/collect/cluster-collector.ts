import type { ClusterView } from '@epara/core';
import type { NodeEvents } from '@epara/mesh';
import type { ResolvedDashboardOptions } from '../dashboard-options.js';
import { FlowMeter } from './flow-meter.js';
import { categoryOf, nodeRows } from './node-rows.js';
import { PlacementLog } from './placement-log.js';
import { RequestMeter } from './request-meter.js';
import type { HistoryMessage, MetricValues, SeriesInfo, SeriesPoint, TickMessage } from './snapshot-types.js';

type Handlers = { [K in keyof NodeEvents]?: (...args: NodeEvents[K]) => void };

/** Flow rates are averaged over this many intervals. */
const FLOW_INTERVALS = 5;

/**
 * Everything the page shows, collected from the node's public API: its typed events (completions, offloads,
 * received requests, placements, peers leaving) and, at each tick, `view()` and `stats()`. Keeps the charts'
 * points for `windowMs`. Reads only: it never calls anything that changes the node.
 */
export class ClusterCollector {
  readonly #o: ResolvedDashboardOptions;
  readonly #requests = new RequestMeter();
  readonly #flows = new FlowMeter(FLOW_INTERVALS);
  readonly #placements: PlacementLog;
  readonly #points: SeriesPoint[] = [];
  readonly #seen = new Map<string, { epoch: number; lastSeenAt: number }>();
  readonly #leftReasons = new Map<string, string>();
  readonly #placedDevices = new Map<string, Map<string, readonly string[]>>();
  readonly #handlers: Handlers;
  #lastTickAt: number;
  #categories = new Map<string, string>();

  constructor(o: ResolvedDashboardOptions) {
    this.#o = o;
    this.#placements = new PlacementLog(o.maxPlacements);
    this.#lastTickAt = o.now();
    const self = o.node.id;
    this.#handlers = {
      requestCompleted: (e) => {
        this.#requests.record(e.serviceId, e);
        this.#requests.record(`category:${this.#category(e.serviceId)}`, e);
      },
      // A stream frame counts like a request: good when it arrived in time (stale ones settle as drops).
      frameCompleted: (e) => {
        const r = { ok: e.ok, latencyMs: e.latencyMs, deadlineMet: e.ok, ...(e.code !== undefined ? { code: e.code } : {}) };
        this.#requests.record(e.serviceId, r);
        this.#requests.record(`category:${this.#category(e.serviceId)}`, r);
      },
      requestOffloaded: (e) => this.#flows.record(self, e.to),
      requestReceived: (e) => this.#flows.record(e.from, self),
      placementComputed: (e) => {
        this.#placements.computed(o.now(), self, e);
        this.#placedDevices.clear();
        for (const i of e.instances) {
          const m = this.#placedDevices.get(i.serverId) ?? new Map<string, readonly string[]>();
          this.#placedDevices.set(i.serverId, m.set(i.instanceId, i.deviceIds));
        }
      },
      placementApplied: (e) => this.#placements.applied(o.now(), self, e),
      peerLeft: (e) => void this.#leftReasons.set(e.serverId, String(e.reason)),
      peerJoined: (e) => void this.#leftReasons.delete(e.serverId),
    };
    for (const [event, fn] of Object.entries(this.#handlers)) o.node.on(event as keyof NodeEvents, fn as never);
    this.#placements.observe(o.now(), o.node.view());
  }

  /** Stops listening to the node. */
  close(): void {
    for (const [event, fn] of Object.entries(this.#handlers)) this.#o.node.off(event as keyof NodeEvents, fn as never);
  }

  /** The retained points, for a page that just connected. */
  history(): HistoryMessage {
    return { self: this.#o.node.id, stepMs: this.#o.intervalMs, windowMs: this.#o.windowMs, points: [...this.#points] };
  }

  /** Ends the current interval: one new point for every series, and the cluster as the view shows it now. */
  tick(): TickMessage {
    const o = this.#o;
    const now = o.now();
    const seconds = Math.max(0.001, (now - this.#lastTickAt) / 1000);
    this.#lastTickAt = now;
    const view = o.node.view();
    const stats = o.node.stats();
    this.#refreshCategories(view);
    for (const e of Object.values(view.entries)) this.#seen.set(e.serverId, { epoch: e.epoch, lastSeenAt: now });
    this.#placements.observe(now, view);
    const values = this.#requests.take(seconds, this.#offeredCluster(view));
    const point: SeriesPoint = { t: now / 1000, values: Object.fromEntries(values) };
    this.#points.push(point);
    while (this.#points.length > 0 && now / 1000 - this.#points[0]!.t > o.windowMs / 1000) this.#points.shift();
    return {
      at: now,
      self: o.node.id,
      address: o.node.address,
      nodes: nodeRows({ view, self: o.node.id, leader: stats.leader, now, suspectAfterMs: o.suspectAfterMs, gone: this.#seen, leftReasons: this.#leftReasons, categoryOf: (s) => this.#category(s), placedDevices: this.#placedDevices }),
      series: this.#series(values),
      point,
      flows: this.#flows.take(seconds),
      placements: this.#placements.rows,
      counters: { submitted: stats.submitted, ranLocally: stats.ranLocally, offloaded: stats.offloaded, received: stats.received, rejected: stats.rejected, syncRounds: stats.syncRounds, alivePeers: stats.alivePeers },
    };
  }

  #category(serviceId: string): string {
    return this.#categories.get(serviceId) ?? categoryOf(serviceId, this.#o.services, { entries: {} });
  }

  #refreshCategories(view: ClusterView): void {
    const ids = new Set<string>(this.#o.services.map((s) => s.id));
    for (const e of Object.values(view.entries)) for (const i of e.instances) ids.add(i.serviceId);
    for (const r of Object.values(view.entries)) for (const id of Object.keys(r.arrivalRates)) ids.add(id);
    this.#categories = new Map([...ids].map((id) => [id, categoryOf(id, this.#o.services, view)]));
  }

  /** Cluster-wide arrival rate per service and per category: the sum over alive servers of what each measured. */
  #offeredCluster(view: ClusterView): Map<string, number> {
    const out = new Map<string, number>();
    for (const [id, category] of this.#categories) (out.set(id, 0), out.set(`category:${category}`, 0));
    for (const e of Object.values(view.entries)) {
      if (!e.alive) continue;
      for (const [id, rate] of Object.entries(e.arrivalRates)) {
        out.set(id, (out.get(id) ?? 0) + rate);
        const key = `category:${this.#category(id)}`;
        out.set(key, (out.get(key) ?? 0) + rate);
      }
    }
    return out;
  }

  #series(values: Map<string, MetricValues>): SeriesInfo[] {
    // A category with a single service would repeat that service's card: only categories of ≥ 2 are charted.
    const members = new Map<string, number>();
    for (const c of this.#categories.values()) members.set(c, (members.get(c) ?? 0) + 1);
    const keys = new Set([...values.keys(), ...this.#categories.keys()].filter((k) => !k.startsWith('category:') || (members.get(k.slice(9)) ?? 0) >= 2));
    for (const [c, n] of members) if (n >= 2) keys.add(`category:${c}`);
    return [...keys]
      .map((key): SeriesInfo => {
        const category = key.startsWith('category:') ? key.slice('category:'.length) : this.#category(key);
        return key.startsWith('category:') ? { key, label: category, kind: 'category', category } : { key, label: key, kind: 'service', category };
      })
      .sort((a, b) => (a.kind !== b.kind ? (a.kind === 'service' ? -1 : 1) : a.key < b.key ? -1 : 1));
  }
}
