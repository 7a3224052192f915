import { randomBytes } from 'node:crypto';
import type { KV, KvWatchEntry } from '@nats-io/kv';
import { Kvm } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/transport-node';
import { EventEmitter } from 'eventemitter3';
import { createView, EparaError, isEparaError, toEparaError } from '@epara/core';
import { markDead, upsertEntry } from '@epara/core/internal';
import type { AbortSignalLike, ClusterView, ServerEntry, ServerId, TimerHandle } from '@epara/core';
import { decodeViewEntries, encodeViewEntries } from '@epara/mesh/wire';
import type { ViewSync, ViewSyncEvents, ViewUpdate } from '@epara/mesh';
import { resolveNatsViewSyncOptions } from './nats-view-sync-options.js';
import { decodeEntryItems, encodeEntryItems, itemsKeyOf } from './nats-view-items.js';
import type { NatsEntryItems } from './nats-view-items.js';
import type { NatsViewSyncOptions, ResolvedNatsViewSyncOptions } from './nats-view-sync-options.js';

/**
 * Events of a {@link NatsViewSync}: the node's `ViewSyncEvents`. `peerLeft` reasons: `expired` (no rewrite for
 * `deadAfterMs`), `deleted` (the server removed its entry: a clean stop), `reported`/`link-closed`
 * ({@link NatsViewSync.reportDead}). Background failures (a write or the watch failed, a malformed entry) go
 * to the `onError` option, since the node's sync interface has no error event.
 */
export type NatsViewSyncEvents = ViewSyncEvents;

/** The payload of a `viewUpdated` that only this server's own entry changed. */
const OWN: ViewUpdate = { own: true };

/** The KV client's own request timeout, ms: the longest a bucket request waits here. */
const KV_TIMEOUT_MS = 2000;

/** The KV key of a server: `srv.<id>` when the id is subject-safe, else `srv.=<hex of the id>` (`=` never occurs in a plain id, so the two forms cannot collide). */
export function viewKeyOf(serverId: ServerId): string {
  return /^[A-Za-z0-9_-]+$/.test(serverId) ? `srv.${serverId}` : `srv.=${Buffer.from(serverId).toString('hex')}`;
}

/** The KV key naming the current run of a server: `run.` and the same suffix as its {@link viewKeyOf} key. */
export function runKeyOf(serverId: ServerId): string {
  return `run.${viewKeyOf(serverId).slice('srv.'.length)}`;
}

/**
 * Cluster-view synchronization over NATS JetStream KV, an alternative to the ring: each server writes its
 * own entry under `srv.<id>` every period (the write is its heartbeat; the version grows with each write and
 * the KV revision guards it: a compare-and-set on the last revision, so only a higher `(epoch, version)`
 * lands) and watches the bucket, merging what it sees with core `mergeView` rules. A peer whose entry was
 * not rewritten for `deadAfterMs` (measured on this server's clock, no clock agreement needed) is marked
 * dead; a clean stop deletes the entry so peers learn at once; the bucket's max age drops long-dead servers.
 * A failed write or a watch that ended reopens the bucket (creating it again if a broker restarted without its
 * store lost it) and restarts the watch at the next period, so the view converges again after the broker heals.
 *
 * One run per server id: each run claims the key {@link runKeyOf} when it starts (its epoch and a random
 * instance). Two live runs of one id (a server restarted while its old process was stopped or cut off, then
 * resumed) would otherwise outbid each other's entry every period — each compare-and-set failure jumping past
 * the other's epoch. A run whose write finds the entry moved on reads the run key first: held by another run,
 * it was replaced, so it stops writing (and never deletes the entry on stop) and reports a `CLOSED` error with
 * `details.cause: 'REPLACED_RUN'` to `onError`; only its own run moves past the entry.
 */
