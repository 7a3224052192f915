import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock, isEparaError } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
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

    // The KV view's last write and its leave (a delete) cannot land: with the client disconnected neither is awaited
    // (the JetStream request timeouts, 5 s each, ≈ 15 s in all at first; then deadAfterMs each).
    const closing = Date.now();
    await Promise.all(members.map((m) => m.node.close()));
    expect(Date.now() - closing).toBeLessThan(10_000);
    await Promise.all(members.map((m) => m.nc.close()));
    await server.stop();
    server = undefined;
    expect(await leftOverAfter(baseline)).toEqual([]);
  });

  it('a KV view stopped while its broker is down returns at once: nothing can land, so it waits neither for its last write nor for its leave', async () => {
    server = await startNatsServer();
    const nc = await connectNats({ servers: server.url });
    // Timers that never fire: a bounded wait inside stop() would never end on its own.
    const timers = createManualTimers(createManualClock(0));
    const sync = createNatsViewSync({ connection: nc, selfId: 'gone', bucket: uniqueName('view'), periodMs: 100, deadAfterMs: 500, timers, readSelf: () => ({ instances: [], load: 0, freeMemoryBytes: 0, arrivalRates: {} }) });
    await sync.start();
    const disconnected = (async () => {
      for await (const s of nc.status()) if (s.type === 'disconnect') return;
    })();
    await server.crash();
    await disconnected;
    // Before, the leave (a delete) waited for the JetStream request timeout (5 s) here; the bound is the fault's.
    let bound: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([sync.stop().then(() => 'stopped'), new Promise((resolve) => (bound = setTimeout(resolve, 3000, 'still waiting')))]);
    clearTimeout(bound);
    expect(outcome).toBe('stopped');
    await nc.close();
  });

  it('a transport on the host\'s connection closes at once while the broker is down (no flush waiting for a reconnect)', async () => {
    server = await startNatsServer();
    // A long reconnect wait: a flush queued while disconnected would wait for the next attempt.
    const nc = await connectNats({ servers: server.url, reconnectWaitMs: 60_000 });
    const transport = createNatsTransport({ connection: nc, name: uniqueName('t') });
    await transport.listen();
    const disconnected = (async () => {
      for await (const s of nc.status()) if (s.type === 'disconnect') return;
    })();
    await server.crash();
    await disconnected;
    let bound: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([transport.close().then(() => 'closed'), new Promise((resolve) => (bound = setTimeout(resolve, 3000, 'still waiting')))]);
    clearTimeout(bound);
    expect(outcome).toBe('closed');
    await nc.close();
  });
});
