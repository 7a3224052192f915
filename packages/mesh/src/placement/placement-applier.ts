import { toEparaError } from '@epara/core';
import type { ClusterView, LocalExecutor, ServerId } from '@epara/core';
import type { Logger } from '@epara/core';
import type { TimerHandle, Timers } from '@epara/core';
import type { PlacementDecision } from './placement-payload.js';

/** What one application of a placement did on this server. */
export interface PlacementAppliedEvent {
  readonly leader: ServerId;
  readonly seq: number;
  /** Why the leader computed the decision (`period`, `failure`, `start`, `joined`, `manual`). */
  readonly trigger: PlacementDecision['trigger'];
  readonly loaded: readonly string[];
  readonly unloaded: readonly string[];
  readonly failed: readonly { readonly instanceId: string; readonly code: string }[];
}

/** Ports of a {@link PlacementApplier}. */
export interface PlacementApplierConfig {
  readonly selfId: ServerId;
  readonly executor: LocalExecutor;
  readonly view: () => ClusterView;
  readonly timers: Timers;
  /** Longest wait for replacements elsewhere to become ready before draining anyway, ms. */
  readonly readyTimeoutMs: number;
  /** How often to look at the view while waiting, ms. */
  readonly pollMs: number;
  readonly logger: Logger;
  readonly applied: (e: PlacementAppliedEvent) => void;
}

/**
 * Applies this server's part of a placement, make-before-break: first every `load` (instances come up as
 * `loading`, then `ready`), then each `drain` — but only once the view shows the service's new instances
 * (on any server) `ready`, or after `readyTimeoutMs` — through `executor.unload` (draining finishes in-flight
 * work, then frees). A drain whose new instances are all on servers that died is not done: the instance stays
 * until a placement made since the failure says otherwise. Decisions are applied one at a time, in arrival order.
 */
export class PlacementApplier {
  readonly #c: PlacementApplierConfig;
  #chain: Promise<void> = Promise.resolve();
  #closed = false;
  /** Decisions handed to {@link apply} so far: one applied while a later one waits is superseded. */
  #received = 0;
  /** Ends the wait for replacements in progress (on close). */
  #wake: (() => void) | undefined;

  constructor(config: PlacementApplierConfig) {
    this.#c = config;
  }

  apply(decision: PlacementDecision): Promise<void> {
    const n = ++this.#received;
    // A drain of an earlier decision waiting for its replacements stops waiting: this one decides now.
    this.#wake?.();
    this.#chain = this.#chain.then(() => this.#apply(decision, n)).catch((err: unknown) => this.#c.logger.error({ err }, 'placement apply failed'));
    return this.#chain;
  }

