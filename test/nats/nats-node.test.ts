import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeExecutor, createNode } from '@epara/mesh';
import { connectNats, createNatsTransport, createNatsViewSync } from '@epara/mesh-nats';
import type { MeshNode } from '@epara/mesh';
import type { NatsViewSync } from '@epara/mesh-nats';
import { ECHO, PSK, aliveIds, input, serverOf, until, watch, watchSync } from '../mesh/helpers.js';
import { skipNats, uniqueName, useNatsServer } from './nats-server.js';
import type { TestNatsServer } from './nats-server.js';

const skip = skipNats();
type NatsConnection = Awaited<ReturnType<typeof connectNats>>;

interface NatsMember {
  readonly id: string;
  readonly nc: NatsConnection;
  readonly node: MeshNode;
  readonly kv: NatsViewSync;
}

describe.skipIf(skip)('5 mesh nodes on NATS (transport + KV view beside the ring)', () => {
  let server: TestNatsServer;
  const members: NatsMember[] = [];
  beforeAll(async () => {
    server = await useNatsServer();
    const bucket = uniqueName('view');
    const prefix = uniqueName('m');
    for (let i = 0; i < 5; i++) {
      const id = `n${i}`;
      const nc = await connectNats({ servers: server.url });
      const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 20, maxQueue: 64 } }, hosted: i >= 3 ? ['echo'] : [], tag: i });
      const transport = createNatsTransport({ connection: nc, name: id, subjectPrefix: prefix, keepaliveIntervalMs: 100, deadPeerTimeoutMs: 600 });
      const node = createNode({
        id,
        transport,
        executor,
        security: { psk: PSK },
        seeds: i === 0 ? [] : [members[0]!.node.address!],
        services: [ECHO],
        devices: [{ id: 'cpu0', kind: 'cpu', memoryBytes: 1e9 }],
        syncPeriodMs: 50,
        syncAckTimeoutMs: 150,
        placement: false,
      });
      watch(node);
      await node.start();
      const kv = createNatsViewSync({
        connection: nc,
        selfId: id,
        bucket,
        periodMs: 100,
        deadAfterMs: 500,
        ttlMs: 10_000,
        readSelf: () => ({ instances: executor.instances(), load: 0, freeMemoryBytes: 1e9, arrivalRates: {}, address: node.address }),
      });
      watchSync(kv);
      await kv.start();
      members.push({ id, nc, node, kv });
    }
    await until(() => members.every((m) => aliveIds(m.node).length === 5), 'every ring view has 5 nodes');
    await until(() => members.every((m) => Object.values(m.kv.view().entries).filter((e) => e.alive).length === 5), 'every KV view has 5 nodes');
  });
  afterAll(async () => {
    for (const m of members) {
      await m.kv.stop({ leave: false }).catch(() => undefined);
      await m.node.close().catch(() => undefined);
      if (!m.nc.isClosed()) await m.nc.close();
    }
    await server?.stop();
  });

  it('the ring over NATS and the KV view agree on membership and on who hosts echo', () => {
    for (const m of members) {
      const ring = m.node.view().entries;
      const kv = m.kv.view().entries;
      expect(Object.keys(kv).sort()).toEqual(Object.keys(ring).sort());
      const hostsIn = (entries: typeof kv): string[] => Object.values(entries).filter((e) => e.instances.some((x) => x.serviceId === 'echo')).map((e) => e.serverId).sort();
      expect(hostsIn(kv)).toEqual(['n3', 'n4']);
      expect(hostsIn(ring)).toEqual(['n3', 'n4']);
    }
  });

  it('a node without the service offloads over the NATS transport with the PSK handshake', async () => {
    const outs = await Promise.all(Array.from({ length: 10 }, (_, i) => members[0]!.node.submit('echo', input([i]), { deadline: Date.now() + 2000 })));
    outs.forEach((o, i) => expect((o['x']!.data as Float32Array)[0]).toBe(i * 2));
    expect(outs.every((o) => [3, 4].includes(serverOf(o)))).toBe(true);
    expect(members[0]!.node.stats().offloaded).toBeGreaterThanOrEqual(10);
  });

  it('a killed node is dropped by both the ring and the KV view; requests keep succeeding', async () => {
    const victim = members[4]!;
    await victim.nc.close(); // no goodbye: its links, ring acks and KV heartbeats just stop
    const left = members.slice(0, 4);
    await until(() => left.every((m) => m.kv.view().entries['n4']?.alive === false), 'the KV views mark n4 dead');
    await until(() => left.every((m) => !aliveIds(m.node).includes('n4')), 'the ring views drop n4');
    const outs = await Promise.all(Array.from({ length: 6 }, (_, i) => members[1]!.node.submit('echo', input([i]), { deadline: Date.now() + 2000 })));
    expect(outs.every((o) => serverOf(o) === 3)).toBe(true);
  });
});
