import { placeServices, toEparaError } from '@epara/core';
import type { ClusterView, DeviceSpec, PlacementOptions, ServerId, ServiceSpec } from '@epara/core';
import type { MeshLogger } from '../util/logger.js';
import type { Scheduler, TimerHandle } from '../util/scheduler.js';
import { buildPlacementInput } from './placement-input.js';
import type { PlacementDecision, PlacementPayload } from './placement-payload.js';

/** Ports and settings of a {@link PlacementCoordinator}. */
export interface CoordinatorConfig {
  readonly selfId: ServerId;
  readonly scheduler: Scheduler;
  readonly periodMs: number;
  readonly services: readonly ServiceSpec[];
  readonly devices: readonly DeviceSpec[];
  readonly minDemandPerSec: number;
  readonly placementOptions: PlacementOptions;
  readonly view: () => ClusterView;
  readonly epoch: () => number;
  /** Sends a payload to a peer (fire-and-forget). */
  readonly send: (peer: ServerId, payload: PlacementPayload) => void;
  /** Applies a decision on this server. */
  readonly apply: (decision: PlacementDecision) => void;
  readonly logger: MeshLogger;
  readonly ran: (e: { trigger: PlacementDecision['trigger']; seq: number; goodputPerSec: number; changes: number }) => void;
}

/**
 * The placement coordinator (DESIGN.md §2): the lowest alive server id is the leader. The leader runs core's
 * `placeServices` every period and at once after a failure, and sends the decision to every alive server;
 * each applies its own part. When the leader dies, the next lowest id takes over on the next view change,
 * starting from the last decision it received (nothing is lost). Servers report their devices to whoever
 * is leader.
 */
export class PlacementCoordinator {
  readonly #c: CoordinatorConfig;
  readonly #devices = new Map<ServerId, readonly DeviceSpec[]>();
  #last: PlacementDecision | undefined;
  #seq = 0;
  #timer: TimerHandle | undefined;
  #soon: TimerHandle | undefined;
  #reportedTo: ServerId | undefined;
  #running = false;

  constructor(config: CoordinatorConfig) {
    this.#c = config;
    this.#devices.set(config.selfId, config.devices);
  }

  /** The current leader according to this server's view. */
  leader(): ServerId {
    const alive = Object.values(this.#c.view().entries).filter((e) => e.alive).map((e) => e.serverId).sort();
    return alive[0] ?? this.#c.selfId;
  }

  get lastDecision(): PlacementDecision | undefined {
    return this.#last;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    const tick = (): void => {
      if (!this.#running) return;
      this.#timer = this.#c.scheduler.setTimeout(tick, this.#c.periodMs);
      this.#reportDevices(true);
      if (this.leader() === this.#c.selfId) this.run(this.#seq === 0 ? 'start' : 'period');
    };
    this.#timer = this.#c.scheduler.setTimeout(tick, this.#c.periodMs);
  }

  stop(): void {
    this.#running = false;
    if (this.#timer) this.#c.scheduler.clearTimeout(this.#timer);
    if (this.#soon) this.#c.scheduler.clearTimeout(this.#soon);
  }

  /** The view changed: report devices to a new leader. */
  onViewChanged(): void {
    if (this.#running) this.#reportDevices(false);
  }

  /** A server failed: the leader (possibly this server, newly) re-places at once. */
  onPeerLeft(): void {
    if (!this.#running || this.leader() !== this.#c.selfId || this.#soon) return;
    this.#soon = this.#c.scheduler.setTimeout(() => {
      this.#soon = undefined;
      if (this.#running && this.leader() === this.#c.selfId) this.run('failure');
    }, 0);
  }

  onPayload(from: ServerId, payload: PlacementPayload): void {
    if (payload.kind === 'devices') {
      if (payload.serverId === from) this.#devices.set(from, payload.devices);
      return;
    }
    // Only the leader this server sees may place it (a stale or rogue leader is ignored).
    if (payload.leader !== from || from !== this.leader() || !this.#newer(payload)) return;
    this.#last = payload;
    this.#c.apply(payload);
  }

  /** Runs placement now and distributes the decision (the leader only; a no-op elsewhere). */
  run(trigger: PlacementDecision['trigger']): PlacementDecision | undefined {
    const self = this.#c.selfId;
    const view = this.#c.view();
    try {
      const input = buildPlacementInput({
        view,
        services: this.#c.services,
        devices: this.#devices,
        previous: this.#last?.instances ?? [],
        minDemandPerSec: this.#c.minDemandPerSec,
        leader: self,
      });
      if (input.servers.length === 0) return undefined;
      const result = placeServices(input, { periodMs: this.#c.periodMs, ...this.#c.placementOptions });
      const decision: PlacementDecision = {
        kind: 'placement',
        leader: self,
        leaderEpoch: this.#c.epoch(),
        seq: ++this.#seq,
        trigger,
        instances: result.instances,
        changes: result.changes,
        goodputPerSec: result.goodputPerSec,
      };
      this.#last = decision;
      for (const e of Object.values(view.entries)) if (e.alive && e.serverId !== self) this.#c.send(e.serverId, decision);
      this.#c.apply(decision);
      this.#c.ran({ trigger, seq: decision.seq, goodputPerSec: decision.goodputPerSec, changes: decision.changes.length });
      return decision;
    } catch (err) {
      this.#c.logger.error({ err: toEparaError(err) }, 'placement run failed');
      return undefined;
    }
  }

  #newer(d: PlacementDecision): boolean {
    const l = this.#last;
    if (!l || l.leader !== d.leader) return true;
    return d.leaderEpoch > l.leaderEpoch || (d.leaderEpoch === l.leaderEpoch && d.seq > l.seq);
  }

  #reportDevices(force: boolean): void {
    const leader = this.leader();
    if (leader === this.#c.selfId || (!force && leader === this.#reportedTo)) return;
    this.#reportedTo = leader;
    this.#c.send(leader, { kind: 'devices', serverId: this.#c.selfId, devices: this.#c.devices });
  }
}
