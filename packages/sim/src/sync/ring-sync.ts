import { createView, markDead, mergeEntry, mergeView, type ClusterView, type ServerEntry } from '@epara/core';
import type { SyncOptions } from '../systems/epara-options.js';
import type { World } from '../world/world.js';

/** Event kinds of the ring (within the system range). */
export const EV_SYNC_TICK = 50;
export const EV_SYNC_HOP = 51;

interface Token {
  view: ClusterView;
  readonly starter: number;
  readonly zone: number;
  /** Set when the next hop returns the token to its starter (the round's last message). */
  done: boolean;
}

/** Options of {@link createRingSync}. */
export interface RingSyncOptions {
  readonly zones: readonly (readonly number[])[];
  readonly options: SyncOptions;
  /** This server's fresh entry (the ring overwrites it at every pass). */
  readonly entryOf: (server: number) => ServerEntry;
  /** A server found its successor dead (ring bypass). */
  readonly onDeadDetected: (server: number) => void;
}

/** The per-server synchronized views and the ring that keeps them fresh. */
export interface RingSync {
  /** The view `server` routes with (merged with core `mergeView`). */
  view(server: number): ClusterView;
  start(world: World): void;
  /** Handles `EV_SYNC_TICK` / `EV_SYNC_HOP`; returns false for other kinds. */
  onEvent(world: World, kind: number, a: number, ref: unknown): boolean;
  stats(): { rounds: number; messages: number; lost: number; bytes: number };
}

/**
 * Ring synchronization over the simulated network (DESIGN.md §2): every period a token starts at the first
 * alive server of each zone and travels the ring in id order; each server overwrites its own entry, merges the
 * token into its view (core `mergeView`: higher epoch/version wins) and forwards it. Messages take the
 * network's delay plus the token's size over the link, may be lost (the round ends there) or delayed; a dead
 * successor is bypassed after an acknowledgement timeout and marked dead in the token.
 */
export function createRingSync(o: RingSyncOptions): RingSync {
  const views = new Map<number, ClusterView>();
  const zoneOf = new Map<number, number>();
  o.zones.forEach((z, i) => z.forEach((s) => zoneOf.set(s, i)));
  let rounds = 0;
  let messages = 0;
  let lost = 0;
  let bytes = 0;

  const viewOf = (s: number): ClusterView => views.get(s) ?? createView();

  /** The server overwrites its own entry in the token (core `mergeEntry`: the token is the ring's own copy). */
  function writeOwn(server: number, token: Token): void {
    const entry = o.entryOf(server);
    const entries = token.view.entries as Record<string, ServerEntry>;
    const prev = entries[entry.serverId];
    entries[entry.serverId] = prev === undefined ? entry : mergeEntry(prev, entry);
  }

  function visit(world: World, server: number, token: Token): void {
    writeOwn(server, token);
    // The server's view is an immutable snapshot: merged (and copied) by core mergeView.
    views.set(server, mergeView(viewOf(server), token.view));
    send(world, server, token);
  }

  function send(world: World, from: number, token: Token): void {
    const ring = o.zones[token.zone]!;
    let delay = o.options.extraDelayMs;
    let i = ring.indexOf(from);
    for (let step = 0; step < ring.length; step++) {
      i = (i + 1) % ring.length;
      const next = ring[i]!;
      if (next === token.starter) {
        token.done = true;
        if (next === from) return;
      }
      if (!world.serverAlive[next]) {
        // No acknowledgement: bypass the successor and mark it dead in the table.
        delay += o.options.ackTimeoutMs;
        token.view = { entries: { ...markDead(token.view, world.servers[next]!.spec.id).entries } };
        o.onDeadDetected(next);
        if (next === token.starter) return;
        continue;
      }
      const size = Object.keys(token.view.entries).length * o.options.entryBytes;
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
        token.view = { entries: { ...markDead(token.view, world.servers[next]!.spec.id).entries } };
        if (next === token.starter) return;
        continue;
      }
      world.schedule(world.clock.now() + delay + world.network.transferMs(from, next, size), EV_SYNC_HOP, next, token);
      return;
    }
  }

  return {
    view: viewOf,
    start(world) {
      o.zones.forEach((_, z) => world.schedule(world.clock.now(), EV_SYNC_TICK, z));
    },
    onEvent(world, kind, a, ref) {
      if (kind === EV_SYNC_TICK) {
        const ring = o.zones[a]!;
        const starter = ring.find((s) => world.serverAlive[s]);
        if (starter !== undefined) {
          rounds++;
          const token: Token = { view: { entries: { ...viewOf(starter).entries } }, starter, zone: a, done: false };
          visit(world, starter, token);
        }
        world.schedule(world.clock.now() + o.options.periodMs, EV_SYNC_TICK, a);
        return true;
      }
      if (kind === EV_SYNC_HOP) {
        const token = ref as Token;
        if (!world.serverAlive[a]) return true;
        if (a === token.starter && token.done === true) {
          writeOwn(a, token);
          views.set(a, mergeView(viewOf(a), token.view));
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
