import { placeServices, toEparaError } from '@epara/core';
import { EPARA_PLACEMENT_OPTIONS } from '@epara/core/internal';
import { plansAtProfileSpeed } from '@epara/core/scheduling';
import type { ClusterView, DeviceSpec, ServerId, ServiceDemand, ServiceSpec } from '@epara/core';
import type { CostRatios } from '@epara/core/scheduling';
import type { Logger } from '@epara/core';
import type { Timers, TimerHandle } from '@epara/core';
import { buildPlacementInput } from './placement-input.js';
import { PeerDelays } from './peer-delays.js';
import type { ResolvedCoordinatorOptions } from './coordinator-options.js';
import type { DeviceReport, HostedDevices, PlacementDecision, PlacementPayload } from './placement-payload.js';

/** Ports and settings of a {@link PlacementCoordinator}. */
export interface CoordinatorConfig {
  readonly selfId: ServerId;
  readonly timers: Timers;
  readonly periodMs: number;
  readonly services: readonly ServiceSpec[];
  /**
   * This server's devices: a list, or read fresh (the node leaves out the devices its executor reports failed, so
   * placement avoids them until they are back).
   */
  readonly devices: readonly DeviceSpec[] | (() => readonly DeviceSpec[]);
  readonly options: ResolvedCoordinatorOptions;
  /** Whether this node joins through seeds (then its first placement waits for at least one peer). */
  readonly hasSeeds: boolean;
  readonly view: () => ClusterView;
  /** The devices this server's executor reports for its instances (read fresh). */
  readonly hosted: () => readonly HostedDevices[];
  readonly epoch: () => number;
  /** Sends a payload to a peer (fire-and-forget). */
  readonly send: (peer: ServerId, payload: PlacementPayload) => void;
  /** Applies a decision on this server. */
  readonly apply: (decision: PlacementDecision) => void;
  readonly logger: Logger;
  /**
   * This server's clock, ms, for measuring round trips to peers (locality-aware placement). Without it no
   * delays are measured and placement ignores locality. @default none
   */
  readonly now?: () => number;
  readonly ran: (e: { trigger: PlacementDecision['trigger']; seq: number; goodputPerSec: number; changes: number; instances: PlacementDecision['instances'] }) => void;
}

/** Most servers whose device report is kept while the view does not hold them (see `#unseen`). */
const MAX_UNSEEN = 64;

/**
 * A server sent this many things that ask for an answer — the period's probes, decisions sent again for want of an
 * acknowledgement once the doubling wait between them reached a second — with nothing heard from it since is left
 * out of placement until it is heard again: the leader cannot hear it (a one-way cut), so its report is stale and
 * its acknowledgements lost.
 */
export const UNHEARD_LIMIT = 3;

/** The first wait before a decision is sent again to a server that did not acknowledge it, ms (at least). */
const MIN_RESEND_MS = 50;

/** The shortest resend wait whose unanswered resend counts toward {@link UNHEARD_LIMIT}, ms. */
const UNHEARD_RESEND_FLOOR_MS = 1000;

/**
 * The placement coordinator (docs/placement.md): the lowest alive server id is the leader. The leader runs core's
 * `placeServices` every period and at once after a failure, and sends the decision to every alive server;
 * each applies its own part. The first placement comes early: `initialDelayMs` after start, as soon as every
 * alive server in the view has reported its devices. When the leader dies, the next lowest id takes over on
 * the next view change, starting from the last decision it received (nothing is lost). Servers report their
 * devices (and the devices of their instances) to whoever is leader.
 */
