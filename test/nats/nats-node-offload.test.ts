import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import { connectNats, createNatsOffloader, createNatsTransport, createNatsViewSync } from '@epara/mesh-nats';
import type { FakeExecutor, MeshNode, NodeOptions, Offloader } from '@epara/mesh';
import type { NatsConnection, NatsOffloader } from '@epara/mesh-nats';
import type { LocalExecutor, ServiceId } from '@epara/core';
import { codeOf } from '@epara/mesh/testing';
import { ECHO, PSK, aliveIds, changed, input, serverOf, until, watch } from '../mesh/helpers.js';
import { skipNats, uniqueName, useNatsServer } from './nats-server.js';
import type { TestNatsServer } from './nats-server.js';

const skip = skipNats();

/** One member: NATS transport + KV view sync + NATS queue-group offloader, all on its own connection. */
interface Member {
  readonly id: string;
  readonly nc: NatsConnection;
  readonly node: MeshNode;
  readonly fake: FakeExecutor;
  readonly offloader: NatsOffloader;
  /** Every service the node told its offloader to serve, and to stop serving. */
  readonly served: ServiceId[];
  readonly unserved: ServiceId[];
}

/** Hooks on the `slow` service's executors (n3's, n4's): the test learns when a request was taken, and when it was aborted. */
const hooks = { taken: (): void => undefined, aborted: (): void => undefined };
const watched = (e: FakeExecutor): LocalExecutor => ({
  ...e,
  submit: (id, x, opts) => {
    if (id === 'slow') (hooks.taken(), opts?.signal?.addEventListener('abort', () => hooks.aborted(), { once: true }));
    return e.submit(id, x, opts);
  },
});
const next = (k: keyof typeof hooks): Promise<void> => new Promise((resolve) => (hooks[k] = resolve));
/**
 * Waits until a member's executor took the `slow` request, or fails at once with how the submit settled when it
 * settled first (a submit rejected before any member took it would otherwise leave the test waiting forever).
 */
async function takenBefore(taken: Promise<void>, result: Promise<unknown>): Promise<void> {
  const settled = (how: string): string => `the submit settled before a member took the request: ${how}`;
  const first = await Promise.race([
    taken.then(() => undefined),
    result.then(
      (v) => settled(typeof v === 'string' ? v : 'with a result'),
      (err: unknown) => settled((err as { code?: string }).code ?? String(err)),
    ),
  ]);
  if (first !== undefined) throw new Error(first);
}

