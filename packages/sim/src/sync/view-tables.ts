import { type ClusterView, type ServerEntry } from '@epara/core';
import { listView } from '@epara/core/internal';

/** Each server's synchronized view as a table (one slot per zone member), with cached snapshots. */
export interface ViewTables {
  /** Position of `server` in its zone's ring. */
  position(server: number): number;
  /** The mutable table of `server` (call {@link changed} after writing it). */
  table(server: number): (ServerEntry | undefined)[];
  /** Per slot of {@link table}, the services its entry hosts as a bit mask (see {@link hostMask}). */
  masks(server: number): number[];
  /** The services an entry hosts (any status) as a bit mask: bit `k` for service `k < 31`, all bits above. */
  hostMask(entry: ServerEntry): number;
  /** Invalidates the snapshots of `server` after its table changed. */
  changed(server: number): void;
  /** An immutable `ClusterView` of the whole table, rebuilt only after a change. */
  view(server: number): ClusterView;
  /** An immutable `ClusterView` of the entries hosting an instance of service `k` (any status). */
  slice(server: number, k: number): ClusterView;
}

const EMPTY: ClusterView = { entries: {} };
/** Scratch of a slice being built (cleared after each copy, so it keeps no entry alive). */
const SCRATCH: (ServerEntry | undefined)[] = [];
/** The table positions of {@link SCRATCH}'s entries. */
const SLOT_SCRATCH: number[] = [];

/**
 * Creates the per-server tables of a set of zones. Core routing only reads the entries of a view that host the
 * routed service, so a per-service slice decides exactly as the full view does; slices are new objects after
 * every change (core caches per view object), built on first use and reused until the next change.
 */
export function createViewTables(zones: readonly (readonly number[])[], serviceIds: readonly string[]): ViewTables {
  const positions: number[] = [];
  const tables: (ServerEntry | undefined)[][] = [];
  const masks: number[][] = [];
  for (const zone of zones) {
    zone.forEach((s, i) => {
      positions[s] = i;
      tables[s] = new Array<ServerEntry | undefined>(zone.length).fill(undefined);
      masks[s] = new Array<number>(zone.length).fill(0);
    });
  }
  const index = new Map(serviceIds.map((id, k) => [id, k]));
  const versions = new Int32Array(tables.length);
  const views = new Map<number, { version: number; view: ClusterView }>();
  // Slice cache, flat per (server, service): the view and the table version it was built at (−1: none).
  const k = serviceIds.length;
  const sliceViews: (ClusterView | undefined)[] = new Array<ClusterView | undefined>(tables.length * k).fill(undefined);
  const sliceVersions = new Int32Array(tables.length * k).fill(-1);
  // The slots of each (server, service)'s last slice, shared by the next slice when its entries sit at the same
  // table positions (they move only when placement moves the service, while every ring pass rebuilds the slice).
  const sliceSlots: (readonly number[] | undefined)[] = new Array<readonly number[] | undefined>(tables.length * k).fill(undefined);

  /** {@link SLOT_SCRATCH}'s first `n` slots, as the last slice at `at` held them if they are the same. */
  function slotsFor(at: number, n: number): readonly number[] {
    const last = sliceSlots[at];
    if (last !== undefined && last.length === n) {
      let same = true;
      for (let i = 0; i < n && same; i++) same = last[i] === SLOT_SCRATCH[i];
      if (same) return last;
    }
    const slots = SLOT_SCRATCH.slice(0, n);
    sliceSlots[at] = slots;
    return slots;
  }

  function hostMask(e: ServerEntry): number {
    let mask = 0;
    for (const inst of e.instances) {
      const k = index.get(inst.serviceId);
      if (k !== undefined) mask |= k < 31 ? 1 << k : ~0x7fffffff;
    }
    return mask;
  }

  return {
    position: (s) => positions[s]!,
    table: (s) => tables[s]!,
    masks: (s) => masks[s]!,
    hostMask,
    changed(s) {
      versions[s]!++;
    },
    view(s) {
      const cached = views.get(s);
      if (cached !== undefined && cached.version === versions[s]) return cached.view;
      const entries: Record<string, ServerEntry> = {};
      for (const e of tables[s] ?? []) if (e !== undefined) entries[e.serverId] = e;
      const view = { entries };
      views.set(s, { version: versions[s]!, view });
      return view;
    },
    slice(s, service) {
      const table = tables[s];
      if (table === undefined) return EMPTY;
      const at = s * k + service;
      if (sliceVersions[at] === versions[s]) return sliceViews[at]!;
      const m = masks[s]!;
      const bit = service < 31 ? 1 << service : ~0x7fffffff;
      let n = 0;
      for (let i = 0; i < table.length; i++) {
        const e = table[i];
        if (e === undefined || (m[i]! & bit) === 0) continue;
        if (service >= 31 && !e.instances.some((x) => x.serviceId === serviceIds[service])) continue;
        SLOT_SCRATCH[n] = i;
        SCRATCH[n++] = e;
      }
      // An exact-size copy of the scratch (pushing into a new array grew a 17-slot store for a few entries).
      const list = SCRATCH.slice(0, n);
      SCRATCH.fill(undefined, 0, n);
      // core listView hands routing this list as the view's entry array; its record is built only if read. Each
      // entry's slot is its table position, its server's place in the zone: the slot of the routing server's
      // network model (ServerStateBook.network), read by index instead of by server id.
      const view = listView(list as ServerEntry[], slotsFor(at, n));
      sliceViews[at] = view;
      sliceVersions[at] = versions[s]!;
      return view;
    },
  };
}