export class NatsViewSync extends EventEmitter<NatsViewSyncEvents> implements ViewSync {
  readonly #o: ResolvedNatsViewSyncOptions;
  readonly #key: string;
  readonly #runKey: string;
  readonly #itemsKey: string;
  /** The peers' published items, by their view key: attached to their entries of the same epoch. */
  readonly #items = new Map<string, NatsEntryItems>();
  /** What this run last wrote under its items key (JSON of the items, epoch, monotonic ms), or undefined: write. */
  #itemsWritten: { readonly text: string; readonly epoch: number; readonly at: number } | undefined;
  /** This run, as claimed under {@link runKeyOf}: the epoch and a random instance (not the seeded random of a node, which repeats across runs). */
  readonly #run: { readonly epoch: number; readonly instance: string };
  /** A later run of this server claimed the run key: this one writes no more. */
  #replaced = false;
  /** The KV revision of this run's claim, and when it was last written (monotonic ms): refreshed before the bucket's max age drops it. */
  #runRevision = 0;
  #runWrittenAt = 0;
  readonly #heard = new Map<ServerId, number>();
  readonly #ids = new Map<string, ServerId>();
  #view: ClusterView;
  #self: ServerEntry;
  #kv: KV | undefined;
  #watch: QueuedIterator<KvWatchEntry> | undefined;
  #revision = 0;
  #tick: TimerHandle | undefined;
  #running = false;
  /** A write failed or the watch ended: reopen the bucket and the watch before the next write. */
  #stale = false;
  /** The connection's status events while running (stopped with the sync). */
  #status: (AsyncIterable<{ type: string }> & { stop?: () => void }) | undefined;
  #writing: Promise<void> | undefined;
  #lastTickAt = 0;

  constructor(options: ResolvedNatsViewSyncOptions) {
    super();
    this.#o = options;
    this.#key = viewKeyOf(options.selfId);
    this.#runKey = runKeyOf(options.selfId);
    this.#itemsKey = itemsKeyOf(this.#key);
    this.#run = { epoch: options.epoch, instance: randomBytes(8).toString('hex') };
    this.#self = { serverId: options.selfId, epoch: options.epoch, version: 0, updatedAt: options.clock.now(), alive: true, ...options.readSelf() };
    this.#view = createView([this.#self]);
  }

  /** The shape the node reads from `RingSync.store`. */
  get store(): { view(): ClusterView; get(id: ServerId): ServerEntry | undefined; readonly self: ServerEntry } {
    return { view: () => this.#view, get: (id) => this.#view.entries[id], self: this.#self };
  }

  /** The current view snapshot. */
  view(): ClusterView {
    return this.#view;
  }

  /**
   * Opens (or creates) the bucket, starts watching it and writes this server's entry. Idempotent.
   *
   * @throws EparaError `PEER_UNAVAILABLE` when JetStream is not available; `ABORTED` when `signal` fires.
   */
  async start({ signal }: { signal?: AbortSignalLike } = {}): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      // JetStream can answer "no responders" for a while where the broker takes clients before its streams are
      // back (a restart recovering its store): the first write is tried again a few times before start fails.
      for (let attempt = 0; ; attempt++) {
        try {
          this.#kv = await this.#openBucket();
          if (signal?.aborted) throw new EparaError('ABORTED', 'aborted while starting NATS view sync');
          // Starting is what makes a run the newest of its server: it claims the run key whoever held it.
          this.#runRevision = await this.#kv.put(this.#runKey, JSON.stringify(this.#run));
          break;
        } catch (err) {
          if (isAbort(err) || attempt >= START_ATTEMPTS - 1 || !jetStreamNotReady(err)) throw err;
          this.#o.logger.debug({ err, attempt }, 'JetStream not ready at start; trying again');
          await new Promise<void>((resolve) => this.#o.timers.setTimeout(resolve, 100 * 2 ** attempt));
          if (signal?.aborted) throw new EparaError('ABORTED', 'aborted while starting NATS view sync');
        }
      }
      this.#runWrittenAt = this.#o.clock.now();
      void this.#watchStatus();
      await this.#rewatch(this.#kv);
      await this.writeNow();
    } catch (err) {
      await this.stop({ leave: false });
      throw isAbort(err) ? err : new EparaError('PEER_UNAVAILABLE', `NATS view sync cannot start: ${(err as Error).message}`, { bucket: this.#o.bucket }, { cause: err });
    }
    this.#schedule();
  }

  /**
   * Stops writing and watching; with `leave` (default) deletes this server's entry so peers see it gone now.
   * The write in flight and the delete are each awaited at most `deadAfterMs`: with the broker hung they would
   * wait out the client's request timeout, and past `deadAfterMs` the peers have found this server dead anyway.
   * With the client disconnected (the broker down) neither is awaited: nothing can land, and waiting only held
   * `close()` for twice `deadAfterMs`.
   */
  async stop({ leave = true }: { leave?: boolean } = {}): Promise<void> {
    const wasRunning = this.#running;
    this.#running = false;
    if (this.#tick) this.#tick.cancel();
    this.#watch?.stop();
    this.#status?.stop?.();
    this.#status = undefined;
    if ((!wasRunning && this.#writing === undefined) || !this.#kv || this.#o.connection.isClosed() || !(await this.#reachable())) return;
    if (this.#writing) await this.#atMost(this.#writing);
    // Only while the entry is still this run's last write: a newer run of this server may own it now.
    if (wasRunning && leave && !this.#replaced && !this.#o.connection.isClosed()) {
      await this.#atMost(this.#kv.delete(this.#key, this.#revision > 0 ? { previousSeq: this.#revision } : {}));
    }
  }

  /**
   * Whether the broker answers a ping within `deadAfterMs`. The client refuses at once while it is disconnected
   * (it would otherwise queue the ping until it reconnects).
   */
  #reachable(): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = this.#o.timers.setTimeout(() => resolve(false), this.#o.deadAfterMs);
      const done = (answered: boolean) => (): void => (timer.cancel(), resolve(answered));
      this.#o.connection.rtt().then(done(true), done(false));
    });
  }

  /** Waits for `work` (its failure ignored) at most `deadAfterMs`; the timer goes as soon as `work` settles. */
  #atMost(work: Promise<unknown>): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#o.timers.setTimeout(resolve, this.#o.deadAfterMs);
      const done = (): void => (timer.cancel(), resolve());
      work.then(done, done);
    });
  }

