import type { ServerId } from '@epara/core';
import type { FaultInjector } from './sync-faults.js';
import type { EntryStub, SyncToken, WireEntry } from './sync-types.js';
import type { ViewStore } from './view-store.js';

/**
 * Merges a token into the store. Returns whether the view changed and whether this server misses content
 * (a stub newer than what it holds, or a sender it does not know) and wants the next round in full.
 */
export function mergeToken(store: ViewStore, token: SyncToken, from: ServerId, now: number, faults: FaultInjector): { changed: boolean; missing: boolean } {
  let missing = token.wantFull;
  let changed = false;
  for (const e of token.entries) {
    const out = store.applyEntry(e.serverId === store.selfId ? e : faults.perturb(e), now);
    changed ||= out === 'updated';
  }
  for (const s of token.stubs) missing = store.applyStub(s, now) === 'missing' || missing;
  if (from !== store.selfId && !store.get(from)) missing = true;
  return { changed, missing };
}

/** The token as this server forwards it: recent deltas (changed within `deltaMs`) in full, the rest as stubs. */
export function stampToken(store: ViewStore, token: SyncToken, now: number, wantFull: boolean, deltaMs: number): SyncToken {
  const entries: WireEntry[] = [];
  const stubs: EntryStub[] = [];
  const since = now - deltaMs;
  for (const id of store.ids()) {
    if (token.full || store.changedSince(id, since)) entries.push(store.toWire(id, now)!);
    else stubs.push(store.toStub(id, now)!);
  }
  return { ...token, wantFull, entries, stubs };
}

/** The next alive server after this one in id order, not counting `skip` (undefined when alone). */
export function ringSuccessor(store: ViewStore, skip: ReadonlySet<ServerId>): ServerId | undefined {
  const ring = store.aliveRing();
  const alive = skip.size === 0 ? ring : ring.filter((id) => id === store.selfId || !skip.has(id));
  if (alive.length <= 1) return undefined;
  return alive[(alive.indexOf(store.selfId) + 1) % alive.length];
}

/** Dead-marked servers strictly between this one and `next` in id order (all of them when `next` is undefined). */
export function deadBefore(store: ViewStore, next: ServerId | undefined): ServerId[] {
  const ids = store.sortedIds();
  const self = ids.indexOf(store.selfId);
  const dead: ServerId[] = [];
  for (let i = 1; i < ids.length; i++) {
    const id = ids[(self + i) % ids.length]!;
    if (id === next) break;
    if (store.get(id)?.alive === false) dead.push(id);
  }
  return dead;
}
