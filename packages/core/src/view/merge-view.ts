import { invalidOption } from '../errors/epara-error.js';
import type { ServerId } from '../model/device.js';
import type { ClusterView, ServerEntry } from './server-entry.js';
import { rememberEntryList } from './entry-list.js';

/**
 * Orders two entries of one server: positive when `a` supersedes `b`, negative when `b` does, 0 when they are
 * the same. Higher `(epoch, version)` wins (docs/concepts.md). At equal `(epoch, version)` a dead mark wins (a
 * peer's failure detector marks a server dead without inventing a version; the server's next own write, or a
 * new epoch after a restart, supersedes the mark), then the later `updatedAt`, then a canonical comparison of
 * the content, so that the merge is a total order: commutative, associative and idempotent.
 */
export function compareEntries(a: ServerEntry, b: ServerEntry): number {
  if (a === b) return 0;
  if (a.epoch !== b.epoch) return a.epoch - b.epoch;
  if (a.version !== b.version) return a.version - b.version;
  if (a.alive !== b.alive) return a.alive ? -1 : 1;
  if (a.updatedAt !== b.updatedAt) return a.updatedAt - b.updatedAt;
  const ka = canonical(a);
  const kb = canonical(b);
  return ka === kb ? 0 : ka > kb ? 1 : -1;
}

/** The entry that wins under `compareEntries` (`a` when they are equal). */
export function mergeEntry(a: ServerEntry, b: ServerEntry): ServerEntry {
  return compareEntries(a, b) >= 0 ? a : b;
}

/**
 * Merges two views: per server the winning entry under `compareEntries`. Pure; returns `a` itself when
 * `b` adds nothing.
 *
 * @example
 * ```ts
 * const merged = mergeView(local, received);
 * ```
 */
export function mergeView(a: ClusterView, b: ClusterView): ClusterView {
  let out: Record<ServerId, ServerEntry> | undefined;
  for (const [id, entry] of Object.entries(b.entries)) {
    const mine = a.entries[id];
    if (mine !== undefined && compareEntries(mine, entry) >= 0) continue;
    out ??= { ...a.entries };
    out[id] = entry;
  }
  return out === undefined ? a : { entries: out };
}

/**
 * Builds a view from entries (several entries of one server merge under `compareEntries`).
 *
 * @throws EparaError `INVALID_OPTIONS` for an entry without a string `serverId` or with a non-integer epoch/version.
 */
export function createView(entries: readonly ServerEntry[] = []): ClusterView {
  if (!Array.isArray(entries)) invalidOption('entries', entries, 'an array of ServerEntry');
  const out: Record<ServerId, ServerEntry> = {};
  // When every id is new and none is integer-like (those enumerate first) or `__proto__`, the entries' own
  // order is the object's enumeration order: routing then reads that array instead of walking the object.
  let plain = true;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e === undefined && !(i in entries)) {
      plain = false; // a hole (forEach semantics: skipped)
      continue;
    }
    assertEntry(e, 'entries', i);
    const id = e.serverId;
    const prev = out[id];
    if (prev === undefined) {
      out[id] = e;
      const c = id.charCodeAt(0);
      if ((c >= 48 && c <= 57) || id === '__proto__') plain = false;
    } else {
      out[id] = mergeEntry(prev, e);
      plain = false;
    }
  }
  if (plain) rememberEntryList(out, entries.slice());
  return { entries: out };
}

/** Adds or replaces one entry if it wins over the current one (the ring's overwrite of its own entry). */
export function upsertEntry(view: ClusterView, entry: ServerEntry): ClusterView {
  assertEntry(entry, 'entry');
  return mergeView(view, { entries: { [entry.serverId]: entry } });
}

/** How old an entry is at `now` (same clock as its `updatedAt`), ms; never negative. */
export function entryAge(entry: ServerEntry, now: number): number {
  return Math.max(0, now - entry.updatedAt);
}

/**
 * Marks a server dead (the failure detector's verdict). Keeps its `(epoch, version)`, so the mark wins over
 * the same entry still alive, and loses to the server's own next write or to a new epoch. Returns the view
 * unchanged when the server is unknown or already dead.
 */
export function markDead(view: ClusterView, serverId: ServerId): ClusterView {
  const entry = view.entries[serverId];
  if (entry === undefined || !entry.alive) return view;
  return { entries: { ...view.entries, [serverId]: { ...entry, alive: false } } };
}

/** Validates one entry; `index` (when given) names it as `field[index]` in the error (built only on failure). */
function assertEntry(e: ServerEntry, field: string, index?: number): void {
  if (typeof e !== 'object' || e === null) invalidOption(name(field, index), e, 'a ServerEntry');
  if (typeof e.serverId !== 'string' || e.serverId === '') invalidOption(`${name(field, index)}.serverId`, e.serverId, 'a non-empty string');
  if (!Number.isInteger(e.epoch) || e.epoch < 0) invalidOption(`${name(field, index)}.epoch`, e.epoch, 'an integer >= 0');
  if (!Number.isInteger(e.version) || e.version < 0) invalidOption(`${name(field, index)}.version`, e.version, 'an integer >= 0');
}

function name(field: string, index: number | undefined): string {
  return index === undefined ? field : `${field}[${index}]`;
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}
