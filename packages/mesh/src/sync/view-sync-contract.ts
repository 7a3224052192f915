import { afterEach, describe, expect, it } from 'vitest';
import type { ServerEntry, ServerId } from '@epara/core';
import type { ViewSync } from './view-sync.js';
import type { SelfState } from './view-store.js';

/** A running group of view syncs built by a {@link ViewSyncContractFactory}. */
export interface ViewSyncCluster {
  /** One started sync per member id. */
  readonly syncs: ReadonlyMap<ServerId, ViewSync>;
  /**
   * Lets time pass — virtual time for syncs on manual timers, real time otherwise — until `done()` holds or
   * `ms` of that time has elapsed, whichever comes first.
   */
  run(ms: number, done: () => boolean): Promise<void>;
  /** Changes what a member's `readSelf()` returns from now on. */
  setSelf(id: ServerId, patch: Partial<SelfState>): void;
  /** Crashes a member: it stops and nothing it would send or receive arrives any more. */
  kill(id: ServerId): Promise<void>;
  /** Stops every member and releases the cluster's resources. */
  close(): Promise<void>;
}

/** What a view sync under test provides to {@link runViewSyncContract}. */
export interface ViewSyncContractFactory {
  /** Starts one sync per id, with `readSelf()` of each returning `{ instances: [], load: 0, … }` until changed. */
  createCluster(ids: readonly ServerId[]): Promise<ViewSyncCluster>;
  /** Time budget for each convergence wait, in the cluster's own time. @default 30_000 */
  readonly budgetMs?: number;
}

const aliveIn = (sync: ViewSync, id: ServerId): boolean => sync.store.get(id)?.alive === true;

/**
 * The shared behaviour every {@link ViewSync} must have — the ring, NATS KV and a host's own all run it: views
 * converge to every member alive, a member's fresh state reaches the others, `reportDead` marks a peer dead at
 * once with `peerLeft`, a crashed member ends up dead (or gone) everywhere, and `stop()` is idempotent. Call it
 * inside a vitest test file.
 *
 * @example
 * ```ts
 * runViewSyncContract('my sync', { createCluster: (ids) => startMyCluster(ids) });
 * ```
 */
export function runViewSyncContract(name: string, factory: ViewSyncContractFactory): void {
  const budget = factory.budgetMs ?? 30_000;
  describe(`ViewSync contract: ${name}`, () => {
    const open: ViewSyncCluster[] = [];
    const cluster = async (ids: readonly ServerId[]): Promise<ViewSyncCluster> => {
      const c = await factory.createCluster(ids);
      open.push(c);
      return c;
    };
    const converged = (c: ViewSyncCluster, ids: readonly ServerId[]) => (): boolean =>
      [...c.syncs.values()].every((s) => ids.every((id) => aliveIn(s, id)));
    afterEach(async () => {
      await Promise.all(open.splice(0).map((c) => c.close()));
    });

    it('gives every member its own entry and converges to every member alive', async () => {
      const ids = ['vs-a', 'vs-b', 'vs-c'];
      const c = await cluster(ids);
      await c.run(budget, converged(c, ids));
      for (const [id, s] of c.syncs) {
        expect(s.store.self.serverId).toBe(id);
        expect(Object.keys(s.store.view().entries).sort()).toEqual([...ids].sort());
        for (const other of ids) expect(s.store.get(other)?.alive, `${id} sees ${other} alive`).toBe(true);
      }
    });

    it("carries a member's fresh state (readSelf) to the others, with viewUpdated on each", async () => {
      const ids = ['vs-a', 'vs-b', 'vs-c'];
      const c = await cluster(ids);
      await c.run(budget, converged(c, ids));
      const updates = new Map(ids.map((id) => [id, 0]));
      for (const [id, s] of c.syncs) s.on('viewUpdated', () => void updates.set(id, updates.get(id)! + 1));
      c.setSelf('vs-a', { load: 0.75, freeMemoryBytes: 12_345 });
      const seen = (e: ServerEntry | undefined): boolean => e?.load === 0.75 && e.freeMemoryBytes === 12_345;
      await c.run(budget, () => [...c.syncs.values()].every((s) => seen(s.store.get('vs-a'))));
      for (const s of c.syncs.values()) expect(seen(s.store.get('vs-a'))).toBe(true);
      for (const id of ['vs-b', 'vs-c']) expect(updates.get(id), `${id} reported the change`).toBeGreaterThan(0);
    });

    it('marks a reported peer dead in the reporter view at once and emits peerLeft', async () => {
      const ids = ['vs-a', 'vs-b'];
      const c = await cluster(ids);
      await c.run(budget, converged(c, ids));
      const reporter = c.syncs.get('vs-a')!;
      const left: ServerId[] = [];
      reporter.on('peerLeft', (e) => void left.push(e.serverId));
      reporter.reportDead('vs-b');
      expect(reporter.store.get('vs-b')?.alive).toBe(false);
      expect(left).toEqual(['vs-b']);
      expect(reporter.store.self.alive).toBe(true);
    });

    it('ends up with a crashed member dead or gone in every survivor view', async () => {
      const ids = ['vs-a', 'vs-b', 'vs-c'];
      const c = await cluster(ids);
      await c.run(budget, converged(c, ids));
      await c.kill('vs-c');
      const survivors = ['vs-a', 'vs-b'].map((id) => c.syncs.get(id)!);
      await c.run(budget, () => survivors.every((s) => !aliveIn(s, 'vs-c')));
      for (const s of survivors) {
        expect(aliveIn(s, 'vs-c')).toBe(false);
        expect(aliveIn(s, 'vs-a') && aliveIn(s, 'vs-b')).toBe(true);
      }
    });

    it('stops idempotently', async () => {
      const c = await cluster(['vs-a', 'vs-b']);
      const s = c.syncs.get('vs-a')!;
      await s.stop();
      await s.stop();
      expect(s.store.self.serverId).toBe('vs-a');
    });
  });
}
