import { compareEntries } from '@epara/core/internal';
import type { ClusterView, ServerEntry, ServerId } from '@epara/core';
import type { EntryRun } from '../protocol/view-codec.js';
import type { EntryStub, WireEntry } from './sync-types.js';

/** The part of its own entry a server writes each round (identity and version are managed by the store). */
export type SelfState = Pick<ServerEntry, 'instances' | 'load' | 'freeMemoryBytes' | 'arrivalRates' | 'address' | 'items'>;

/**
 * How long the store keeps servers it holds dead. A dead entry is forgotten once its last stamp (by the server
 * itself) is older than `retentionMs`, and past `maxDead` dead entries the oldest-stamped go first: ids that
 * never come back (many short-lived servers) would otherwise stay in every view, every token and the probe
 * rotation for ever. Ages travel with entries, so every holder forgets an entry at about the same time, and an
 * incoming dead entry this store would forget at once is not taken back in.
 */
export interface DeadRetention {
  readonly retentionMs: number;
  readonly maxDead: number;
}

/** The node's defaults for `deadRetentionMs` and `maxDeadEntries`: an hour, and 256 dead entries. */
export const DEFAULT_DEAD_RETENTION: DeadRetention = { retentionMs: 3_600_000, maxDead: 256 };

/** What applying one incoming entry did. */
export type ApplyOutcome = 'updated' | 'refreshed' | 'ignored' | 'missing';

interface Stored {
  entry: ServerEntry;
  /** Local time this store last saw the version change (drives which entries travel in full). */
  changedAt: number;
  /** The run of the server that wrote the entry, when the entry came with one. */
  run?: EntryRun;
}

/**
 * One server's copy of the cluster view. Entries keep `updatedAt` in THIS server's clock (converted from
 * ages on receipt), so staleness is measured without trusting anyone else's clock. Merge rule ({@link compareMesh}):
 * the higher epoch wins; within an epoch and an incarnation ({@link incarnationOf}) a dead entry wins over a live
 * one whatever their versions (death is monotonic per incarnation: only the server itself brings its entry back,
 * under its next incarnation); otherwise the higher version wins, and an equal version only refreshes the age.
 */
export class ViewStore {
  readonly selfId: ServerId;
  readonly #entries = new Map<ServerId, Stored>();
  readonly #run: EntryRun | undefined;
  /** A newer run of this server whose live entry this store saw (and did not outbid). */
  #replacedBy: EntryRun | undefined;
  /** {@link aliveRing} and {@link sortedIds} until the membership they list changes. */
  #alive: readonly ServerId[] | undefined;
  #sorted: readonly ServerId[] | undefined;
  /** {@link view} until an entry changes. */
  #view: ClusterView | undefined;

  /** `run` is this process's run: given, the entry carries it, and a newer run's entry of this id is not outbid. */
  readonly #retention: DeadRetention;

  constructor(selfId: ServerId, epoch: number, now: number, state: SelfState, run?: EntryRun, retention: DeadRetention = { retentionMs: Infinity, maxDead: Infinity }) {
    this.selfId = selfId;
    this.#run = run;
    this.#retention = retention;
    const entry: ServerEntry = { serverId: selfId, epoch, version: 1, updatedAt: now, alive: true, ...state };
    this.#put(selfId, { entry, changedAt: now, ...(run ? { run } : {}) });
  }

  /** The newer run of this server seen in the view, if any: this run is replaced and no longer outbids it. */
  get replacedBy(): EntryRun | undefined {
    return this.#replacedBy;
  }

  get self(): ServerEntry {
    return this.#entries.get(this.selfId)!.entry;
  }

  get(id: ServerId): ServerEntry | undefined {
    return this.#entries.get(id)?.entry;
  }

  /** The run that wrote the entry of `id`, when it came with one. */
  runOf(id: ServerId): EntryRun | undefined {
    return this.#entries.get(id)?.run;
  }

  /** Entries whose version changed here at or after `since` (local ms). */
  changedSince(id: ServerId, since: number): boolean {
    const s = this.#entries.get(id);
    return s !== undefined && s.changedAt >= since;
  }