  /**
   * Stops waiting at once; an application in progress finishes the load or unload it started and starts no
   * other: a drain waiting for its replacements is not done (the node is leaving, and the host may be closing
   * the executor it would unload from).
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    return this.#chain;
  }

  /**
   * `n`: the decision's number among those received. A drain still waiting for its replacements when a later
   * decision comes is not done: the later one was made from a view where the instance served and its replacement
   * was not ready (the load's message lost, the load failed, the leader that sent it died), so it keeps the
   * instance or drains it itself. Before, the earlier drain went on once its wait timed out and unloaded an
   * instance the later decision counted on, leaving the service without one until the next placement period.
   */
  async #apply(d: PlacementDecision, n: number): Promise<void> {
    if (this.#closed) return;
    const mine = d.changes.filter((s) => s.serverId === this.#c.selfId);
    const present = new Set(this.#c.executor.instances().map((i) => i.instanceId));
    const event = { leader: d.leader, seq: d.seq, trigger: d.trigger, loaded: [] as string[], unloaded: [] as string[], failed: [] as { instanceId: string; code: string }[] };
    const loads = mine.filter((s) => s.action === 'load' && !present.has(s.instanceId));
    await Promise.all(
      loads.map(async (s) => {
        const placed = d.instances.find((i) => i.instanceId === s.instanceId);
        if (!placed) return;
        try {
          await this.#c.executor.load(placed.plan, { instanceId: s.instanceId, deviceIds: placed.deviceIds });
          event.loaded.push(s.instanceId);
        } catch (err) {
          event.failed.push({ instanceId: s.instanceId, code: toEparaError(err).code });
        }
      }),
    );
    const superseded = (): boolean => this.#received > n;
    for (const s of mine.filter((x) => x.action === 'drain' && present.has(x.instanceId))) {
      if (this.#closed) break;
      const replaced = await this.#replacementsReady(d, s.serviceId, new Set(event.failed.map((f) => f.instanceId)), superseded);
      if (this.#closed) break;
      if (replaced === 'superseded') {
        this.#c.logger.info({ instanceId: s.instanceId, serviceId: s.serviceId, leader: d.leader, seq: d.seq }, 'a newer placement came while a drain waited for its replacement: the drain is left to it');
        continue;
      }
      if (!replaced) {
        // Make-before-break: draining now would leave the service without the instance its replacement was to
        // take over from. The server that died triggers a placement of its own (from the instances that exist).
        this.#c.logger.warn({ instanceId: s.instanceId, serviceId: s.serviceId, leader: d.leader, seq: d.seq }, 'every replacement of a drained instance is on a server that died; the instance is kept');
        continue;
      }
      try {
        await this.#c.executor.unload(s.instanceId);
        event.unloaded.push(s.instanceId);
      } catch (err) {
        event.failed.push({ instanceId: s.instanceId, code: toEparaError(err).code });
      }
    }
    if (loads.length + event.unloaded.length + event.failed.length > 0) this.#c.applied(event);
  }

  /**
   * Resolves once every instance this decision loads for `serviceId` is ready or will never be — on a server the
   * view holds dead, or one of this server's whose load failed (a server not in this view yet is waited for, as a
   * slow one is) —, or after `readyTimeoutMs`: with `false` when none of the new instances will ever take over,
   * `'superseded'` when a later decision came while some were still awaited, else `true`. This server's own new
   * instances are read from its executor.
   */
  #replacementsReady(d: PlacementDecision, serviceId: string, failedHere: ReadonlySet<string>, superseded: () => boolean): Promise<boolean | 'superseded'> {
    const news = d.changes.filter((s) => s.action === 'load' && s.serviceId === serviceId);
    const state = (s: (typeof news)[number]): 'ready' | 'dead' | 'waiting' => {
      if (s.serverId === this.#c.selfId) {
        if (failedHere.has(s.instanceId)) return 'dead';
        return this.#c.executor.instances().some((i) => i.instanceId === s.instanceId && i.status === 'ready') ? 'ready' : 'waiting';
      }
      const entry = this.#c.view().entries[s.serverId];
      if (entry?.alive === false) return 'dead';
      return entry?.instances.some((i) => i.instanceId === s.instanceId && i.status === 'ready') === true ? 'ready' : 'waiting';
    };
    return new Promise((resolve) => {
      let waited = 0;
      let timer: TimerHandle | undefined;
      const done = (replaced: boolean | 'superseded' = true): void => {
        timer?.cancel();
        this.#wake = undefined;
        resolve(replaced);
      };
      const check = (): void => {
        const states = news.map(state);
        if (!this.#closed && states.length > 0 && states.every((x) => x === 'dead')) return done(false);
        if (!this.#closed && superseded() && states.includes('waiting')) return done('superseded');
        if (this.#closed || !states.includes('waiting') || waited >= this.#c.readyTimeoutMs) return done();
        waited += this.#c.pollMs;
        timer = this.#c.timers.setTimeout(check, this.#c.pollMs);
      };
      // A close, or a later decision: look again now (the close ends the wait; a later decision ends it unless the
      // replacements are all settled).
      this.#wake = (): void => {
        timer?.cancel();
        check();
      };
      check();
    });
  }
}
