import type { ServerId } from '../model/device.js';
import type { ClusterView, ServerEntry } from './server-entry.js';
import { compareEntries } from './merge-view.js';

/** What a peer knows of one server's entry: enough to decide whether an entry is news to it. */
export interface EntryStamp {
  readonly epoch: number;
  readonly version: number;
  readonly alive: boolean;
}

/** What a peer knows of the whole view, by server. */
export type VersionVector = Readonly<Record<ServerId, EntryStamp>>;

/** The stamp of an entry. */
export function stampOf(entry: ServerEntry): EntryStamp {
  return { epoch: entry.epoch, version: entry.version, alive: entry.alive };
}

/** The stamps of every entry of a view: send it to a peer so it can answer with {@link viewDelta}. */
export function versionVector(view: ClusterView): VersionVector {
  const out: Record<ServerId, EntryStamp> = {};
  for (const [id, e] of Object.entries(view.entries)) out[id] = stampOf(e);
  return out;
}

/**
 * The entries of `view` that are news to a peer that knows `known`: unknown servers, and entries with a
 * higher `(epoch, version)` or a dead mark on the same version. Merging the result into the peer's view
 * (with {@link mergeView} or {@link applyDelta}) makes its entries at least as new as ours. Relies on the
 * view's invariant that only a server writes its own entry, so one stamp means one content.
 */
export function viewDelta(view: ClusterView, known: VersionVector): ServerEntry[] {
  const out: ServerEntry[] = [];
  for (const [id, e] of Object.entries(view.entries)) {
    const k = known[id];
    if (k === undefined || newerThan(e, k)) out.push(e);
  }
  return out;
}

/** Merges received entries into a view (each entry wins or loses as in {@link mergeView}). */
export function applyDelta(view: ClusterView, entries: readonly ServerEntry[]): ClusterView {
  let out: Record<ServerId, ServerEntry> | undefined;
  for (const e of entries) {
    const mine = out?.[e.serverId] ?? view.entries[e.serverId];
    if (mine !== undefined && compareEntries(mine, e) >= 0) continue;
    out ??= { ...view.entries };
    out[e.serverId] = e;
  }
  return out === undefined ? view : { entries: out };
}

function newerThan(e: ServerEntry, k: EntryStamp): boolean {
  if (e.epoch !== k.epoch) return e.epoch > k.epoch;
  if (e.version !== k.version) return e.version > k.version;
  return !e.alive && k.alive;
}
