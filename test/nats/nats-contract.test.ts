import { afterAll, beforeAll, describe } from 'vitest';
import { createNatsTransport } from '@epara/mesh-nats';
import { runTransportContract } from '@epara/mesh/testing';
import { skipNats, uniqueName, useNatsServer } from './nats-server.js';
import type { TestNatsServer } from './nats-server.js';

const skip = skipNats();

describe.skipIf(skip)('NATS transport', () => {
  let server: TestNatsServer;
  beforeAll(async () => {
    server = await useNatsServer();
  });
  afterAll(() => server?.stop());

  runTransportContract('nats', {
    createServer: (o) => createNatsTransport({ servers: server.url, ...(o?.maxFrameBytes ? { maxFrameBytes: o.maxFrameBytes } : {}) }),
    createClient: (o) => createNatsTransport({ servers: server.url, ...(o?.maxFrameBytes ? { maxFrameBytes: o.maxFrameBytes } : {}) }),
    deadAddress: () => `epara.peer.${uniqueName('nobody')}`,
  });
});