  /** Writes this server's entry now (also done every period). Resolves once the write landed. */
  writeNow(): Promise<void> {
    this.#writing ??= this.#write().finally(() => (this.#writing = undefined));
    return this.#writing;
  }

  /** Marks a peer dead now (e.g. its link closed); its next write revives it. */
  reportDead(id: ServerId, reason: 'reported' | 'link-closed' = 'reported'): void {
    this.#markDead(id, reason);
  }

  /**
   * How long a bucket request waits for its answer, ms: `deadAfterMs`, at most the client's own 2 s. A request the
   * broker never answers (it died holding it) blocks this server's writes until then — the peers hold it dead by then
   * anyway — and the next period heals sooner.
   */
  get #timeoutMs(): number {
    return Math.min(KV_TIMEOUT_MS, this.#o.deadAfterMs);
  }

  async #openBucket(): Promise<KV> {
    const kvm = new Kvm(this.#o.connection);
    const timeout = this.#timeoutMs;
    const config = { history: 1, ttl: this.#o.ttlMs, replicas: this.#o.replicas, timeout };
    try {
      return await kvm.create(this.#o.bucket, config);
    } catch (err) {
      this.#o.logger.debug({ err }, 'bucket exists with another configuration; opening it as is');
      return kvm.open(this.#o.bucket, { timeout });
    }
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#tick = this.#o.timers.setTimeout(() => {
      this.#expire();
      this.#heal()
        .then(() => this.writeNow())
        .then(
          () => this.#schedule(),
          (err: unknown) => ((this.#stale = true), this.#emitError(err), this.#schedule()),
        );
    }, this.#o.periodMs);
  }

  /**
   * After a failure: opens the bucket again — created anew if the broker came back without its store — and
   * restarts the watch, which replays every entry, so this server sees the others' current writes again.
   */
  async #heal(): Promise<void> {
    if (!this.#stale) return;
    const kv = await this.#openBucket();
    if (!this.#running) return;
    // A broker that came back without its store lost the run key too: claim it again, unless a run already did
    // (a replaced run never does).
    if (!this.#replaced) await this.#claimRun(kv);
    this.#kv = kv;
    this.#revision = 0; // the key's revision is found again by the first write (create, else catch up)
    this.#itemsWritten = undefined; // a broker that lost its store lost the items key too
    await this.#rewatch(kv);
    this.#stale = false;
    this.#o.logger.info({ bucket: this.#o.bucket }, 'NATS view sync reopened its bucket and watch');
  }

  async #rewatch(kv: KV): Promise<void> {
    this.#watch?.stop();
    // One watch over the whole bucket, not one per prefix: the stream's order then holds between a server's items
    // and its entry, so a peer never reads an entry before the items written ahead of it.
    const watch = await kv.watch({ key: '>' });
    if (!this.#running) return watch.stop();
    this.#watch = watch;
    void this.#consume(watch);
  }

  async #write(): Promise<void> {
    const kv = this.#kv;
    if (!kv || this.#replaced) return;
    const started = this.#o.clock.now();
    for (let attempt = 0; ; attempt++) {
      const next: ServerEntry = { ...this.#self, ...this.#o.readSelf(), version: this.#self.version + 1, alive: true, updatedAt: this.#o.clock.now() };
      const { updatedAt: _t, ...wire } = next;
      const bytes = encodeViewEntries([{ ...wire, ageMs: 0 }]);
      try {
        await this.#writeItems(kv, next);
        this.#revision = this.#revision > 0 ? await kv.update(this.#key, bytes, this.#revision, this.#timeoutMs) : await kv.create(this.#key, bytes);
      } catch (err) {
        if (attempt >= 2) throw err;
        // Someone else wrote our key: a previous life of this server (move past it), or a newer run (stop).
        if (!(await this.#stillCurrent(kv))) return this.#retire();
        await this.#catchUp(kv);
        continue;
      }
      this.#self = next;
      this.#apply(next);
      await this.#refreshRun(kv);
      const hops = Object.values(this.#view.entries).filter((e) => e.alive).length;
      this.emit('roundCompleted', { origin: this.#o.selfId, round: next.version, hops, durationMs: this.#o.clock.now() - started });
      return;
    }
  }

  /**
   * Writes this server's items under {@link itemsKeyOf} when they changed (or the epoch did), and a few times per
   * bucket max age (`ttlMs`), which would otherwise drop them for peers that start watching later. Written before
   * the entry, so a peer that reads a new ready instance has read its items already.
   */
  async #writeItems(kv: KV, entry: ServerEntry): Promise<void> {
    if (entry.items === undefined) return;
    const text = JSON.stringify(entry.items);
    const now = this.#o.clock.now();
    const last = this.#itemsWritten;
    if (last !== undefined && last.text === text && last.epoch === entry.epoch && now - last.at < this.#o.ttlMs / 3) return;
    await kv.put(this.#itemsKey, encodeEntryItems({ serverId: this.#o.selfId, epoch: entry.epoch, items: entry.items }));
    this.#itemsWritten = { text, epoch: entry.epoch, at: now };
  }

  /** Whether the run key still names this run (or names none: then this run claims it). */
  async #stillCurrent(kv: KV): Promise<boolean> {
    const holder = await kv.get(this.#runKey);
    if (!holder || holder.operation !== 'PUT') return this.#claimRun(kv);
    const run = parseRun(holder.string());
    if (run?.instance === this.#run.instance) this.#runRevision = holder.revision;
    return run === undefined || run.instance === this.#run.instance;
  }

  /** Claims an absent run key (a broker that lost its store); false when another run claimed it first. */
  async #claimRun(kv: KV): Promise<boolean> {
    try {
      this.#runRevision = await kv.create(this.#runKey, JSON.stringify(this.#run));
      this.#runWrittenAt = this.#o.clock.now();
      return true;
    } catch {
      const holder = await kv.get(this.#runKey);
      return holder?.operation === 'PUT' && parseRun(holder.string())?.instance === this.#run.instance;
    }
  }

  /**
   * Rewrites this run's claim a few times per bucket max age (`ttlMs`), which would otherwise drop it: an old
   * process resuming later would find the key gone, claim it and outbid this run. The rewrite is a
   * compare-and-set on the claim's revision, so it never takes the key from a newer run.
   */
  async #refreshRun(kv: KV): Promise<void> {
    const now = this.#o.clock.now();
    if (now - this.#runWrittenAt < this.#o.ttlMs / 3) return;
    try {
      this.#runRevision = await kv.update(this.#runKey, JSON.stringify(this.#run), this.#runRevision);
      this.#runWrittenAt = now;
    } catch {
      if (!(await this.#stillCurrent(kv))) this.#retire();
    }
  }

  /** A newer run of this server took over: stop writing for good and say so once. */
  #retire(): void {
    this.#replaced = true;
    this.#emitError(
      new EparaError('CLOSED', `a newer run of ${this.#o.selfId} claimed its entry; this run stops writing it`, {
        serverId: this.#o.selfId,
        epoch: this.#run.epoch,
        cause: 'REPLACED_RUN',
      }),
    );
  }

  async #catchUp(kv: KV): Promise<void> {
    const cur = await kv.get(this.#key);
    this.#revision = cur?.revision ?? 0;
    if (!cur || cur.operation !== 'PUT') return;
    const [theirs] = decodeViewEntries(cur.value);
    if (!theirs || theirs.epoch < this.#self.epoch) return;
    this.#self = theirs.epoch > this.#self.epoch ? { ...this.#self, epoch: theirs.epoch + 1, version: 0 } : { ...this.#self, version: Math.max(this.#self.version, theirs.version) };
  }

  /**
   * The client reconnected (the broker restarted, or another server of its cluster took the client): the watch's
   * consumer may be gone with the broker, and the watch would only notice when its idle heartbeats fail to come
   * (5 s), the peers' writes unseen meanwhile. So the next period reopens the bucket and the watch at once.
   */
  async #watchStatus(): Promise<void> {
    const status = this.#o.connection.status() as AsyncIterable<{ type: string }> & { stop?: () => void };
    this.#status = status;
    try {
      for await (const s of status) if (s.type === 'reconnect' && this.#running && this.#status === status) this.#stale = true;
    } catch {
      // The connection closed: the sync's own requests report that.
    }
  }

  async #consume(watch: QueuedIterator<KvWatchEntry>): Promise<void> {
    try {
      for await (const e of watch) this.#onEntry(e);
    } catch (err) {
      if (this.#running && this.#watch === watch) this.#emitError(err);
    }
    // The watch ended without being replaced (stop, or a new watch after a failure): open a new one next period.
    if (this.#running && this.#watch === watch) this.#stale = true;
  }

  #onEntry(e: KvWatchEntry): void {
    if (!this.#running || e.key === this.#key) return;
    if (e.key === this.#itemsKey) return this.#onOwnItems(e);
    if (e.key.startsWith('itm.')) return this.#onItems(e);
    if (!e.key.startsWith('srv.')) return; // a run key
    if (e.operation !== 'PUT') {
      const id = this.#ids.get(e.key);
      if (id !== undefined) this.#markDead(id, 'deleted');
      return;
    }
    let entry: ServerEntry;
    try {
      const [w, ...rest] = decodeViewEntries(e.value);
      if (!w || rest.length > 0 || viewKeyOf(w.serverId) !== e.key) throw new EparaError('PROTOCOL_ERROR', `KV entry ${e.key} does not hold exactly its own server's entry`);
      const { ageMs, ...fields } = w;
      entry = this.#withItems({ ...fields, updatedAt: this.#o.clock.now() - Math.max(0, ageMs) });
    } catch (err) {
      return this.#emitError(err);
    }
    this.#ids.set(e.key, entry.serverId);
    this.#apply(entry);
  }

  /** A peer's items key changed: kept (never for an older epoch than those kept) and attached to its entry. */
  #onItems(e: KvWatchEntry): void {
    const viewKey = `srv.${e.key.slice('itm.'.length)}`;
    if (e.operation !== 'PUT') {
      this.#items.delete(viewKey);
      const id = this.#ids.get(viewKey);
      if (id !== undefined) this.#replaceEntry(id);
      return;
    }
    let value: NatsEntryItems;
    try {
      value = decodeEntryItems(e.value);
      if (viewKeyOf(value.serverId) !== viewKey) throw new EparaError('PROTOCOL_ERROR', `KV items ${e.key} do not hold their own server's items`);
    } catch (err) {
      return this.#emitError(err);
    }
    // A replaced run resumed writes its (older) epoch's items once before it learns it was replaced.
    if ((this.#items.get(viewKey)?.epoch ?? -Infinity) > value.epoch) return;
    this.#items.set(viewKey, value);
    this.#replaceEntry(value.serverId);
  }

  /**
   * This server's items key changed: a write of another run of this id (an old process resumed writes its items once
   * before it finds it was replaced) is written over at the next period, not a third of the bucket's max age later.
   */
  #onOwnItems(e: KvWatchEntry): void {
    if (this.#replaced) return;
    let epoch: number | undefined;
    try {
      epoch = e.operation === 'PUT' ? decodeEntryItems(e.value).epoch : undefined;
    } catch {
      epoch = undefined;
    }
    if (epoch !== this.#self.epoch) this.#itemsWritten = undefined;
  }

  /** The entry with the items its server published for its epoch (none when it published none for it). */
  #withItems(entry: ServerEntry): ServerEntry {
    const { items: _old, ...rest } = entry;
    const kept = this.#items.get(viewKeyOf(entry.serverId));
    return kept !== undefined && kept.epoch === entry.epoch ? { ...rest, items: kept.items } : rest;
  }

  /** Re-attaches a peer's items to its entry in the view (same version: only the items changed). */
  #replaceEntry(id: ServerId): void {
    const cur = this.#view.entries[id];
    if (cur === undefined) return;
    const next = this.#withItems(cur);
    if (JSON.stringify(next.items) === JSON.stringify(cur.items)) return;
    this.#view = { ...this.#view, entries: { ...this.#view.entries, [id]: next } };
    this.emit('viewUpdated');
  }

  #apply(entry: ServerEntry): void {
    const before = this.#view.entries[entry.serverId];
    const next = upsertEntry(this.#view, entry);
    if (next === this.#view) return;
    this.#view = next;
    this.#heard.set(entry.serverId, this.#o.clock.now());
    // This server's own entry (each write): said so, the node leaves what reacts to peers alone.
    if (entry.serverId === this.#o.selfId) this.emit('viewUpdated', OWN);
    else this.emit('viewUpdated');
    if (entry.serverId !== this.#o.selfId && entry.alive && !before?.alive) this.emit('peerJoined', { serverId: entry.serverId, epoch: entry.epoch });
  }

  #expire(): void {
    const now = this.#o.clock.now();
    const late = this.#lastTickAt > 0 && now - this.#lastTickAt > 2 * this.#o.periodMs;
    this.#lastTickAt = now;
    // This server's own event loop stalled: peers' writes may be waiting unread in the socket, so their
    // silence proves nothing yet. Decide at the next tick, once they are processed.
    if (late) return;
    for (const e of Object.values(this.#view.entries)) {
      if (e.serverId === this.#o.selfId) continue;
      const silentMs = now - (this.#heard.get(e.serverId) ?? now);
      if (!e.alive && silentMs > this.#o.ttlMs) this.#forget(e.serverId);
      else if (e.alive && silentMs > this.#o.deadAfterMs) this.#markDead(e.serverId, 'expired');
    }
  }

  /**
   * A server dead and silent for the bucket's max age is gone from the bucket too: the view drops it, so many
   * short-lived servers do not pile up in it (and in `#heard`) for ever. A write of its own brings it back.
   */
  #forget(id: ServerId): void {
    const { [id]: _gone, ...entries } = this.#view.entries;
    this.#view = { ...this.#view, entries };
    this.#heard.delete(id);
    for (const [key, of] of this.#ids) if (of === id) this.#ids.delete(key);
    this.#items.delete(viewKeyOf(id));
    this.emit('viewUpdated');
  }

  #markDead(id: ServerId, reason: 'expired' | 'deleted' | 'reported' | 'link-closed'): void {
    if (id === this.#o.selfId) return;
    const next = markDead(this.#view, id);
    if (next === this.#view) return;
    this.#view = next;
    this.emit('viewUpdated');
    this.emit('peerLeft', { serverId: id, reason });
  }

  #emitError(err: unknown): void {
    const error = toEparaError(err, 'PEER_UNAVAILABLE');
    this.#o.logger.warn({ err: error }, 'NATS view sync error');
    this.#o.onError(error);
  }
}

/** A run key's value, or `undefined` when it is not one (written by something else: then it proves nothing). */
function parseRun(text: string): { epoch: number; instance: string } | undefined {
  try {
    const v = JSON.parse(text) as { epoch?: unknown; instance?: unknown };
    return typeof v.epoch === 'number' && typeof v.instance === 'string' ? { epoch: v.epoch, instance: v.instance } : undefined;
  } catch {
    return undefined;
  }
}

const isAbort = (err: unknown): boolean => isEparaError(err) && err.code === 'ABORTED';

/**
 * Creates a {@link NatsViewSync}. Constructing does no I/O; call `start()`.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field and value.
 * @example
 * ```ts
 * const nc = await connectNats({ servers: 'nats://127.0.0.1:4222' });
 * const sync = createNatsViewSync({ connection: nc, selfId: 'edge-1', readSelf: () => ({ instances: [], load: 0, freeMemoryBytes: 0, arrivalRates: {} }) });
 * sync.on('peerLeft', ({ serverId }) => console.log('lost', serverId));
 * await sync.start();
 * sync.view(); // every server's entry
 * ```
 */
export function createNatsViewSync(options: NatsViewSyncOptions): NatsViewSync {
  return new NatsViewSync(resolveNatsViewSyncOptions(options));
}

/** How many times {@link NatsViewSync.start} tries its first write while JetStream is not ready (100, 200, 400, 800 ms apart). */
const START_ATTEMPTS = 5;

/** JetStream's "not enabled" / "no responders" answer: no stream listens on the subject (yet). */
function jetStreamNotReady(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e.name === 'JetStreamNotEnabled' || e.name === 'NoRespondersError' || /no responders|jetstream is not enabled/i.test(e.message)) return true;
  }
  return false;
}
