import { EventEmitter } from 'eventemitter3';
import type { ServerId } from '@epara/core';
import type { TimerHandle } from '@epara/core';
import type { RingSyncConfig, RingSyncEvents, SyncTarget } from './ring-sync-config.js';
import type { SyncMessage, SyncToken } from './sync-types.js';
import { deadBefore, mergeToken, ringSuccessor, stampToken } from './token-ops.js';
import { Liveness } from './liveness.js';
import { DEFAULT_DEAD_RETENTION, ViewStore } from './view-store.js';
import type { ViewUpdate } from './view-sync.js';

export type { RingSyncConfig, RingSyncEvents, SyncTarget } from './ring-sync-config.js';

interface PendingForward {
  token: SyncToken;
  target: SyncTarget;
  /** Suspected servers this token goes around. */
  skip: ReadonlySet<ServerId>;
  tried: number;
  timer: TimerHandle;
}

/**
 * Ring synchronization (docs/mesh.md): servers sorted by id form a ring; each period the lowest alive server
 * starts a token that every alive server merges, stamps with its own entry and forwards to its successor.
 * A successor that does not acknowledge within `ackTimeoutMs` (after `attempts` sends) is suspected and
 * skipped for that token (ring bypass); it is marked dead only when no sign of life from it is younger than
 * `suspicionMs`. Dead-marked servers still get a copy of the token now and then, so one that was only
 * paused or cut off sees its dead mark and outbids it. A server that hears no token for a while starts one
 * itself, which also takes over when the initiator dies. Transport-agnostic: the node supplies `send` and
 * calls {@link receive}.
 */
export class RingSync extends EventEmitter<RingSyncEvents> {
  readonly store: ViewStore;
  readonly #c: RingSyncConfig;
  readonly #pending = new Map<string, PendingForward>();
  /** Tokens seen, with how many times (a token makes at most two laps: the round and its flush lap). */
  readonly #seen = new Map<string, { at: number; visits: number }>();
  readonly #startedAt = new Map<string, number>();
  #round = 0;
  #nextFull = true;
  #lastTokenAt: number;
  readonly #liveness: Liveness;
  readonly #suspicionMs: number;
  #tick: TimerHandle | undefined;
  #tickDueAt = 0;
  #running = false;
  #toldReplaced = false;
  /** Periodic ticks (the clock of the seeds' back-off). */
  #ticks = 0;
  /** Per seed never yet at an alive entry: the tick of its next join token and the gap after it, in periods. */
  readonly #seedWaits = new Map<string, { next: number; gap: number }>();
  /** The seeds seen at an alive entry since this server started, and how many distinct seeds there are. */
  readonly #seedsSeen = new Set<string>();
  #seedCount: number | undefined;
  /** Whether the view holds an id (one closure for every round's prune). */
  readonly #held = (id: ServerId): boolean => this.store.get(id) !== undefined;

  constructor(config: RingSyncConfig) {
    super();
    this.#c = config;
    this.#suspicionMs = config.suspicionMs ?? Math.max(3 * config.periodMs, 2 * config.attempts * config.ackTimeoutMs);
    this.#liveness = new Liveness({ periodMs: config.periodMs, suspicionMs: this.#suspicionMs, eagerProbes: 20, maxProbeGapPeriods: 32 });
    const retention = { retentionMs: config.deadRetentionMs ?? DEFAULT_DEAD_RETENTION.retentionMs, maxDead: config.maxDeadEntries ?? DEFAULT_DEAD_RETENTION.maxDead };
    this.store = new ViewStore(config.selfId, config.epoch, config.clock.now(), config.readSelf(), config.run, retention);
    this.#lastTokenAt = config.clock.now();
  }

