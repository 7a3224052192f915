import type { ClusterView } from '@epara/core';
import type { NodeEvents } from '@epara/mesh';
import type { PlacementRow } from './snapshot-types.js';

/** A decision seen this recently explains the instance changes the view shows next, ms. */
const EXPLAINS_FOR_MS = 30_000;

/**
 * The recent placement changes this node knows of, newest first: decisions it computed as leader, its own
 * part it applied (both carry the trigger), and instances appearing or disappearing elsewhere in the view —
 * explained by the last decision seen, by a failure when the server died, or `unknown`.
 */
export class PlacementLog {
  readonly #max: number;
  readonly #rows: PlacementRow[] = [];
  #known = new Map<string, Set<string>>();
  #lastDecision: { at: number; trigger: string } | undefined;

  constructor(max: number) {
    this.#max = max;
  }

  get rows(): readonly PlacementRow[] {
    return this.#rows;
  }

  computed(at: number, self: string, e: NodeEvents['placementComputed'][0]): void {
    this.#lastDecision = { at, trigger: e.trigger };
    const services = new Map<string, number>();
    for (const i of e.instances) services.set(i.serviceId, (services.get(i.serviceId) ?? 0) + 1);
    const summary = [...services].map(([s, n]) => `${s}×${n}`).join(', ') || 'nothing';
    this.#push({ at, kind: 'computed', server: self, reason: e.trigger, text: `decision #${e.seq}: ${e.changes} change(s), ${summary}, predicted goodput ${Math.round(e.goodputPerSec)}/s` });
  }

  applied(at: number, self: string, e: NodeEvents['placementApplied'][0]): void {
    this.#lastDecision = { at, trigger: e.trigger };
    const parts = [
      e.loaded.length > 0 ? `loaded ${e.loaded.join(', ')}` : '',
      e.unloaded.length > 0 ? `drained ${e.unloaded.join(', ')}` : '',
      e.failed.length > 0 ? `failed ${e.failed.map((f) => `${f.instanceId} (${f.code})`).join(', ')}` : '',
    ].filter((p) => p !== '');
    this.#push({ at, kind: 'applied', server: self, reason: e.trigger, text: `applied #${e.seq} from ${e.leader}: ${parts.join('; ')}` });
  }

  /** Compares the view's instances with the previous call's and logs what appeared or went away. */
  observe(at: number, view: ClusterView): void {
    const next = new Map<string, Set<string>>();
    for (const e of Object.values(view.entries)) {
      next.set(e.serverId, new Set(e.alive ? e.instances.map((i) => `${i.serviceId} ${i.instanceId}`) : []));
    }
    const first = this.#known.size === 0;
    for (const [server, now] of next) {
      const before = this.#known.get(server) ?? new Set<string>();
      const added = [...now].filter((x) => !before.has(x));
      const removed = [...before].filter((x) => !now.has(x));
      if (first || (added.length === 0 && removed.length === 0)) continue;
      const dead = view.entries[server]?.alive === false;
      const recent = this.#lastDecision && at - this.#lastDecision.at <= EXPLAINS_FOR_MS ? this.#lastDecision.trigger : 'unknown';
      const text = [added.length > 0 ? `+ ${added.map(label).join(', ')}` : '', removed.length > 0 ? `− ${removed.map(label).join(', ')}` : ''].filter((p) => p !== '').join('  ');
      this.#push({ at, kind: 'observed', server, reason: dead ? 'failure' : recent, text: `${server}: ${text}` });
    }
    this.#known = next;
  }

  #push(row: PlacementRow): void {
    this.#rows.unshift(row);
    if (this.#rows.length > this.#max) this.#rows.length = this.#max;
  }
}

const label = (key: string): string => {
  const [service, instance] = key.split(' ');
  return `${service} (${instance})`;
};