export class PlacementCoordinator {
  readonly #c: CoordinatorConfig;
  readonly #devices = new Map<ServerId, readonly DeviceSpec[]>();
  readonly #hosted = new Map<ServerId, readonly HostedDevices[]>();
  #last: PlacementDecision | undefined;
  #seq = 0;
  #timer: TimerHandle | undefined;
  #soon: TimerHandle | undefined;
  #initial: TimerHandle | undefined;
  #joined: TimerHandle | undefined;
  #initialDue = false;
  /** The leader's run the last device report went to (`id@epoch`): a restarted leader knows nothing of it. */
  #reportedTo: string | undefined;
  /**
   * The runs (`id@epoch`) of the alive servers with known devices that this server's last decision placed for.
   * An alive server with known devices outside it was not placed for: it joined the view after its report came,
   * or it restarted under its id (a new run holds none of the old run's instances).
   */
  #placedFor = new Set<string>();
  #reportedKey = '';
  #running = false;
  /**
   * The highest leadership term seen (decisions applied, reports received, its own), and the leader it was
   * taken by: a term is its number and its leader (two servers that start to lead apart — each side of a
   * partition — may draw the same number), ordered by number, then by leader id.
   */
  #term = 0;
  #termLeader: ServerId = '';
  /** The term this server leads under; unset when it does not lead, or learned that another led since. */
  #leading: number | undefined;
  readonly #delays: PeerDelays;
  /** The ids in the view at the last view change: one gone from it since was forgotten (long dead). */
  #inView = new Set<ServerId>();
  /**
   * Servers whose device report came while the view did not hold them, oldest first: a joiner the view shows a
   * round later — or an id the view never holds (forgotten before its last report came, a peer cycling ids). At
   * most {@link MAX_UNSEEN} are kept.
   */
  readonly #unseen = new Set<ServerId>();
  /** Per server, the decision of this leader it acknowledged (`leaderEpoch:seq`, {@link DeviceReport.decided}). */
  readonly #acked = new Map<ServerId, string>();
  /** Per server, how many things that ask for an answer went to it since it was last heard ({@link UNHEARD_LIMIT}). */
  readonly #unheard = new Map<ServerId, number>();
  #resend: TimerHandle | undefined;
  #resendMs = 0;

  constructor(config: CoordinatorConfig) {
    this.#c = config;
    this.#devices.set(config.selfId, this.#ownDevices());
    this.#delays = new PeerDelays(config.selfId);
  }

