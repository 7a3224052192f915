import { afterEach, describe, expect, it } from 'vitest';
import { createFakeExecutor, createNode } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { connectNats, createNatsOffloader, createNatsTransport, createNatsViewSync } from '@epara/mesh-nats';
import type { NatsConnection } from '@epara/mesh-nats';
import { ECHO, PSK, aliveIds, changed, until, watch } from '../mesh/helpers.js';
import { completions, expectInvariants, submitAll } from '../mesh/fault-harness.js';
import type { Outcome } from '../mesh/fault-harness.js';
import { skipNats, startNatsServer, uniqueName } from './nats-server.js';
import type { OwnedNatsServer } from './nats-server.js';

/*
 * A cluster entirely on NATS — the transport, the KV view and queue-group offloading — under load from an entry that
 * hosts nothing, its broker killed (SIGKILL) and started again on its address with its store, replaced by one with an
 * empty store (the view's bucket gone), or hung (SIGSTOP, its clients still connected) and resumed. Every submit
 * settles once, right (its own answer, from a host) or typed, by its deadline plus a bound, and once the broker is
 * back the entry serves through the queue groups again.
 */

const skip = skipNats();
const RECONNECT_WAIT_MS = 100;

let server: OwnedNatsServer | undefined;
const conns: NatsConnection[] = [];
const nodes: MeshNode[] = [];
afterEach(async () => {
  server?.resume();
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await Promise.all(conns.splice(0).map((c) => (c.isClosed() ? undefined : c.close())));
  await server?.stop();
  server = undefined;
});

describe.skipIf(skip)('a cluster on NATS (transport, KV view, queue groups), its broker failing under load', () => {
  it.each(['crash', 'empty', 'pause'] as const)('broker %s: settles every submit once, right or typed, and serves through the queue groups again once the broker is back', async (fault) => {
    server = await startNatsServer();
    const bucket = uniqueName('view');
    const prefix = uniqueName('t');
    const offPrefix = uniqueName('o');
    // n0 hosts nothing: every request it takes goes through the queue group of n1 and n2, 100 ms each.
    for (let i = 0; i < 3; i++) {
      const id = `n${i}`;
      const nc = await connectNats({ servers: server.url, reconnectWaitMs: RECONNECT_WAIT_MS });
      conns.push(nc);
      const node = createNode({
        id,
        transport: createNatsTransport({ connection: nc, name: id, subjectPrefix: prefix, keepaliveIntervalMs: 100, deadPeerTimeoutMs: 600 }),
        executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 100, maxQueue: 64 } }, hosted: i === 0 ? [] : ['echo'], tag: i }),
        security: { psk: PSK },
        viewSync: (ctx) => createNatsViewSync({ ...ctx, connection: nc, bucket, periodMs: 100, deadAfterMs: 600 }),
        offloader: (ctx) => createNatsOffloader({ ...ctx, connection: nc, subjectPrefix: offPrefix, progressIntervalMs: 50, acceptTimeoutMs: 1000, deadAfterMs: 300 }),
        services: [ECHO],
        syncPeriodMs: 100,
        responseGraceMs: 300,
        authRetry: { initialMs: 100, maxMs: 500 },
        placement: false,
      });
      watch(node);
      nodes.push(node);
      await node.start();
    }
    const n0 = nodes[0]!;
    const done = completions(n0);
    const whole = (): boolean => aliveIds(n0).join() === 'n0,n1,n2' && ['n1', 'n2'].every((id) => n0.view().entries[id]!.instances.length > 0);
    await until(whole, 'n0 sees both hosts');
    expectInvariants(await submitAll(n0, [0], 5000).settled, [1, 2]);

    // Load: waves of six submits, one after the other, until told to stop.
    const outcomes: Outcome[] = [];
    let stop = false;
    let next = 1;
    const load = (async () => {
      while (!stop) {
        const wave = Array.from({ length: 6 }, () => next++);
        outcomes.push(...(await submitAll(n0, wave, 2000).settled));
        changed();
      }
    })();
    await until(() => outcomes.length >= 6, 'a first wave settled');
    if (fault === 'pause') await server.pause();
    else await server.crash();
    const crashedAt = outcomes.length;
    await until(() => outcomes.length >= crashedAt + 12, 'two waves settled with the broker away', 60_000);
    if (fault === 'pause') server.resume();
    else if (fault === 'crash') await server.revive();
    else await server.restart({ keepStore: false });
    // Answers come again through the queue groups once the clients are back.
    const revivedAt = outcomes.length;
    await until(() => outcomes.slice(revivedAt).filter((o) => o.code === undefined).length >= 6, 'answers after the revive', 60_000);
    stop = true;
    await load;
    expectInvariants(outcomes, [1, 2]);
    expect(new Set(outcomes.map((o) => o.input)).size).toBe(outcomes.length);
    done.check();
  }, 180_000); // a hang guard only
});
