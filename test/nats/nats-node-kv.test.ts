import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeExecutor, createNode } from '@epara/mesh';
import { connectNats, createNatsTransport, createNatsViewSync } from '@epara/mesh-nats';
import type { MeshNode } from '@epara/mesh';
import type { NatsConnection } from '@epara/mesh-nats';
import { ECHO, PSK, aliveIds, input, serverOf, until, watch } from '../mesh/helpers.js';
import { skipNats, uniqueName, useNatsServer } from './nats-server.js';
import type { TestNatsServer } from './nats-server.js';

const skip = skipNats();

describe.skipIf(skip)('5 mesh nodes whose view comes from NATS KV (createNode({ viewSync }))', () => {
  let server: TestNatsServer;
  const members: { id: string; nc: NatsConnection; node: MeshNode }[] = [];
  beforeAll(async () => {
    server = await useNatsServer();
    const bucket = uniqueName('view');
    const prefix = uniqueName('k');
    for (let i = 0; i < 5; i++) {
      const id = `n${i}`;
      const nc = await connectNats({ servers: server.url });
      const node = createNode({
        id,
        transport: createNatsTransport({ connection: nc, name: id, subjectPrefix: prefix, keepaliveIntervalMs: 100, deadPeerTimeoutMs: 600 }),
        executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 20, maxQueue: 64 } }, hosted: i >= 3 ? ['echo'] : [], tag: i }),
        security: { psk: PSK },
        // No seeds: servers find each other through the bucket.
        viewSync: (ctx) => createNatsViewSync({ ...ctx, connection: nc, bucket, periodMs: 100, deadAfterMs: 500, ttlMs: 10_000 }),
        services: [ECHO],
        devices: [{ id: 'cpu0', kind: 'cpu', memoryBytes: 1e9 }],
        placement: false,
      });
      watch(node);
      await node.start();
      members.push({ id, nc, node });
    }
    await until(() => members.every((m) => aliveIds(m.node).length === 5), 'every node view has 5 servers');
  });
  afterAll(async () => {
    for (const m of members) {
      await m.node.close().catch(() => undefined);
      if (!m.nc.isClosed()) await m.nc.close();
    }
    await server?.stop();
  });

  it('every node learns every peer, its address and what it hosts from the bucket alone', () => {
    for (const m of members) {
      const entries = m.node.view().entries;
      expect(entries['n1']!.address).toMatch(/\.peer\.n1$/);
      const hosts = Object.values(entries).filter((e) => e.instances.some((x) => x.serviceId === 'echo')).map((e) => e.serverId).sort();
      expect(hosts).toEqual(['n3', 'n4']);
    }
  });

  it('offloads to the hosts the KV view names, over the NATS transport', async () => {
    const outs = await Promise.all(Array.from({ length: 8 }, (_, i) => members[0]!.node.submit('echo', input([i]), { deadline: Date.now() + 2000 })));
    outs.forEach((o, i) => expect((o['x']!.data as Float32Array)[0]).toBe(i * 2));
    expect(outs.every((o) => [3, 4].includes(serverOf(o)))).toBe(true);
  });

  it('a crashed node leaves every view and requests keep succeeding on the other host', async () => {
    const left = new Promise<string>((resolve) => members[1]!.node.on('peerLeft', (e) => e.serverId === 'n4' && resolve(e.serverId)));
    await members[4]!.nc.close();
    expect(await left).toBe('n4');
    await until(() => members.slice(0, 4).every((m) => !aliveIds(m.node).includes('n4')), 'every view drops n4');
    const outs = await Promise.all(Array.from({ length: 6 }, (_, i) => members[2]!.node.submit('echo', input([i]), { deadline: Date.now() + 2000 })));
    expect(outs.every((o) => serverOf(o) === 3)).toBe(true);
  });
});
