import { afterEach, describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import { createFakeExecutor, createNode } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { connectNats, createNatsOffloader, createNatsTransport, createNatsViewSync } from '@epara/mesh-nats';
import type { NatsConnection } from '@epara/mesh-nats';
import { activeResources, aliveIds, ECHO, input, leftOverAfter, PSK, serverOf, until, watch } from '../mesh/helpers.js';
import { skipNats, startNatsServer, uniqueName } from './nats-server.js';
import type { OwnedNatsServer } from './nats-server.js';

/*
 * Nodes on NATS (transport, KV view, queue-group offloader) lose their broker and are closed while it is down:
 * every submit settles, typed; `close()` does not wait out the client's request timeouts on the missing broker;
 * and once the nodes and their connections are closed the process holds no timer or socket of theirs — the
 * broker's absence leaves no reconnect, probe or keepalive running.
 */

const skip = skipNats();
let server: OwnedNatsServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe.skipIf(skip)('closing NATS nodes whose broker is gone', () => {
  it('settles every submit and leaves no timer or socket behind', async () => {
    const baseline = activeResources();
    server = await startNatsServer();
    const bucket = uniqueName('view');
    const prefix = uniqueName('k');
    const offPrefix = uniqueName('o');
    const members: { nc: NatsConnection; node: MeshNode }[] = [];
    for (const [i, id] of ['n0', 'n1'].entries()) {
      const nc = await connectNats({ servers: server.url });
      const node = createNode({
        id,
        transport: createNatsTransport({ connection: nc, name: id, subjectPrefix: prefix, keepaliveIntervalMs: 100, deadPeerTimeoutMs: 600 }),
        executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 20 } }, hosted: i === 1 ? ['echo'] : [], tag: i }),
        security: { psk: PSK },
        viewSync: (ctx) => createNatsViewSync({ ...ctx, connection: nc, bucket, periodMs: 100, deadAfterMs: 500, ttlMs: 10_000 }),
        offloader: (ctx) => createNatsOffloader({ ...ctx, connection: nc, subjectPrefix: offPrefix }),
        services: [ECHO],
        placement: false,
        syncPeriodMs: 100,
      });
      watch(node);
      await node.start();
      members.push({ nc, node });
    }
    const n0 = members[0]!.node;
    await until(() => aliveIds(n0).join() === 'n0,n1' && n0.view().entries['n1']!.instances.length > 0, 'n0 sees n1 and its instance');
    expect(serverOf(await n0.submit('echo', input([1]), { deadline: Date.now() + 5000 }))).toBe(1);

    await server.crash();
    const deadline = Date.now() + 2000;
    const during = await n0.submit('echo', input([2]), { deadline }).then(
      (out) => `answered by ${serverOf(out)}`,
      (err: unknown) => (isEparaError(err) ? 'typed' : `untyped: ${String(err)}`),
    );
    expect(['typed', 'answered by 1']).toContain(during);
    expect(Date.now()).toBeLessThan(deadline + 11_000);

    // The KV view's last write and its leave (a delete) cannot land: each is given up after deadAfterMs (500 ms)
    // rather than the JetStream request timeout (5 s each, ≈ 15 s in all before), by which the peers found it dead.
    const closing = Date.now();
    await Promise.all(members.map((m) => m.node.close()));
    expect(Date.now() - closing).toBeLessThan(10_000);
    await Promise.all(members.map((m) => m.nc.close()));
    await server.stop();
    server = undefined;
    expect(await leftOverAfter(baseline)).toEqual([]);
  });
});
