import { afterAll, beforeAll, describe } from 'vitest';
import type { ServerId } from '@epara/core';
import type { SelfState } from '@epara/mesh';
import { connectNats, createNatsViewSync } from '@epara/mesh-nats';
import type { NatsViewSync } from '@epara/mesh-nats';
import { runViewSyncContract } from '@epara/mesh/testing';
import { skipNats, uniqueName, useNatsServer } from './nats-server.js';
import type { TestNatsServer } from './nats-server.js';

const skip = skipNats();

/**
 * Real time, no polling: resolves once `done()` holds, re-checked on every view update, departure and round of
 * the cluster's syncs, or after `ms` (the contract then asserts what it waited for).
 */
function runOnEvents(syncs: readonly NatsViewSync[]): (ms: number, done: () => boolean) => Promise<void> {
  const EVENTS = ['viewUpdated', 'peerJoined', 'peerLeft', 'roundCompleted'] as const;
  return (ms, done) =>
    new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        for (const s of syncs) for (const e of EVENTS) s.off(e, recheck);
        resolve();
      };
      const recheck = (): void => {
        if (done()) finish();
      };
      const timer = setTimeout(finish, ms);
      for (const s of syncs) for (const e of EVENTS) s.on(e, recheck);
      recheck();
    });
}

describe.skipIf(skip)('NATS KV view sync', () => {
  let server: TestNatsServer;
  beforeAll(async () => {
    server = await useNatsServer();
  });
  afterAll(() => server?.stop());

  // One connection per member (a crash closes it), one fresh bucket per cluster.
  runViewSyncContract('NATS KV', {
    budgetMs: 10_000,
    createCluster: async (ids) => {
      const bucket = uniqueName('contract');
      const selves = new Map<ServerId, SelfState>(ids.map((id) => [id, { instances: [], load: 0, freeMemoryBytes: 1e9, arrivalRates: {}, address: `epara.peer.${id}` }]));
      const members = await Promise.all(
        ids.map(async (selfId) => {
          const nc = await connectNats({ servers: server.url });
          const sync: NatsViewSync = createNatsViewSync({ connection: nc, selfId, bucket, periodMs: 100, deadAfterMs: 400, ttlMs: 5000, readSelf: () => selves.get(selfId)! });
          return { selfId, nc, sync };
        }),
      );
      for (const m of members) await m.sync.start();
      const stop = async (m: (typeof members)[number]): Promise<void> => {
        await m.sync.stop({ leave: false });
        if (!m.nc.isClosed()) await m.nc.close();
      };
      return {
        syncs: new Map(members.map((m) => [m.selfId, m.sync])),
        run: runOnEvents(members.map((m) => m.sync)),
        setSelf: (id, patch) => void selves.set(id, { ...selves.get(id)!, ...patch }),
        kill: (id) => stop(members.find((m) => m.selfId === id)!),
        close: async () => void (await Promise.all(members.map(stop))),
      };
    },
  });
});