  #ownDevices(): readonly DeviceSpec[] {
    const d = this.#c.devices;
    return typeof d === 'function' ? d() : d;
  }

  /**
   * Reads this server's devices again; whether they changed (a device failed, or is back). On a change the leader
   * re-places soon — the instances on a failed device are gone, and none may be placed there — and a server that does
   * not lead reports to its leader (the report carries its devices).
   */
  #refreshOwnDevices(): boolean {
    const now = this.#ownDevices();
    const was = this.#devices.get(this.#c.selfId);
    if (was === now || (was !== undefined && sameDeviceIds(was, now))) return false;
    this.#devices.set(this.#c.selfId, now);
    this.#c.logger.info({ devices: now.map((d) => d.id) }, 'devices changed (the executor reports a device failed or back): placement follows');
    this.#placeSoon('failure');
    return true;
  }

  /** The leader re-places at once (on the next turn), if nothing is scheduled already. */
  #placeSoon(trigger: PlacementDecision['trigger']): void {
    if (!this.#running || this.leader() !== this.#c.selfId || this.#soon) return;
    this.#soon = this.#c.timers.setTimeout(() => {
      this.#soon = undefined;
      if (this.#running && this.leader() === this.#c.selfId) this.run(trigger);
    }, 0);
  }

  /** The current leader according to this server's view. */
  leader(): ServerId {
    const alive = Object.values(this.#c.view().entries).filter((e) => e.alive).map((e) => e.serverId).sort();
    return alive[0] ?? this.#c.selfId;
  }

  /** This server's smoothed one-way delays to the peers it probed, ms (the same object until a probe changes it). */
  measuredDelays(): Readonly<Record<ServerId, number>> {
    return this.#delays.own();
  }

  get lastDecision(): PlacementDecision | undefined {
    return this.#last;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    const tick = (): void => {
      if (!this.#running) return;
      this.#timer = this.#c.timers.setTimeout(tick, this.#c.periodMs);
      this.#refreshOwnDevices();
      this.#probePeers(true);
      this.#reportDevices(true);
      this.run(this.#last === undefined ? 'start' : 'period');
    };
    this.#timer = this.#c.timers.setTimeout(tick, this.#c.periodMs);
    this.#initial = this.#c.timers.setTimeout(() => {
      this.#initial = undefined;
      this.#initialDue = true;
      this.#tryFirst();
    }, this.#c.options.initialDelayMs);
  }

  stop(): void {
    this.#running = false;
    for (const t of [this.#timer, this.#soon, this.#initial, this.#joined, this.#resend]) if (t) t.cancel();
    this.#resend = undefined;
  }

  /** The view changed: report devices to a new leader (or changed instances), maybe place for the first time. */
  onViewChanged(): void {
    if (!this.#running) return;
    this.#forgetGone();
    // Whoever leads meanwhile takes a newer term: leading again later needs a term above it.
    if (this.leader() !== this.#c.selfId) this.#leading = undefined;
    // A server restarted under its id while its old process kept its links (stopped, half-open) never left the
    // view, and one whose report came before its entry did was left out of the run that followed: without this,
    // neither was placed for until the period.
    if (this.#last !== undefined && this.#unplaced()) this.#onServerJoined();
    const devicesChanged = this.#refreshOwnDevices();
    this.#probePeers(false);
    this.#reportDevices(devicesChanged);
    this.#tryFirst();
  }

  /**
   * This server's free memory moved without its instances changing: a device may have failed or be back. Reads the
   * devices again; on a change the leader re-places and a server that does not lead reports to its leader.
   */
  checkDevices(): void {
    if (this.#running && this.#refreshOwnDevices()) this.#reportDevices(true);
  }

  /** A server failed: the leader (possibly this server, newly) re-places at once. */
  onPeerLeft(): void {
    this.#placeSoon('failure');
  }

  onPayload(from: ServerId, payload: PlacementPayload): void {
    this.#heard(from);
    if (payload.kind === 'probe') {
      if (!payload.reply) this.#c.send(from, { kind: 'probe', sentAt: payload.sentAt, reply: true });
      // The leader probes each period, and a new run of it (restarted under its id) at once: the report it may
      // have missed — sent over its old run's link, or before it was seen as leader — goes again.
      if (!payload.reply && from === this.leader()) this.#reportDevices(true);
      else if (this.#c.now) this.#delays.sample(from, payload.sentAt, this.#c.now());
      return;
    }
    if (payload.kind === 'devices') {
      if (payload.serverId !== from) return;
      if (payload.delaysMs) this.#delays.report(from, payload.delaysMs);
      if (payload.term !== undefined) this.#learnTerm(payload.term, payload.termLeader ?? '');
      const known = this.#devices.get(from);
      const isNew = known === undefined;
      this.#devices.set(from, payload.devices);
      // A device of the server failed or is back (its executor says so): the leader re-places at once.
      if (!isNew && !sameDeviceIds(known, payload.devices) && this.#last !== undefined) this.#placeSoon('failure');
      if (payload.decided) this.#acked.set(from, decisionKey(payload.decided));
      this.#resendDecision(from);
      this.#hosted.set(from, payload.instances ?? []);
      if (this.#c.view().entries[from] === undefined) this.#keepUnseen(from);
      if ((isNew || this.#unplaced()) && this.#last !== undefined) this.#onServerJoined();
      this.#tryFirst();
      return;
    }
    // Only the leader this server sees may place it (a stale or rogue leader is ignored), and only under a term
    // no older than one already applied (a decision of a leader that was failed over, arriving late).
    if (payload.leader !== from || from !== this.leader()) {
      // A server that does not see `from` as its leader yet (a new run whose view does not hold it) will, and then
      // reports its devices to it: the leader sends its decision again then (below).
      this.#c.logger.debug({ from, leader: this.leader(), seq: payload.seq }, 'placement from a server not seen as leader ignored');
      return;
    }
    if (!this.#newer(payload)) {
      // A copy of a decision this server holds: the leader missed the acknowledgement (or the copy crossed it).
      if (this.#last !== undefined && decisionKey(this.#last) === decisionKey(payload) && this.#last.leader === from) this.#reportDevices(true, true);
      return;
    }
    if (payload.term !== undefined) {
      if (compareTerms(payload.term, from, this.#term, this.#termLeader) < 0) {
        this.#c.logger.debug({ leader: from, term: payload.term, seen: this.#term, seenLeader: this.#termLeader }, 'placement of an older leadership term ignored');
        return;
      }
      this.#learnTerm(payload.term, from);
    }
    this.#last = payload;
    this.#c.apply(payload);
    // Acknowledged with a report (it carries the decision held): a leader that does not see one sends it again.
    this.#reportDevices(true, true);
  }

  /**
   * A server reported its devices to this one: it sees this server as its leader now (it reports on a change of
   * leader, when its instances change, and when probed). The leader's last decision goes to it again: one sent
   * before it saw this server lead — a new run whose view did not hold the leader yet, or a server on the other
   * side of a healed cut — was ignored there, and nothing else would resend it before the next period (the
   * decision placed for that server's run, so no `joined` placement follows). A server that applied it already
   * ignores the copy (not newer).
   */
  #resendDecision(to: ServerId): void {
    const last = this.#last;
    if (last === undefined || last.leader !== this.#c.selfId || this.leader() !== this.#c.selfId || to === this.#c.selfId) return;
    if (this.#c.view().entries[to]?.alive !== true || this.#acked.get(to) === decisionKey(last)) return;
    this.#c.send(to, last); // `to` was just heard (its report): this copy does not count toward leaving it out
  }

  /**
   * Sends the last decision again to every alive server with known devices that has not acknowledged it, then
   * again after a wait that doubles up to the placement period, until all have. A decision lost on a link that
   * carries one way only (the leader's frames do not arrive, the link looks alive) thus lands once the cut heals,
   * rather than at the next period — or never, when the next decision places nothing new there.
   */
  #resendUnacked(): void {
    const last = this.#last;
    const self = this.#c.selfId;
    if (!this.#running || last === undefined || last.leader !== self || this.leader() !== self) return;
    // Another led since (a newer term reported): this decision would be refused; the next run's goes instead.
    if (this.#leading === undefined || (last.term !== undefined && last.term !== this.#leading)) return;
    const key = decisionKey(last);
    let waiting = false;
    for (const e of Object.values(this.#c.view().entries)) {
      if (!e.alive || e.serverId === self || !this.#devices.has(e.serverId) || this.#acked.get(e.serverId) === key) continue;
      waiting = true;
      // Only resends spaced by at least UNHEARD_RESEND_FLOOR_MS count: a busy host may take longer than the first
      // waits (`initialDelayMs`, 100 ms in tests) to answer — a live server was left out of a start-up placement.
      if (this.#resendMs >= UNHEARD_RESEND_FLOOR_MS) this.#expectAck(e.serverId);
      this.#c.send(e.serverId, last);
    }
    if (!waiting) return;
    this.#resendMs = Math.min(2 * this.#resendMs, this.#c.periodMs);
    this.#resend = this.#c.timers.setTimeout(() => ((this.#resend = undefined), this.#resendUnacked()), this.#resendMs);
  }

  /** Something that asks for an answer went to `to`: one more without an answer makes it unheard. */
  #expect(to: ServerId): void {
    this.#unheard.set(to, (this.#unheard.get(to) ?? 0) + 1);
  }

  /**
   * A decision went to `to`: it asks for an answer from a server that acknowledged one before (a server of an older
   * build never does; it is judged by its probes' answers alone).
   */
  #expectAck(to: ServerId): void {
    if (this.#acked.has(to)) this.#expect(to);
  }

  /** `from` was heard: planned for again, and re-placed for soon if it had been left out. */
  #heard(from: ServerId): void {
    const was = this.#unheard.get(from) ?? 0;
    this.#unheard.delete(from);
    if (was < UNHEARD_LIMIT || this.#last === undefined) return;
    this.#c.logger.info({ peer: from }, 'placement hears a server it had left out again');
    this.#onServerJoined();
  }

  /**
   * Runs placement now and distributes the decision. Only the leader places: elsewhere this is a no-op that
   * returns `undefined` (as it is when no server has reported devices, or the run failed — logged).
   */
  run(trigger: PlacementDecision['trigger']): PlacementDecision | undefined {
    const self = this.#c.selfId;
    if (this.leader() !== self) return undefined;
    // Its own devices as the executor reports them now (a failed device is left out).
    this.#devices.set(self, this.#ownDevices());
    const view = this.#c.view();
    if (this.#leading === undefined) {
      this.#leading = this.#term = this.#term + 1;
      this.#termLeader = self;
    }
    try {
      const forecast = this.#forecast();
      const costRatio = this.#costRatio();
      const input = buildPlacementInput({
        view,
        services: this.#c.services,
        devices: this.#plannable(),
        previous: this.#last?.instances ?? [],
        minDemandPerSec: this.#c.options.minDemandPerSec,
        ...(this.#c.options.demandHeadroom !== undefined ? { demandHeadroom: this.#c.options.demandHeadroom } : {}),
        leader: self,
        hosted: new Map([...this.#hosted, [self, this.#c.hosted()]]),
        ...(this.#c.options.core.colocationSlowdown !== undefined ? { colocationSlowdown: this.#c.options.core.colocationSlowdown } : {}),
        ...(forecast ? { forecast } : {}),
        ...(costRatio ? { costRatio } : {}),
      });
      if (input.servers.length === 0) return undefined;
      // Measured delays make placement locality-aware (instances go where demand enters); none yet: no locality.
      const delaysMs = this.#delays.model();
      const result = placeServices(delaysMs ? { ...input, delaysMs } : input, { periodMs: this.#c.periodMs, ...EPARA_PLACEMENT_OPTIONS, ...this.#c.options.core });
      const decision: PlacementDecision = {
        kind: 'placement',
        leader: self,
        leaderEpoch: this.#c.epoch(),
        seq: ++this.#seq,
        trigger,
        // Planned at the measured speed; sent at the profiles' (each executor scales a plan by what it learns).
        instances: costRatio ? plansAtProfileSpeed(result.instances, costRatio) : result.instances,
        changes: result.changes,
        goodputPerSec: result.goodputPerSec,
        term: this.#leading,
      };
      this.#last = decision;
      this.#placedFor = this.#placeable(view);
      for (const e of Object.values(view.entries)) {
        if (!e.alive || e.serverId === self) continue;
        this.#c.send(e.serverId, decision);
      }
      this.#resend?.cancel();
      this.#resendMs = Math.max(this.#c.options.initialDelayMs, MIN_RESEND_MS);
      this.#resend = this.#c.timers.setTimeout(() => ((this.#resend = undefined), this.#resendUnacked()), this.#resendMs);
      this.#c.apply(decision);
      this.#c.ran({ trigger, seq: decision.seq, goodputPerSec: decision.goodputPerSec, changes: decision.changes.length, instances: decision.instances });
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

  /**
   * A term above the one this server leads under means another led meanwhile (this one was frozen or cut off):
   * its decisions would be refused, so it leads under a new term, and re-places soon on the newer basis.
   */
  #learnTerm(term: number, leader: ServerId): void {
    if (compareTerms(term, leader, this.#term, this.#termLeader) <= 0) return;
    this.#term = term;
    this.#termLeader = leader;
    if (this.#leading === undefined) return;
    this.#leading = undefined;
    this.#onServerJoined();
  }

  /**
   * Drops what is known of servers the view forgot (dead past its retention): over long churn — many
   * short-lived servers — their device reports and delay rows would otherwise pile up here.
   */
  #forgetGone(): void {
    const now = new Set(Object.keys(this.#c.view().entries));
    for (const id of this.#inView) if (!now.has(id) && id !== this.#c.selfId) this.#forget(id);
    for (const id of this.#unseen) if (now.has(id)) this.#unseen.delete(id);
    this.#inView = now;
  }

  /** Keeps the report of `id`, which the view does not hold (yet); past {@link MAX_UNSEEN} such, the oldest goes. */
  #keepUnseen(id: ServerId): void {
    this.#unseen.delete(id);
    this.#unseen.add(id);
    if (this.#unseen.size <= MAX_UNSEEN) return;
    const oldest = this.#unseen.values().next().value!;
    this.#unseen.delete(oldest);
    this.#forget(oldest);
  }

  /**
   * The device reports placement plans with: every server's but those of servers left unheard
   * ({@link UNHEARD_LIMIT}) — the leader cannot hear them, so it knows neither what they host now nor whether its
   * decisions reach them. Left out, a server gets no new instance and none of its instances is drained (they are
   * not in the current placement); it is planned for again once heard.
   */
  #plannable(): ReadonlyMap<ServerId, readonly DeviceSpec[]> {
    const unheard = [...this.#devices.keys()].filter((id) => id !== this.#c.selfId && (this.#unheard.get(id) ?? 0) >= UNHEARD_LIMIT);
    if (unheard.length === 0) return this.#devices;
    this.#c.logger.warn({ servers: unheard }, 'placement leaves out servers it has not heard from (a one-way cut?)');
    return new Map([...this.#devices].filter(([id]) => !unheard.includes(id)));
  }

  #forget(id: ServerId): void {
    this.#acked.delete(id);
    this.#unheard.delete(id);
    this.#devices.delete(id);
    this.#hosted.delete(id);
    this.#delays.forget(id);
  }

  /** Servers whose devices are known (this one included): for diagnostics and tests. */
  get knownServers(): number {
    return this.#devices.size;
  }

  /** The host's measured cost ratios; a function that throws or returns bad data is logged and skipped. */
  #costRatio(): CostRatios | undefined {
    try {
      return this.#c.options.costRatio?.();
    } catch (err) {
      this.#c.logger.warn({ err: toEparaError(err) }, 'placement cost ratios ignored');
      return undefined;
    }
  }

  /** The host's forecast; a forecast function that throws or returns bad data is logged and skipped. */
  #forecast(): readonly ServiceDemand[] | undefined {
    try {
      return this.#c.options.demand?.();
    } catch (err) {
      this.#c.logger.warn({ err: toEparaError(err) }, 'placement demand forecast ignored');
      return undefined;
    }
  }

  /**
   * A server's devices became known after placement started (a late joiner, or every server after a
   * failover, since reports go to the leader only): re-place soon, once per `initialDelayMs` window.
   */
  #onServerJoined(): void {
    if (!this.#running || this.#joined || this.leader() !== this.#c.selfId) return;
    this.#joined = this.#c.timers.setTimeout(() => {
      this.#joined = undefined;
      if (this.#running) this.run('joined');
    }, this.#c.options.initialDelayMs);
  }

  /** The runs (`id@epoch`) of the alive servers in `view` whose devices are known: the servers a run places for. */
  #placeable(view: ClusterView): Set<string> {
    return new Set(Object.values(view.entries).flatMap((e) => (e.alive && this.#devices.has(e.serverId) ? [`${e.serverId}@${e.epoch}`] : [])));
  }

  /** Whether an alive server with known devices was not placed for by this server's last decision. */
  #unplaced(): boolean {
    for (const run of this.#placeable(this.#c.view())) if (!this.#placedFor.has(run)) return true;
    return false;
  }

  /** The first placement: once the initial delay passed and every alive server in the view reported devices. */
  #tryFirst(): void {
    if (!this.#running || !this.#initialDue || this.#last !== undefined || this.leader() !== this.#c.selfId) return;
    const alive = Object.values(this.#c.view().entries).filter((e) => e.alive);
    if (this.#c.hasSeeds && alive.length < 2) return;
    if (!alive.every((e) => this.#devices.has(e.serverId))) return;
    this.#initialDue = false; // one early attempt; if it fails, the period retries
    this.run('start');
  }

  /** Probes alive peers for their round trip: all of them each period, only unmeasured ones on a view change. */
  #probePeers(all: boolean): void {
    const now = this.#c.now;
    if (!now) return;
    for (const e of Object.values(this.#c.view().entries)) {
      if (!e.alive || e.serverId === this.#c.selfId || (!all && this.#delays.measured(e.serverId))) continue;
      // The period's probes count toward leaving a silent server out; those of a view change (a burst, until the
      // first answer) do not.
      if (all) this.#expect(e.serverId);
      this.#c.send(e.serverId, { kind: 'probe', sentAt: now(), reply: false });
    }
  }

  /**
   * Reports this server's devices to its leader: on a change of leader or of its instances, when probed, and (`ack`)
   * as the acknowledgement of a decision — which leaves the measured delays out: they go with the period's reports,
   * as before acknowledgements existed, rather than with every decision.
   */
  #reportDevices(force: boolean, ack = false): void {
    const leader = this.leader();
    if (leader === this.#c.selfId) return;
    // A leader restarted under its id is a new run that has no report yet: reported to as a new leader.
    const leaderRun = `${leader}@${this.#c.view().entries[leader]?.epoch ?? ''}`;
    const delaysMs = ack ? {} : this.#delays.own();
    const report: DeviceReport = {
      kind: 'devices',
      serverId: this.#c.selfId,
      devices: this.#devices.get(this.#c.selfId) ?? this.#ownDevices(),
      instances: this.#c.hosted(),
      ...(Object.keys(delaysMs).length > 0 ? { delaysMs } : {}),
      ...(this.#term > 0 ? { term: this.#term, ...(this.#termLeader !== '' ? { termLeader: this.#termLeader } : {}) } : {}),
      ...(this.#last !== undefined && this.#last.leader === leader ? { decided: { leaderEpoch: this.#last.leaderEpoch, seq: this.#last.seq } } : {}),
    };
    // Instances the host loads change the report: resend then too, not only to a new leader.
    const key = JSON.stringify(report.instances);
    if (!force && leaderRun === this.#reportedTo && key === this.#reportedKey) return;
    this.#reportedTo = leaderRun;
    this.#reportedKey = key;
    this.#c.send(leader, report);
  }
}

/** A decision's identity among one leader's: its run's epoch and its number. */
function decisionKey(d: { readonly leaderEpoch: number; readonly seq: number }): string {
  return `${d.leaderEpoch}:${d.seq}`;
}

/**
 * Orders leadership terms: by number, then by leader id (`''`: a term whose leader is not known, from an older
 * build, below every leader's). Two leaders never hold one term, so a server that applied one leader's decision
 * refuses another's of the same number on one side of the order, and the leader on that side learns it must
 * lead under a newer term.
 */
function compareTerms(term: number, leader: ServerId, otherTerm: number, otherLeader: ServerId): number {
  if (term !== otherTerm) return term - otherTerm;
  return leader < otherLeader ? -1 : leader > otherLeader ? 1 : 0;
}

/** Whether two device lists name the same devices in the same order. */
function sameDeviceIds(a: readonly DeviceSpec[], b: readonly DeviceSpec[]): boolean {
  return a.length === b.length && a.every((d, i) => d.id === b[i]!.id);
}