  ids(): ServerId[] {
    return [...this.#entries.keys()];
  }

  /** Alive server ids (self included), sorted: the ring order. */
  aliveIds(): ServerId[] {
    return [...this.aliveRing()];
  }

  /**
   * {@link aliveIds} without a copy: the same array until a server joins, leaves, dies or comes back (then a new
   * one), so a caller can tell that membership did not change by identity. Never mutate it. Ring sync reads the
   * ring several times a round; sorting a fresh array each time was most of what a round allocated.
   */
  aliveRing(): readonly ServerId[] {
    return (this.#alive ??= [...this.#entries.values()].filter((s) => s.entry.alive).map((s) => s.entry.serverId).sort());
  }

  /** Every id held (alive or dead), sorted; the same array until an id is added or forgotten. Never mutate it. */
  sortedIds(): readonly ServerId[] {
    return (this.#sorted ??= [...this.#entries.keys()].sort());
  }

  /** Stores `stored` under `id`, dropping the cached id lists an added id or a changed `alive` makes stale. */
  #put(id: ServerId, stored: Stored): void {
    const prev = this.#entries.get(id);
    if (prev === undefined) this.#sorted = undefined;
    if (prev === undefined || prev.entry.alive !== stored.entry.alive) this.#alive = undefined;
    this.#view = undefined;
    this.#entries.set(id, stored);
  }

  #remove(id: ServerId): void {
    if (!this.#entries.delete(id)) return;
    this.#view = undefined;
    this.#sorted = undefined;
    this.#alive = undefined;
  }

  /** Overwrites this server's own entry; the version moves only when the content changed. */
  writeSelf(state: SelfState, now: number): boolean {
    const cur = this.#entries.get(this.selfId)!;
    const changed = !sameContent(cur.entry, state) || !cur.entry.alive;
    const entry: ServerEntry = { ...cur.entry, ...state, alive: true, updatedAt: now, version: cur.entry.version + (changed ? 1 : 0) };
    this.#put(this.selfId, { ...cur, entry, changedAt: changed ? now : cur.changedAt });
    return changed;
  }

  /**
   * Moves this server's own entry to its next incarnation, past whatever a peer may hold for it (e.g. a dead mark
   * written while this server was paused: within an incarnation a dead mark beats every version): the live entry
   * then wins everywhere it travels. The epoch — the run — stays.
   */
  refute(now: number): void {
    const cur = this.#entries.get(this.selfId)!;
    const version = nextIncarnation(cur.entry.version);
    this.#put(this.selfId, { ...cur, entry: { ...cur.entry, alive: true, version, updatedAt: now }, changedAt: now });
  }

  /**
   * Forgets dead entries past the retention (see {@link DeadRetention}); returns their ids. An entry is never
   * forgotten while alive, and this server's own never.
   */
  forgetDead(now: number): ServerId[] {
    const { retentionMs, maxDead } = this.#retention;
    // Called on every merge: with nobody dead (the usual case) there is nothing to sort.
    if (!this.#anyDead()) return [];
    const dead = [...this.#entries.values()].filter((s) => !s.entry.alive && s.entry.serverId !== this.selfId).sort((x, y) => x.entry.updatedAt - y.entry.updatedAt);
    const forgotten: ServerId[] = [];
    for (const [i, s] of dead.entries()) {
      if (now - s.entry.updatedAt <= retentionMs && dead.length - i <= maxDead) break;
      this.#remove(s.entry.serverId);
      forgotten.push(s.entry.serverId);
    }
    return forgotten;
  }

  #anyDead(): boolean {
    for (const s of this.#entries.values()) if (!s.entry.alive && s.entry.serverId !== this.selfId) return true;
    return false;
  }

  /** Whether a dead entry of an id this store does not hold, stamped at `updatedAt`, would be forgotten at once. */
  #forgettable(updatedAt: number, now: number): boolean {
    const { retentionMs, maxDead } = this.#retention;
    if (now - updatedAt > retentionMs) return true;
    if (maxDead === Infinity) return false;
    const dead = [...this.#entries.values()].filter((s) => !s.entry.alive);
    return dead.length >= maxDead && dead.every((s) => s.entry.updatedAt >= updatedAt);
  }

  /** Merges one full entry from the ring (core's `compareEntries` decides which copy wins). */
  applyEntry(w: WireEntry, now: number): ApplyOutcome {
    if (w.serverId === this.selfId) return this.#applySelfEcho(w, now);
    const cur = this.#entries.get(w.serverId);
    if (!cur && !w.alive && this.#forgettable(now - Math.max(0, w.ageMs), now)) return 'ignored';
    const updatedAt = now - Math.max(0, w.ageMs);
    // Most copies that lose are told apart by their stamp and age: the entry is built only for one that may win.
    if (cur && stampOrder(w, updatedAt, cur.entry) < 0) return this.#ignore(w, cur);
    const { ageMs: _age, run: wireRun, ...rest } = w;
    const incoming: ServerEntry = { ...rest, updatedAt };
    if (cur && compareMesh(incoming, cur.entry) <= 0) return this.#ignore(w, cur);
    const stampChanged = !cur || sameStamp(incoming, cur.entry) === false;
    // A relay that does not carry runs (an older build) passes the entry on without one: keep the run known for that epoch.
    const run = wireRun ?? (cur?.entry.epoch === incoming.epoch ? cur.run : undefined);
    this.#put(w.serverId, { entry: incoming, changedAt: stampChanged || !cur ? now : cur.changedAt, ...(run ? { run } : {}) });
    return stampChanged ? 'updated' : 'refreshed';
  }

  /**
   * An incoming copy that does not win. The same entry, now with its run (it first came by a path that does not
   * carry runs, such as a join through a seed, and an idle server's version does not move): learn the run anyway.
   */
  #ignore(w: WireEntry, cur: Stored): ApplyOutcome {
    if (w.run !== undefined && cur.run === undefined && cur.entry.epoch === w.epoch) cur.run = w.run;
    return 'ignored';
  }

  /** Merges a heartbeat stub; `missing` means the stub is newer than the content held here. */
  applyStub(s: EntryStub, now: number): ApplyOutcome {
    if (s.serverId === this.selfId) return this.#applySelfEcho(s, now, true);
    const cur = this.#entries.get(s.serverId);
    if (!cur && !s.alive && this.#forgettable(now - Math.max(0, s.ageMs), now)) return 'ignored';
    if (!cur || s.epoch > cur.entry.epoch) return 'missing';
    if (s.epoch < cur.entry.epoch) return 'ignored';
    // Same epoch and incarnation: a dead stub kills a live entry whatever the versions (death is monotonic per
    // incarnation), a newer dead version is asked for in full (dead copies converge on one), and a live stub never
    // revives a dead entry.
    if (s.alive !== cur.entry.alive && incarnationOf(s.version) === incarnationOf(cur.entry.version)) {
      if (s.alive) return 'ignored';
      if (s.version > cur.entry.version) return 'missing';
      this.#put(s.serverId, { ...cur, entry: { ...cur.entry, alive: false }, changedAt: now });
      return 'updated';
    }
    if (s.version > cur.entry.version) return 'missing';
    if (s.version < cur.entry.version) return 'ignored';
    if (s.alive !== cur.entry.alive) return 'ignored';
    const updatedAt = now - Math.max(0, s.ageMs);
    if (updatedAt <= cur.entry.updatedAt) return 'ignored';
    cur.entry = { ...cur.entry, updatedAt };
    this.#view = undefined;
    return 'refreshed';
  }

  /**
   * Marks a server dead (ring bypass, failed link). The version is kept: within the entry's epoch and incarnation
   * the dead mark wins over every live copy (an older write still going round included), and only the server's own
   * entry of a newer incarnation (its refute) or epoch (a restart) wins over it.
   */
  markDead(id: ServerId, now: number): boolean {
    const cur = this.#entries.get(id);
    if (!cur || !cur.entry.alive || id === this.selfId) return false;
    this.#put(id, { ...cur, entry: { ...cur.entry, alive: false }, changedAt: now });
    return true;
  }

  /** Wire form of an entry, with its age as of `now`. */
  toWire(id: ServerId, now: number): WireEntry | undefined {
    const stored = this.#entries.get(id);
    if (!stored) return undefined;
    const { updatedAt, ...rest } = stored.entry;
    return { ...rest, ageMs: Math.max(0, now - updatedAt), ...(stored.run ? { run: stored.run } : {}) };
  }

  toStub(id: ServerId, now: number): EntryStub | undefined {
    const e = this.#entries.get(id)?.entry;
    return e && { serverId: e.serverId, epoch: e.epoch, version: e.version, alive: e.alive, ageMs: Math.max(0, now - e.updatedAt) };
  }

  /**
   * The entries as a {@link ClusterView}: the same object until an entry changes, so what is derived from it per
   * request (the node's view on its own clock) can be kept until then. Never mutate it.
   */
  view(): ClusterView {
    if (this.#view !== undefined) return this.#view;
    const entries: Record<ServerId, ServerEntry> = {};
    for (const [id, s] of this.#entries) entries[id] = s.entry;
    return (this.#view = { entries });
  }

  /**
   * Our own entry came back from someone else. If it is at least as new as ours it was written by a previous
   * life of this server or by a peer that declared us dead: jump past it so our live entry wins — past a dead
   * mark of our incarnation (whatever its version) to the next incarnation, since no version of an incarnation
   * beats its death. Unless it is
   * the live entry of a newer run of this server (a larger announced epoch, another instance): then this run
   * was replaced — its process kept running beside its restart — and outbidding it would make the two trade
   * the entry, each jumping past the other's epoch. A stub of a larger epoch says nothing of its run: the
   * full entry is asked for (`missing`) and decides.
   */
  #applySelfEcho(w: { epoch: number; version: number; alive: boolean; run?: EntryRun }, now: number, stub = false): ApplyOutcome {
    const cur = this.#entries.get(this.selfId)!;
    if (w.epoch > cur.entry.epoch && (this.#replacedBy !== undefined || this.#isNewerRun(w))) {
      // Once replaced, for good: the new run's entry marked dead later does not hand the id back to this one.
      this.#replacedBy ??= w.run;
      return 'ignored';
    }
    if (w.epoch > cur.entry.epoch && stub && this.#run !== undefined) return 'missing';
    if (w.epoch > cur.entry.epoch) {
      this.#put(this.selfId, { ...cur, entry: { ...cur.entry, epoch: w.epoch + 1, version: 1, alive: true, updatedAt: now }, changedAt: now });
      return 'updated';
    }
    if (w.epoch === cur.entry.epoch && !w.alive && incarnationOf(w.version) >= incarnationOf(cur.entry.version)) {
      const version = nextIncarnation(Math.max(w.version, cur.entry.version));
      this.#put(this.selfId, { ...cur, entry: { ...cur.entry, version, alive: true, updatedAt: now }, changedAt: now });
      return 'updated';
    }
    if (w.epoch === cur.entry.epoch && w.version > cur.entry.version) {
      this.#put(this.selfId, { ...cur, entry: { ...cur.entry, version: w.version + 1, alive: true, updatedAt: now }, changedAt: now });
      return 'updated';
    }
    return 'ignored';
  }

  /**
   * Whether an entry of this id is the live entry of a newer run: announced with a larger epoch than this run's
   * and from another instance. A dead one is not: a restart whose clock stepped back (a smaller epoch) takes
   * over the id once its previous run is found dead.
   */
  #isNewerRun(w: { alive: boolean; run?: EntryRun }): boolean {
    const mine = this.#run;
    return mine !== undefined && w.run !== undefined && w.alive && w.run.instance !== mine.instance && w.run.epoch > mine.epoch;
  }
}

function sameStamp(a: ServerEntry, b: ServerEntry): boolean {
  return a.epoch === b.epoch && a.version === b.version && a.alive === b.alive;
}

function sameContent(e: ServerEntry, s: SelfState): boolean {
  return (
    e.load === s.load &&
    e.freeMemoryBytes === s.freeMemoryBytes &&
    e.address === s.address &&
    JSON.stringify(e.instances) === JSON.stringify(s.instances) &&
    JSON.stringify(e.arrivalRates) === JSON.stringify(s.arrivalRates) &&
    JSON.stringify(e.items) === JSON.stringify(s.items)
  );
}

/**
 * Versions of one incarnation of a server's entry: a version's high part (`version / 2^32`, rounded down) is the
 * incarnation, which only the server itself moves on (to outbid a dead mark); its own writes count up the low part.
 * Carried in the version, so the wire, core's order across incarnations (a higher incarnation is a higher version)
 * and the epoch — the run, which placement and the links read as a restart — stay as they were.
 */
export const INCARNATION_STEP = 2 ** 32;

/** The incarnation a version belongs to (see {@link INCARNATION_STEP}). */
export function incarnationOf(version: number): number {
  return Math.floor(version / INCARNATION_STEP);
}

/** The first version of the incarnation after `version`'s. */
function nextIncarnation(version: number): number {
  return (incarnationOf(version) + 1) * INCARNATION_STEP;
}

/**
 * The mesh's merge order: core's `compareEntries`, except that within one epoch and incarnation a dead entry wins
 * over a live one whatever their versions. A dead mark keeps the version it saw; the server may have written newer
 * versions before it died that are still going round, and under version order one of them read it alive again. So
 * an incarnation, once dead, stays dead; the server itself comes back under its next one (see {@link ViewStore.refute}).
 */
export function compareMesh(a: ServerEntry, b: ServerEntry): number {
  if (a.epoch === b.epoch && a.alive !== b.alive && incarnationOf(a.version) === incarnationOf(b.version)) return a.alive ? -1 : 1;
  return compareEntries(a, b);
}

/**
 * The first steps of {@link compareMesh} for an incoming wire entry stamped `updatedAt` here against `b`: epoch,
 * alive within one incarnation (a dead mark wins), version, alive (a dead mark wins a tie), age. 0 when all tie
 * (then only the whole entries decide).
 */
function stampOrder(w: WireEntry, updatedAt: number, b: ServerEntry): number {
  if (w.epoch !== b.epoch) return w.epoch - b.epoch;
  if (w.alive !== b.alive && incarnationOf(w.version) === incarnationOf(b.version)) return w.alive ? -1 : 1;
  if (w.version !== b.version) return w.version - b.version;
  if (w.alive !== b.alive) return w.alive ? -1 : 1;
  return updatedAt - b.updatedAt;
}
