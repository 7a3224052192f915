import { invalidOption } from '../errors/epara-error.js';
import type { ServerId } from '../model/device.js';
import type { ClusterView, ServerEntry } from '../view/server-entry.js';

/** The hop count and visited list to send with a forwarded request or stream. */
export interface NextHop {
  readonly hops: number;
  readonly visited: readonly ServerId[];
}

/** `hops + 1` and `visited ∪ {self}`. */
export function nextHop(hops: number, visited: readonly ServerId[], self: ServerId): NextHop {
  return { hops: hops + 1, visited: visited.includes(self) ? visited : [...visited, self] };
}

/** Validates the view, this server's id and the time. @throws EparaError `INVALID_OPTIONS`. */
export function assertRoutingContext(view: ClusterView, self: ServerId, now: number): void {
  if (typeof view !== 'object' || view === null || typeof view.entries !== 'object' || view.entries === null) {
    invalidOption('view', view, 'a ClusterView { entries }');
  }
  if (typeof self !== 'string' || self === '') invalidOption('self', self, 'a non-empty server id');
  if (typeof now !== 'number' || !Number.isFinite(now)) invalidOption('now', now, 'a finite number (ms)');
}

const entryLists = new WeakMap<object, readonly ServerEntry[]>();

/**
 * The view's entries as an array, cached per entries object: views are immutable values (a changed view is a
 * new object, as `mergeView` and its friends return), and thousands of decisions read one view.
 */
export function entriesOf(view: ClusterView): readonly ServerEntry[] {
  let list = entryLists.get(view.entries);
  if (list === undefined) {
    const built: ServerEntry[] = [];
    for (const id in view.entries) built.push(view.entries[id]!);
    entryLists.set(view.entries, built);
    list = built;
  }
  return list;
}
