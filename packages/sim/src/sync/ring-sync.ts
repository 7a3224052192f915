import { type ClusterView, type ServerEntry } from '@epara/core';
import { compareEntries, markDead, mergeEntry } from '@epara/core/internal';
import type { SyncOptions } from '../systems/epara-options.js';
import type { World } from '../world/world.js';
import { createViewTables, type ViewTables } from './view-tables.js';

/** Event kinds of the ring (within the system range). */
export const EV_SYNC_TICK = 50;
export const EV_SYNC_HOP = 51;

interface Token {
  /** The ring's own table, one slot per zone member (ring order). */
  readonly table: (ServerEntry | undefined)[];
  /** Services hosted per slot (bit masks, kept beside the table so merges copy numbers, not scans). */
  readonly masks: number[];
  readonly starter: number;
  readonly zone: number;
  /** Set when the next hop returns the token to its starter (the round's last message). */
  done: boolean;
}

/** Options of {@link createRingSync}. */
export interface RingSyncOptions {
  readonly zones: readonly (readonly number[])[];
  readonly options: SyncOptions;
  /** Service ids, in the simulator's service order (for per-service slices). */
  readonly serviceIds: readonly string[];
  /** This server's fresh entry (the ring overwrites it at every pass). */
  readonly entryOf: (server: number) => ServerEntry;
  /** A server found its successor dead (ring bypass). */
  readonly onDeadDetected: (server: number) => void;
  /** A zone's token came back to the server that started its round (what it carried has reached that server). */
  readonly onRoundDone?: (zone: number) => void;
}

/** The per-server synchronized views and the ring that keeps them fresh. */
export interface RingSync {
  /** The full view `server` holds (an immutable snapshot, rebuilt only after it changed). */
  view(server: number): ClusterView;
  /** The entries of `server`'s view that host an instance of service `service` (what routing reads). */
  slice(server: number, service: number): ClusterView;
  start(world: World): void;
  /** Handles `EV_SYNC_TICK` / `EV_SYNC_HOP`; returns false for other kinds. */
  onEvent(world: World, kind: number, a: number, ref: unknown): boolean;
  stats(): { rounds: number; messages: number; lost: number; bytes: number };
}

/**
 * Ring synchronization over the simulated network: every period a token starts at the first
 * alive server of each zone and travels the ring in id order; each server overwrites its own entry (core
 * `mergeEntry`), merges the token into its view — per server the entry that wins under core `compareEntries`,
 * exactly what core `mergeView` computes, kept as a table so a visit copies nothing — and forwards it.
 * Messages take the network's delay plus the token's size over the link, may be lost (resent after the
 * acknowledgement timeout) or delayed; a dead successor is bypassed and marked dead (core `markDead`).
 */
export function createRingSync(o: RingSyncOptions): RingSync {
  const tables: ViewTables = createViewTables(o.zones, o.serviceIds);
  let rounds = 0;
  let messages = 0;
  let lost = 0;
  let bytes = 0;

  function writeOwn(server: number, token: Token): void {
    const entry = o.entryOf(server);
    const i = tables.position(server);
    const prev = token.table[i];
    const next = prev === undefined ? entry : mergeEntry(prev, entry);
    if (next !== prev) {
      token.table[i] = next;
      token.masks[i] = tables.hostMask(next);
    }
  }

  /** `server` merges the token into its view. */
  function mergeInto(server: number, token: Token): void {
    const mine = tables.table(server);
    const masks = tables.masks(server);
    const t = token.table;
    let changed = false;
    for (let i = 0; i < t.length; i++) {
      const e = t[i];
      if (e === undefined) continue;
      const m = mine[i];
      if (m !== undefined && (m === e || compareEntries(m, e) >= 0)) continue;
      mine[i] = e;
      masks[i] = token.masks[i]!;
      changed = true;
    }
    if (changed) tables.changed(server);
  }

  function visit(world: World, server: number, token: Token): void {
    writeOwn(server, token);
    mergeInto(server, token);
    send(world, server, token);
  }

  function markDeadIn(world: World, token: Token, server: number): void {
    const i = tables.position(server);
    const e = token.table[i];
    if (e === undefined) return;
    const id = world.servers[server]!.spec.id;
    token.table[i] = markDead({ entries: { [id]: e } }, id).entries[id];
  }

  function send(world: World, from: number, token: Token): void {
    const ring = o.zones[token.zone]!;
    let delay = o.options.extraDelayMs;
    let i = tables.position(from);
    let present = 0;
    for (const e of token.table) if (e !== undefined) present++;
    const size = present * o.options.entryBytes;
    for (let step = 0; step < ring.length; step++) {
      i = (i + 1) % ring.length;
      const next = ring[i]!;
      if (next === token.starter) {
        token.done = true;
        if (next === from) return o.onRoundDone?.(token.zone);
      }
      if (!world.serverAlive[next]) {
        // No acknowledgement: bypass the successor and mark it dead in the table.
        delay += o.options.ackTimeoutMs;
        markDeadIn(world, token, next);
        o.onDeadDetected(next);
        if (next === token.starter) return;
        continue;
      }
      // Each attempt may be lost; a missing acknowledgement makes the sender resend after the ack timeout,
      // up to `maxRetries` times, before it bypasses the successor as dead.
      let delivered = false;
      for (let attempt = 0; attempt <= o.options.maxRetries; attempt++) {
        messages++;
        bytes += size;
        if (world.systemRandom.next() >= o.options.lossProbability) {
          delivered = true;
          break;
        }
        lost++;
        delay += o.options.ackTimeoutMs;
      }
      if (!delivered) {
        markDeadIn(world, token, next);
        if (next === token.starter) return;
        continue;
      }
      world.schedule(world.clock.now() + delay + world.network.transferMs(from, next, size), EV_SYNC_HOP, next, token);
      return;
    }
  }

  return {
    view: (s) => tables.view(s),
    slice: (s, k) => tables.slice(s, k),
    start(world) {
      o.zones.forEach((_, z) => world.schedule(world.clock.now(), EV_SYNC_TICK, z));
    },
    onEvent(world, kind, a, ref) {
      if (kind === EV_SYNC_TICK) {
        const ring = o.zones[a]!;
        const starter = ring.find((s) => world.serverAlive[s]);
        if (starter !== undefined) {
          rounds++;
          const token: Token = { table: tables.table(starter).slice(), masks: tables.masks(starter).slice(), starter, zone: a, done: false };
          visit(world, starter, token);
        }
        world.schedule(world.clock.now() + o.options.periodMs, EV_SYNC_TICK, a);
        return true;
      }
      if (kind === EV_SYNC_HOP) {
        const token = ref as Token;
        if (!world.serverAlive[a]) return true;
        if (a === token.starter && token.done) {
          writeOwn(a, token);
          mergeInto(a, token);
          o.onRoundDone?.(token.zone);
          return true;
        }
        visit(world, a, token);
        return true;
      }
      return false;
    },
    stats: () => ({ rounds, messages, lost, bytes }),
  };
}