  /** Servers the failure detector keeps something for: at most those the view holds (diagnostics, tests). */
  get trackedPeers(): number {
    return this.#liveness.size;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  stop(): void {
    this.#running = false;
    if (this.#tick) this.#tick.cancel();
    for (const p of this.#pending.values()) p.timer.cancel();
    this.#pending.clear();
  }

  /** Starts a round now (the periodic timer does this on its own). */
  startRound(): void {
    const token: SyncToken = { origin: this.#c.selfId, epoch: this.store.self.epoch, round: ++this.#round, full: this.#nextFull, wantFull: false, entries: [], stubs: [] };
    this.#nextFull = this.#round % this.#c.fullEvery === 0;
    this.#startedAt.set(key(token), this.#c.clock.now());
    this.#process(token, this.#c.selfId);
  }

  /** Delivers a message from a peer; `reply` answers on the link it came from. */
  receive(message: SyncMessage, reply: (m: SyncMessage) => void): void {
    if (!this.#running) return;
    this.#liveness.heard(message.from, this.#c.clock.now());
    if (message.kind === 'ack') return this.#acked(message.from, key(message));
    this.#emitSend(reply, { kind: 'ack', from: this.#c.selfId, origin: message.token.origin, epoch: message.token.epoch, round: message.token.round });
    const firstVisit = !this.#seen.has(key(message.token));
    this.#process(message.token, message.from);
    // A server this one holds dead just spoke: show it the dead mark (in a copy of the token) so it outbids it.
    const target = { id: message.from, address: this.store.get(message.from)?.address };
    if (this.store.get(message.from)?.alive === false) {
      const copy = this.#stamp(message.token, this.#c.clock.now(), false);
      return this.#emitSend((m) => this.#c.send(target, m), { kind: 'token', from: this.#c.selfId, token: copy });
    }
    // A server that started a round of its own while this one knows a lower alive server — the initiator — hears no
    // tokens (a one-way cut from its predecessor, which still hears it: its acks pass; or the initiator died): its
    // own tokens will not come back either, so its view would freeze. It is answered with this view, every entry in
    // full, under a round number of its own (negative: no round it started), which it merges and nothing more — the
    // token is not its round coming back, and completes nothing.
    const origin = message.token.origin;
    if (firstVisit && origin === message.from && origin !== this.#c.selfId && this.store.aliveRing()[0] !== origin) {
      const copy = this.#stamp({ ...message.token, full: true, round: -message.token.round }, this.#c.clock.now(), false);
      this.#emitSend((m) => this.#c.send(target, m), { kind: 'token', from: this.#c.selfId, token: copy });
    }
  }

  /** Reports a peer as gone (e.g. its link closed): marked dead now rather than at the next missed ack. */
  reportDead(id: ServerId, reason: 'reported' | 'link-closed' = 'reported'): void {
    if (this.store.markDead(id, this.#c.clock.now())) this.emit('peerLeft', { serverId: id, reason });
  }

  #schedule(delayMs: number): void {
    this.#tickDueAt = this.#c.clock.now() + delayMs;
    this.#tick = this.#c.timers.setTimeout(() => this.#onTick(), delayMs);
  }

  #onTick(): void {
    if (!this.#running) return;
    const now = this.#c.clock.now();
    const lateMs = now - this.#tickDueAt;
    this.#schedule(this.#c.periodMs);
    if (lateMs > this.#c.attempts * this.#c.ackTimeoutMs) {
      // This server was paused (a stopped process, a blocked event loop) for longer than peers wait for its
      // acks: they may have marked it dead. Outbid any such mark now and announce it with a round of its own.
      this.#c.logger.warn({ lateMs }, 'sync timer ran late; re-announcing this server');
      this.store.refute(now);
      this.emit('viewUpdated', OWN);
      if (this.store.aliveRing().length > 1) return this.startRound();
    }
    const alive = this.store.aliveRing();
    if (alive.length <= 1 && this.#c.seeds.length > 0) return this.#join();
    this.#reseed();
    const rank = Math.max(0, alive.indexOf(this.#c.selfId));
    // The initiator is the lowest alive id; the others take over in rank order when tokens stop coming.
    if (rank === 0 || now - this.#lastTokenAt > (3 + rank) * this.#c.periodMs) this.startRound();
  }

  /**
   * Join tokens to the seeds no alive entry of the view is at. A seed never yet at one since this server started
   * gets one the first period it is found missing, then after 1, 2, 4… periods, at most {@link RESEED_PERIODS}
   * apart: a seed up after the others met through another seed (a cluster started at once, its first server
   * loading its models last, with no seed of its own) is found within about as long again as it took to come up —
   * before, only at the next reseed, 32 periods on, and that server was a cluster of its own meanwhile. A seed that
   * was at an alive entry gets one every {@link RESEED_PERIODS} periods: servers on the far side of a partition
   * that outlasted the dead retention were forgotten, so no probe of the dead goes there any more; the seeds are how
   * the two sides find each other again once the cut heals.
   */
  #reseed(): void {
    const seeds = this.#c.seeds;
    if (seeds.length === 0) return;
    const tick = ++this.#ticks;
    const periodic = tick % RESEED_PERIODS === 0;
    if (!periodic && this.#seedsSeen.size >= (this.#seedCount ??= new Set(seeds).size)) return;
    const at = new Set(this.store.aliveIds().map((id) => this.store.get(id)?.address));
    for (const seed of seeds) {
      if (at.has(seed)) {
        this.#seedsSeen.add(seed);
        this.#seedWaits.delete(seed);
      } else if (this.#seedsSeen.has(seed)) {
        if (periodic) this.#join(seed);
      } else {
        const wait = this.#seedWaits.get(seed);
        if (wait !== undefined && tick < wait.next) continue;
        const gap = wait === undefined ? 1 : Math.min(RESEED_PERIODS, 2 * wait.gap);
        this.#seedWaits.set(seed, { next: tick + gap, gap });
        this.#join(seed);
      }
    }
  }

  #join(seed = this.#c.seeds[this.#round % this.#c.seeds.length]!): void {
    const now = this.#c.clock.now();
    this.#writeSelf(now);
    const token: SyncToken = { origin: this.#c.selfId, epoch: this.store.self.epoch, round: ++this.#round, full: true, wantFull: false, entries: [this.store.toWire(this.#c.selfId, now)!], stubs: [] };
    this.#startedAt.set(key(token), now);
    this.#seen.set(key(token), { at: now, visits: 2 });
    this.#forwardTo(token, { address: seed });
  }

  #process(token: SyncToken, from: ServerId): void {
    const now = this.#c.clock.now();
    this.#lastTokenAt = now;
    const before = this.store.aliveRing();
    const wantFull = this.#merge(token, from, now);
    const k = key(token);
    const seen = this.#seen.get(k);
    const back = token.origin === this.#c.selfId && from !== this.#c.selfId;
    if (back) {
      this.#emitMembership(before);
      if (seen && seen.visits === 1) {
        this.#complete(token, now, wantFull);
        // Servers before a change on the ring only learn it next round; a flush lap (merge and forward, no
        // stamping) carries this round's deltas to them now, so staleness stays within one period plus a
        // rotation. Idle rounds carry no deltas and need no flush lap.
        seen.visits = 2;
        if (token.entries.length > 0) this.#forward(this.#stamp(token, now, wantFull));
      }
      return;
    }
    if (seen && from !== this.#c.selfId) {
      seen.visits++;
      this.#emitMembership(before);
      if (seen.visits === 2) this.#forward(this.#stamp(token, now, wantFull));
      return;
    }
    this.#seen.set(k, { at: now, visits: 1 });
    this.#prune(now);
    this.#writeSelf(now);
    this.#emitMembership(before);
    this.#forward(this.#stamp(token, now, wantFull));
  }

  #merge(token: SyncToken, from: ServerId, now: number): boolean {
    const { changed, missing } = mergeToken(this.store, token, from, now, this.#c.faults);
    const forgotten = this.store.forgetDead(now);
    for (const id of forgotten) this.#liveness.forget(id);
    if (changed || forgotten.length > 0) this.emit('viewUpdated');
    const newer = this.store.replacedBy;
    if (newer !== undefined && !this.#toldReplaced) {
      this.#toldReplaced = true;
      this.#c.logger.warn({ run: this.#c.run, newerRun: newer }, 'a newer run of this server is in the view: this run was replaced and does not outbid its entry');
    }
    return missing;
  }

  /**
   * Rewrites this server's own entry from `readSelf()`, announcing a change as `viewUpdated` (`own`). Before, only
   * merges of peers' entries raised it, so a wait on this server's own entry (`node.whenView`) lasted until a
   * peer's token happened to come — for ever on a server alone.
   */
  #writeSelf(now: number): void {
    if (this.store.writeSelf(this.#c.readSelf(), now)) this.emit('viewUpdated', OWN);
  }

  #stamp(token: SyncToken, now: number, wantFull: boolean): SyncToken {
    return stampToken(this.store, token, now, wantFull, 2 * this.#c.periodMs);
  }

  #forward(token: SyncToken, skip: ReadonlySet<ServerId> = NO_SKIP): void {
    const next = ringSuccessor(this.store, skip);
    this.#probe(token, next);
    if (next === undefined) {
      if (token.origin === this.#c.selfId) this.#complete(token, this.#c.clock.now(), token.wantFull);
      return;
    }
    this.#forwardTo(token, { id: next, address: this.store.get(next)?.address }, skip);
  }

  /** Sends a copy of the token (no ack awaited) to the dead-marked servers between this one and `next`. */
  #probe(token: SyncToken, next: ServerId | undefined): void {
    for (const id of this.#liveness.probesDue(deadBefore(this.store, next), this.#c.clock.now())) {
      const target = { id, address: this.store.get(id)?.address };
      this.#emitSend((m) => this.#c.send(target, m), { kind: 'token', from: this.#c.selfId, token });
    }
  }

  #forwardTo(token: SyncToken, target: SyncTarget, skip: ReadonlySet<ServerId> = NO_SKIP): void {
    const k = key(token);
    const prev = this.#pending.get(k);
    if (prev) prev.timer.cancel();
    const pending: PendingForward = { token, target, skip, tried: 0, timer: undefined as unknown as TimerHandle };
    this.#pending.set(k, pending);
    this.#attempt(k, pending);
  }

  #attempt(k: string, p: PendingForward): void {
    p.tried++;
    this.#emitSend((m) => this.#c.send(p.target, m), { kind: 'token', from: this.#c.selfId, token: p.token });
    p.timer = this.#c.timers.setTimeout(() => this.#ackMissed(k, p), this.#c.ackTimeoutMs + this.#c.faults.delayMs * 2);
  }

  #ackMissed(k: string, p: PendingForward): void {
    if (this.#pending.get(k) !== p || !this.#running) return;
    if (p.tried < this.#c.attempts) return this.#attempt(k, p);
    this.#pending.delete(k);
    if (p.target.id === undefined) return; // a seed that did not answer: the next tick tries again
    const id = p.target.id;
    const now = this.#c.clock.now();
    const entry = this.store.get(id);
    if (entry && this.#liveness.isDead(id, entry.updatedAt, now)) {
      this.#c.logger.warn({ peer: id }, 'ring successor did not acknowledge and shows no sign of life; marking it dead');
      if (this.store.markDead(id, now)) this.emit('peerLeft', { serverId: id, reason: 'ack-timeout' });
    } else {
      this.#c.logger.debug({ peer: id }, 'ring successor did not acknowledge; suspected, bypassed for this token');
    }
    this.#forward(this.#stamp(p.token, now, p.token.wantFull), new Set([...p.skip, id]));
  }

  #acked(from: ServerId, k: string): void {
    const p = this.#pending.get(k);
    if (!p || (p.target.id !== undefined && p.target.id !== from)) return;
    p.timer.cancel();
    this.#pending.delete(k);
  }

  #complete(token: SyncToken, now: number, wantFull: boolean): void {
    const k = key(token);
    const started = this.#startedAt.get(k);
    this.#startedAt.delete(k);
    if (wantFull) this.#nextFull = true;
    if (started === undefined) return;
    this.emit('roundCompleted', { origin: token.origin, round: token.round, hops: token.entries.length + token.stubs.length, durationMs: now - started });
  }

  #emitSend(send: (m: SyncMessage) => void, message: SyncMessage): void {
    const f = this.#c.faults;
    if (f.drop()) return;
    const go = (): void => {
      if (!this.#running) return;
      try {
        send(message);
      } catch (err) {
        this.#c.logger.debug({ err }, 'sync send failed');
      }
    };
    if (f.delayMs > 0) this.#c.timers.setTimeout(go, f.delayMs);
    else go();
  }

  /** Reports who joined and who left since `before` (an earlier {@link ViewStore.aliveRing}). */
  #emitMembership(before: readonly ServerId[]): void {
    const after = this.store.aliveRing();
    // The store hands out a new array only when membership changed: the same one means nothing to report.
    if (after === before) return;
    for (const id of after) {
      if (before.includes(id)) continue;
      this.#liveness.revived(id);
      this.emit('peerJoined', { serverId: id, epoch: this.store.get(id)!.epoch });
    }
    for (const id of before) if (!after.includes(id)) this.emit('peerLeft', { serverId: id, reason: 'reported' });
  }

  #prune(now: number): void {
    const horizon = now - 20 * this.#c.periodMs;
    // forEach, not for…of over entries: no [key, value] pair is built per entry, every round.
    this.#seen.forEach((t, k, seen) => void (t.at < horizon && seen.delete(k)));
    this.#startedAt.forEach((t, k, started) => void (t < horizon && started.delete(k)));
    // Ids heard from that the view does not hold (acks from a server never merged, or forgotten since).
    this.#liveness.retain(this.#held);
  }
}

/** How often a seed that is not in the view is sent a join token, in periods (the longest gap between probes of the dead). */
const RESEED_PERIODS = 32;

const key = (t: { origin: ServerId; epoch: number; round: number }): string => `${t.origin}/${t.epoch}/${t.round}`;

/** The payload of a `viewUpdated` that only this server's own entry changed. */
const OWN: ViewUpdate = { own: true };

/** No server skipped (read only: a bypass builds a set of its own). */
const NO_SKIP: ReadonlySet<ServerId> = new Set();