describe.skipIf(skip)('5 nodes offloading through NATS queue groups (createNode({ offloader }))', () => {
  let server: TestNatsServer;
  const m: Member[] = [];
  const node = (i: number): MeshNode => m[i]!.node;
  beforeAll(async () => {
    server = await useNatsServer();
    const bucket = uniqueName('view');
    const prefix = uniqueName('k');
    const offPrefix = uniqueName('o');
    // n0, n4: host nothing (n4 loads `slow` later); n1, n2: `echo`; n3: a 5-second `slow` (n4's is quick).
    const hosted = [[], ['echo'], ['echo'], ['slow'], []];
    for (let i = 0; i < 5; i++) {
      const id = `n${i}`;
      const nc = await connectNats({ servers: server.url });
      const fake = createFakeExecutor({ services: { echo: { serviceTimeMs: 20, maxQueue: 64 }, slow: { serviceTimeMs: i === 3 ? 5000 : 20 } }, hosted: hosted[i]!, tag: i });
      const served: ServiceId[] = [];
      const unserved: ServiceId[] = [];
      let offloader!: NatsOffloader;
      // A plain delegating object: the node needs only the Offloader interface.
      const factory: NodeOptions['offloader'] = (ctx) => {
        // A member slower than acceptTimeoutMs to take a request makes the sender retry elsewhere: at load 50 a
        // 250 ms bound did (16 served for 8 requests, or a request given up), so this one is a second.
        offloader = createNatsOffloader({ ...ctx, connection: nc, subjectPrefix: offPrefix, progressIntervalMs: 50, acceptTimeoutMs: 1000, deadAfterMs: 300 });
        const wrapped: Offloader = {
          // A service counts as served once its subscription is up; each change wakes the test's pending
          // until() (changed()): these lists are the test's own state, not a node's.
          serve: (ids, o) => offloader.serve(ids, o).then(() => (served.push(...ids), changed())),
          unserve: (ids) => (unserved.push(...ids), changed(), offloader.unserve(ids)),
          forward: (...args) => offloader.forward(...args),
          close: () => offloader.close(),
        };
        return wrapped;
      };
      const n = createNode({
        id,
        transport: createNatsTransport({ connection: nc, name: id, subjectPrefix: prefix, keepaliveIntervalMs: 100, deadPeerTimeoutMs: 600 }),
        executor: i >= 3 ? watched(fake) : fake,
        security: { psk: PSK },
        viewSync: (ctx) => createNatsViewSync({ ...ctx, connection: nc, bucket, periodMs: 100, deadAfterMs: 500, ttlMs: 10_000 }),
        offloader: factory,
        services: [ECHO],
        placement: false,
        syncPeriodMs: 100,
      });
      watch(n);
      await n.start();
      m.push({ id, nc, node: n, fake, offloader, served, unserved });
    }
    await until(() => m.every((x) => aliveIds(x.node).length === 5), 'every node view has 5 servers');
    await until(() => m.every((x, i) => x.served.length === hosted[i]!.length), 'every host serves its services');
  });
  afterAll(async () => {
    for (const x of m) {
      await x.node.close().catch(() => undefined);
      if (!x.nc.isClosed()) await x.nc.close();
    }
    await server?.stop();
  });

  it('serves exactly the hosted services, and offloads through the queue group rather than the links', async () => {
    expect(m.map((x) => x.served)).toEqual([[], ['echo'], ['echo'], ['slow'], []]);
    const sent: { to: string; hops: number }[] = [];
    node(0).on('requestOffloaded', (e) => sent.push(e));
    const outs = await Promise.all(Array.from({ length: 8 }, (_, i) => node(0).submit('echo', input([i]), { deadline: Date.now() + 2000 })));
    outs.forEach((o, i) => expect((o['x']!.data as Float32Array)[0]).toBe(i * 2));
    expect(outs.every((o) => [1, 2].includes(serverOf(o)))).toBe(true);
    expect(sent.length).toBeGreaterThanOrEqual(8);
    expect(sent.every((e) => e.to === '*' && e.hops >= 1)).toBe(true);
    expect(node(0).stats().offloaded).toBe(sent.length);
    // Each request served once, plus at most once per retry (an attempt given up may have been taken already).
    const served = m[1]!.offloader.stats().served + m[2]!.offloader.stats().served;
    expect(served).toBeGreaterThanOrEqual(8);
    expect(served).toBeLessThanOrEqual(8 + m[0]!.offloader.stats().retried);
    // Nothing travelled over the transport links: no peer received a forwarded submit.
    expect(m.map((x) => x.node.stats().received)).toEqual([0, 0, 0, 0, 0]);
  });

  it('a saturated node keeps what it can finish in time and offloads the rest; every submit settles with a result or a code', async () => {
    const before = m[2]!.offloader.stats().served;
    // 60 requests of 20 ms each with one second to go: n1 can finish about 50 of them, so it offloads the rest,
    // and those have hundreds of ms to spare for the NATS round trip even on a loaded machine (a 200 ms budget
    // for 16 did not, at load 30).
    const deadline = Date.now() + 1000;
    const settled = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => node(1).submit('echo', input([i]), { deadline })));
    const ok = settled.flatMap((s) => (s.status === 'fulfilled' ? [serverOf(s.value)] : []));
    const codes = settled.flatMap((s) => (s.status === 'rejected' ? [(s.reason as { code: string }).code] : []));
    expect(ok.length + codes.length).toBe(60);
    expect(ok).toContain(1); // some ran locally
    expect(ok).toContain(2); // some were offloaded to n2 over NATS
    expect(node(1).stats().offloaded).toBeGreaterThan(0);
    expect(m[2]!.offloader.stats().served).toBeGreaterThan(before);
    expect(codes.filter((c) => !['OVERLOADED', 'DEADLINE_INFEASIBLE', 'DEADLINE_EXCEEDED', 'HOP_LIMIT'].includes(c))).toEqual([]);
  });

  it('an abort on the sender reaches the member running the request', async () => {
    const taken = next('taken');
    const aborted = next('aborted');
    const ac = new AbortController();
    const result = codeOf(() => node(0).submit('slow', input([1]), { deadline: Date.now() + 10_000, signal: ac.signal }));
    await takenBefore(taken, result);
    ac.abort();
    expect(await result).toBe('ABORTED');
    await aborted; // n3's executor saw the cancel
    expect(node(0).stats().inFlightForwards).toBe(0);
  });

  it('a member that dies mid-request loses nothing: the request is retried on another member that serves it', async () => {
    // n3 is still running the request aborted above: like a device's, a batch that started runs to its end, so
    // n3 is busy for up to 5 s more. The deadline leaves room to wait behind it: with 10 s, the request fitted by
    // only the few ms the abort took, and was rejected OVERLOADED when the abort was quick.
    const taken = next('taken');
    const result = node(0).submit('slow', input([3]), { deadline: Date.now() + 20_000 });
    await takenBefore(taken, result); // n3 takes it (behind the aborted batch, then 5 s of its own)
    await m[4]!.fake.load({ serviceId: 'slow' } as Parameters<FakeExecutor['load']>[0]);
    await until(() => m[4]!.served.includes('slow'), 'n4 serves slow after loading it');
    await m[3]!.nc.close(); // n3 dies with the request: no progress, no answer
    const out = await result;
    expect(serverOf(out)).toBe(4);
    expect((out['x']!.data as Float32Array)[0]).toBe(6);
    expect(m[0]!.offloader.stats().retried).toBeGreaterThanOrEqual(1);
    expect(node(0).stats().retried).toBeGreaterThanOrEqual(1);
  });

  it('when no live member serves the service, a submit is rejected with a code (never hangs)', async () => {
    await m[4]!.fake.unload(m[4]!.fake.instances().find((x) => x.serviceId === 'slow')!.instanceId);
    await until(() => !aliveIds(node(0)).includes('n3'), 'n0 drops the dead n3');
    await until(() => m[4]!.unserved.includes('slow'), "n4's serving poll notices the unload");
    expect(await codeOf(() => node(0).submit('slow', input([1]), { deadline: Date.now() + 2000 }))).toBe('NO_INSTANCE');
  });

  it('closing the sender settles a queue-group forward in flight with CLOSED', async () => {
    m[4]!.fake.setServiceTime('slow', 5000);
    await m[4]!.fake.load({ serviceId: 'slow' } as Parameters<FakeExecutor['load']>[0]);
    await until(() => m[4]!.served.filter((x) => x === 'slow').length === 2, 'n4 serves slow again');
    const taken = next('taken');
    const result = codeOf(() => node(0).submit('slow', input([1]), { deadline: Date.now() + 10_000 }));
    await takenBefore(taken, result); // n4's executor runs it (n3 is gone)
    await node(0).close();
    expect(await result).toBe('CLOSED');
  });
});

describe('the offloader node option', () => {
  const base = (): NodeOptions => ({
    id: 'a',
    transport: createMemoryTransport({ hub: createMemoryHub() }),
    executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } } }),
    security: { insecure: true },
  });
  it('rejects a non-function and a factory that returns no Offloader, naming the field', () => {
    expect(() => createNode({ ...base(), offloader: 5 as unknown as NodeOptions['offloader'] })).toThrow(/offloader/);
    expect(() => createNode({ ...base(), offloader: () => ({}) as Offloader })).toThrow(/offloader/);
  });
});
