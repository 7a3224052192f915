import { afterAll, beforeAll, describe } from 'vitest';
import { connectNats, createNatsOffloader } from '@epara/mesh-nats';
import { runOffloaderContract } from '@epara/mesh/testing';
import { skipNats, uniqueName, useNatsServer } from './nats-server.js';
import type { TestNatsServer } from './nats-server.js';

const skip = skipNats();

describe.skipIf(skip)('NATS queue-group offloader', () => {
  let server: TestNatsServer;
  beforeAll(async () => {
    server = await useNatsServer();
  });
  afterAll(() => server?.stop());

  // One connection per member, one fresh subject prefix per cluster.
  runOffloaderContract('NATS queue groups', {
    createCluster: async (members) => {
      const subjectPrefix = uniqueName('contract');
      const built = await Promise.all(
        members.map(async (m) => {
          const nc = await connectNats({ servers: server.url });
          const offloader = createNatsOffloader({ connection: nc, selfId: m.selfId, executor: m.executor, subjectPrefix, progressIntervalMs: 50, deadAfterMs: 250, acceptTimeoutMs: 250 });
          return { id: m.selfId, nc, offloader };
        }),
      );
      return {
        offloaders: new Map(built.map((b) => [b.id, b.offloader])),
        close: async () => {
          for (const b of built) b.offloader.close();
          await Promise.all(built.map((b) => (b.nc.isClosed() ? undefined : b.nc.close())));
        },
      };
    },
  });
});
