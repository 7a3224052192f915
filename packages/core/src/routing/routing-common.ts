import { invalidOption } from '../errors/epara-error.js';
import type { ServerId } from '../model/device.js';
import type { ClusterView } from '../view/server-entry.js';
import { isListView } from '../view/entry-list.js';

export { entriesOf } from '../view/entry-list.js';

/** The hop count and visited list to send with a forwarded request or stream. */
export interface NextHop {
  readonly hops: number;
  readonly visited: readonly ServerId[];
}

/** `hops + 1` and `visited ∪ {self}`. */
export function nextHop(hops: number, visited: readonly ServerId[], self: ServerId): NextHop {
  if (visited.includes(self)) return { hops: hops + 1, visited };
  // Copied at its final size: `[...visited, self]` built the copy and then grew it by 16 slots for `self`.
  const n = visited.length;
  const next = new Array<ServerId>(n + 1);
  for (let i = 0; i < n; i++) next[i] = visited[i]!;
  next[n] = self;
  return { hops: hops + 1, visited: next };
}

/** Validates the view, this server's id and the time. @throws EparaError `INVALID_OPTIONS`. */
export function assertRoutingContext(view: ClusterView, self: ServerId, now: number): void {
  if (typeof view !== 'object' || view === null || (!isListView(view) && (typeof view.entries !== 'object' || view.entries === null))) {
    invalidOption('view', view, 'a ClusterView { entries }');
  }
  if (typeof self !== 'string' || self === '') invalidOption('self', self, 'a non-empty server id');
  if (typeof now !== 'number' || !Number.isFinite(now)) invalidOption('now', now, 'a finite number (ms)');
}
