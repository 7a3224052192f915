import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import type { FakeExecutor, MeshNode } from '@epara/mesh';
import { connectNats, createNatsOffloader, createNatsTransport, createNatsViewSync } from '@epara/mesh-nats';
import type { NatsOffloader } from '@epara/mesh-nats';
import { isEparaError } from '@epara/core';
import type { LocalExecutor, NamedTensors } from '@epara/core';
import { skipNats, startNatsServer, uniqueName } from './nats-server.js';
import type { OwnedNatsServer } from './nats-server.js';

/*
 * Faults of the broker under queue-group offloading: the broker killed and restarted while a member runs the
 * forwarded requests. Every forward settles once — its own right answer or a typed code — by its deadline plus
 * the offloader's silence bound plus a generous bound, and forwarding works again once the clients reconnected.
 */

const skip = skipNats();
type NatsConnection = Awaited<ReturnType<typeof connectNats>>;
const TYPED = ['DEADLINE_EXCEEDED', 'DEADLINE_INFEASIBLE', 'PEER_UNAVAILABLE', 'NO_INSTANCE', 'OVERLOADED', 'CLOSED'];
const SETTLE_BOUND_MS = 500 + 10_000;

let server: OwnedNatsServer | undefined;
const conns: NatsConnection[] = [];
const offloaders: NatsOffloader[] = [];
const children: ChildProcess[] = [];
const nodes: MeshNode[] = [];
afterEach(async () => {
  server?.resume(); // a test that failed with the broker paused: closing its clients would wait on it
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  for (const c of children.splice(0)) {
    c.kill('SIGCONT');
    c.kill('SIGKILL');
  }
  offloaders.splice(0).forEach((o) => o.close());
  await Promise.all(conns.splice(0).map((c) => (c.isClosed() ? undefined : c.close())));
  await server?.stop();
  server = undefined;
});

const input = (v: number): NamedTensors => ({ x: { type: 'float32', dims: [1], data: Float32Array.of(v) } });

const MEMBER = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'nats-member.mjs');

/** A member process serving `svc`; `printed(text)` resolves once it printed that line (again, after `from` sightings). */
function startMember(config: { url: string; prefix: string; id: string; tag: number; serviceTimeMs: number }): { child: ChildProcess; printed: (text: string, count?: number) => Promise<void> } {
  const child = spawn(process.execPath, [MEMBER, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const printed = (text: string, count = 1): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => void (out.split(text).length - 1 >= count && (child.stdout!.off('data', check), resolve()));
      child.stdout!.on('data', check);
      child.once('exit', (code, signal) => reject(new Error(`member ${config.id} exited (${code ?? signal}): ${out}`)));
      check();
    });
  return { child, printed };
}

/** Resolves on the connection's next disconnect from the broker. */
async function disconnected(nc: NatsConnection): Promise<void> {
  for await (const s of nc.status()) if (s.type === 'disconnect') return;
}

/** Resolves on the connection's next reconnect to the broker. */
async function reconnected(nc: NatsConnection): Promise<void> {
  for await (const s of nc.status()) if (s.type === 'reconnect') return;
}

describe.skipIf(skip)('NATS broker faults under offloading', () => {
  it('a broker killed and restarted mid-request: every forward settles once, right or typed, and forwarding works after', async () => {
    server = await startNatsServer();
    const prefix = uniqueName('f');
    let taken = 0;
    let onTaken: (() => void) | undefined;
    const member = async (id: string, tag: number, wrap?: (e: FakeExecutor) => LocalExecutor) => {
      const nc = await connectNats({ servers: server!.url });
      conns.push(nc);
      const fake = createFakeExecutor({ services: { svc: { serviceTimeMs: 600 } }, hosted: ['svc'], tag });
      const offloader = createNatsOffloader({ connection: nc, selfId: id, executor: wrap ? wrap(fake) : fake, subjectPrefix: prefix });
      offloaders.push(offloader);
      return { nc, offloader };
    };
    const a = await member('a', 1);
    const b = await member('b', 2, (e) => ({ ...e, submit: (...args) => ((taken += 1), onTaken?.(), e.submit(...args)) }));
    await b.offloader.serve(['svc']);
    const outcomes = Promise.all(
      [0, 1, 2, 3].map((v) => {
        const deadline = Date.now() + 4000;
        return a.offloader.forward('svc', input(v), { deadline }).then(
          (out) => ({ v, value: (out['x']!.data as Float32Array)[0], lateMs: Date.now() - deadline }),
          (err: unknown) => ({ v, code: isEparaError(err) ? err.code : `untyped: ${String(err)}`, lateMs: Date.now() - deadline }),
        );
      }),
    );
    await new Promise<void>((resolve) => (onTaken = () => taken >= 4 && resolve()));
    const back = Promise.all([reconnected(a.nc), reconnected(b.nc)]);
    await server.restart({ keepStore: true });
    for (const o of await outcomes) {
      if ('code' in o) expect(TYPED).toContain(o.code);
      else expect(o.value).toBe(2 * o.v);
      expect(o.lateMs).toBeLessThan(SETTLE_BOUND_MS);
    }
    await back;
    // The member's queue subscription is back on the broker once its flush has gone round.
    await b.nc.flush();
    const out = await a.offloader.forward('svc', input(5), { deadline: Date.now() + 5000 });
    expect((out['x']!.data as Float32Array)[0]).toBe(10);
  }, 120_000); // a hang guard only: the restart waits for the clients' reconnect

  it('a broker down for longer than a fixed number of reconnect attempts: the clients keep trying, and serve again once it is back', async () => {
    server = await startNatsServer();
    const prefix = uniqueName('f');
    // A short wait between attempts: a dozen of them take well under a second instead of half a minute.
    const a = await connectNats({ servers: server.url, reconnectWaitMs: 20 });
    const b = await connectNats({ servers: server.url, reconnectWaitMs: 20 });
    conns.push(a, b);
    const sender = createNatsOffloader({ connection: a, selfId: 'a', executor: createFakeExecutor({ services: {} }), subjectPrefix: prefix });
    const member = createNatsOffloader({ connection: b, selfId: 'b', executor: createFakeExecutor({ services: { svc: { serviceTimeMs: 2 } }, hosted: ['svc'], tag: 2 }), subjectPrefix: prefix });
    offloaders.push(sender, member);
    await member.serve(['svc']);
    /** Resolves after `count` failed attempts to reach the broker (or once the connection closed for good). */
    const attempts = async (nc: NatsConnection, count: number): Promise<void> => {
      let n = 0;
      for await (const s of nc.status()) if (s.type === 'reconnecting' && ++n >= count) return;
    };
    const tried = Promise.all([attempts(a, 15), attempts(b, 15)]);
    await server.crash();
    await Promise.race([tried, a.closed(), b.closed()]);
    expect([a.isClosed(), b.isClosed()]).toEqual([false, false]);
    const back = Promise.race([Promise.all([reconnected(a), reconnected(b)]).then(() => 'both reconnected'), a.closed().then(() => 'a closed'), b.closed().then(() => 'b closed')]);
    await server.revive();
    expect(await back).toBe('both reconnected');
    await b.flush();
    const out = await sender.forward('svc', input(4), { deadline: Date.now() + 5000 });
    expect((out['x']!.data as Float32Array)[0]).toBe(8);
  }, 120_000); // a hang guard only

  it('a member that stops reading (a slow consumer the broker cuts): forwards settle once, right or typed, and it serves again after', async () => {
    // Small buffers, so a stopped reader is found slow within a few MB and a second instead of 64 MB and 10 s.
    const dir = mkdtempSync(join(tmpdir(), 'epara-nats-conf-'));
    const conf = join(dir, 'slow.conf');
    writeFileSync(conf, 'max_payload: 1048576\nmax_pending: 2097152\nwrite_deadline: "1s"\n');
    server = await startNatsServer(['-c', conf]);
    const prefix = uniqueName('f');
    const b = startMember({ url: server.url, prefix, id: 'b', tag: 2, serviceTimeMs: 5 });
    await b.printed('"ready"');
    const a = await connectNats({ servers: server.url });
    const c = await connectNats({ servers: server.url });
    const flooder = await connectNats({ servers: server.url });
    conns.push(a, c, flooder);
    const opts = { subjectPrefix: prefix, acceptTimeoutMs: 500, deadAfterMs: 500 };
    const sender = createNatsOffloader({ connection: a, selfId: 'a', executor: createFakeExecutor({ services: {} }), ...opts });
    const other = createNatsOffloader({ connection: c, selfId: 'c', executor: createFakeExecutor({ services: { svc: { serviceTimeMs: 5 } }, hosted: ['svc'], tag: 3 }), ...opts });
    offloaders.push(sender, other);
    await other.serve(['svc']);

    b.child.kill('SIGSTOP');
    // 24 MB for a subscription of b's: more than the socket buffers and the broker's pending limit for it.
    const junk = new Uint8Array(1024 * 1024);
    for (let i = 0; i < 24; i++) flooder.publish(`${prefix}.flood`, junk);
    await flooder.flush();
    const outcomes = await Promise.all(
      [0, 1, 2, 3, 4, 5, 6, 7].map((v) => {
        const deadline = Date.now() + 3000;
        return sender.forward('svc', input(v), { deadline }).then(
          (out) => ({ v, value: (out['x']!.data as Float32Array)[0], tag: (out['server']!.data as Int32Array)[0], lateMs: Date.now() - deadline }),
          (err: unknown) => ({ v, code: isEparaError(err) ? err.code : `untyped: ${String(err)}`, lateMs: Date.now() - deadline }),
        );
      }),
    );
    for (const o of outcomes) {
      if ('code' in o) expect(TYPED).toContain(o.code);
      else expect([o.value, o.tag]).toEqual([2 * o.v, 3]);
      expect(o.lateMs).toBeLessThan(SETTLE_BOUND_MS);
    }

    // b resumes: the broker cut it meanwhile, it reconnects and serves again (c steps aside to show it).
    b.child.kill('SIGCONT');
    await b.printed('"reconnected"');
    other.unserve(['svc']);
    await c.flush();
    const out = await sender.forward('svc', input(9), { deadline: Date.now() + 5000 });
    expect([(out['x']!.data as Float32Array)[0], (out['server']!.data as Int32Array)[0]]).toEqual([18, 2]);
  }, 120_000); // a hang guard only

  it('serve while the broker is down fails typed at once instead of waiting for it, and the member serves once it is back', async () => {
    server = await startNatsServer();
    const prefix = uniqueName('f');
    const a = await connectNats({ servers: server.url, reconnectWaitMs: 20 });
    const b = await connectNats({ servers: server.url, reconnectWaitMs: 20 });
    const c = await connectNats({ servers: server.url, reconnectWaitMs: 20 });
    conns.push(a, b, c);
    const sender = createNatsOffloader({ connection: a, selfId: 'a', executor: createFakeExecutor({ services: {} }), subjectPrefix: prefix });
    const member = createNatsOffloader({ connection: b, selfId: 'b', executor: createFakeExecutor({ services: { svc: { serviceTimeMs: 2 } }, hosted: ['svc'], tag: 2 }), subjectPrefix: prefix });
    offloaders.push(sender, member);
    // A node whose offloader is on c, hosting `other`: it starts while the broker is down.
    const node = createNode({
      id: 'n',
      transport: createMemoryTransport({ hub: createMemoryHub(), address: 'n' }),
      executor: createFakeExecutor({ services: { other: { serviceTimeMs: 2 } }, hosted: ['other'], tag: 3 }),
      security: { insecure: true },
      placement: false,
      syncPeriodMs: 50,
      offloader: (ctx) => createNatsOffloader({ ...ctx, connection: c, subjectPrefix: prefix }),
    });
    nodes.push(node);

    const down = Promise.all([disconnected(a), disconnected(b), disconnected(c)]);
    await server.crash();
    await down;
    // Before, both waited for the broker's return (a flush): the member's serve, and the node's start with it.
    const refused = await member.serve(['svc']).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isEparaError(refused) && [refused.code, refused.details['cause']]).toEqual(['PEER_UNAVAILABLE', 'DISCONNECTED']);
    await node.start();

    const back = Promise.all([reconnected(a), reconnected(b), reconnected(c)]);
    await server.revive();
    await back;
    // The subscriptions of the failed serve went to the broker with the reconnect: the member serves without
    // being asked again (a flush has gone round after them).
    await Promise.all([b.flush(), c.flush()]);
    const out = await sender.forward('svc', input(4), { deadline: Date.now() + 5000 });
    expect([(out['x']!.data as Float32Array)[0], (out['server']!.data as Int32Array)[0]]).toEqual([8, 2]);
    const other = await sender.forward('other', input(5), { deadline: Date.now() + 5000 });
    expect([(other['x']!.data as Float32Array)[0], (other['server']!.data as Int32Array)[0]]).toEqual([10, 3]);
  }, 120_000); // a hang guard only

  it('serve while the broker hangs (its clients still connected) fails typed within serveTimeoutMs, and serves once it answers', async () => {
    server = await startNatsServer();
    const prefix = uniqueName('f');
    const a = await connectNats({ servers: server.url });
    const b = await connectNats({ servers: server.url });
    const c = await connectNats({ servers: server.url });
    conns.push(a, b, c);
    const sender = createNatsOffloader({ connection: a, selfId: 'a', executor: createFakeExecutor({ services: {} }), subjectPrefix: prefix });
    const member = createNatsOffloader({ connection: b, selfId: 'b', executor: createFakeExecutor({ services: { svc: { serviceTimeMs: 2 } }, hosted: ['svc'], tag: 2 }), subjectPrefix: prefix, serveTimeoutMs: 300 });
    offloaders.push(sender, member);
    const node = createNode({
      id: 'n',
      transport: createMemoryTransport({ hub: createMemoryHub(), address: 'n' }),
      executor: createFakeExecutor({ services: { other: { serviceTimeMs: 2 } }, hosted: ['other'], tag: 3 }),
      security: { insecure: true },
      placement: false,
      syncPeriodMs: 50,
      offloader: (ctx) => createNatsOffloader({ ...ctx, connection: c, subjectPrefix: prefix, serveTimeoutMs: 300 }),
    });
    nodes.push(node);

    await server.pause();
    // Before, both waited for the broker's answer (a flush), which a hung broker never gives: the client finds it
    // stale only after its ping interval (minutes).
    const refused = await member.serve(['svc']).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isEparaError(refused) && [refused.code, refused.details['cause']]).toEqual(['PEER_UNAVAILABLE', 'TIMEOUT']);
    await node.start();

    server.resume();
    await member.serve(['svc']);
    await c.flush();
    const out = await sender.forward('svc', input(4), { deadline: Date.now() + 5000 });
    expect([(out['x']!.data as Float32Array)[0], (out['server']!.data as Int32Array)[0]]).toEqual([8, 2]);
    const other = await sender.forward('other', input(5), { deadline: Date.now() + 5000 });
    expect([(other['x']!.data as Float32Array)[0], (other['server']!.data as Int32Array)[0]]).toEqual([10, 3]);
  }, 120_000); // a hang guard only

  it('a broker that hangs under nodes on NATS (transport, KV view, queue groups): a submit settles typed and the nodes close', async () => {
    server = await startNatsServer();
    const bucket = uniqueName('view');
    const prefix = uniqueName('f');
    const member = async (i: number): Promise<MeshNode> => {
      const nc = await connectNats({ servers: server!.url });
      conns.push(nc);
      const node = createNode({
        id: `n${i}`,
        transport: createNatsTransport({ connection: nc, name: `n${i}`, subjectPrefix: prefix }),
        executor: createFakeExecutor({ services: { svc: { serviceTimeMs: 2 } }, hosted: i === 1 ? ['svc'] : [], tag: i }),
        security: { insecure: true },
        placement: false,
        syncPeriodMs: 100,
        viewSync: (ctx) => createNatsViewSync({ ...ctx, connection: nc, bucket, periodMs: 100, deadAfterMs: 500 }),
        offloader: (ctx) => createNatsOffloader({ ...ctx, connection: nc, subjectPrefix: prefix }),
      });
      nodes.push(node);
      await node.start();
      return node;
    };
    const n0 = await member(0);
    await member(1);
    const served = await n0.submit('svc', input(1), { deadline: Date.now() + 5000 });
    expect((served['x']!.data as Float32Array)[0]).toBe(2);

    await server.pause();
    const deadline = Date.now() + 1000;
    const outcome = await n0.submit('svc', input(2), { deadline }).then(
      (out) => `value ${(out['x']!.data as Float32Array)[0]}`,
      (err: unknown) => (isEparaError(err) ? err.code : `untyped: ${String(err)}`),
    );
    expect(TYPED).toContain(outcome);
    expect(Date.now() - deadline).toBeLessThan(SETTLE_BOUND_MS);
    // Both close while the broker hangs (view writes, goodbyes and queue-group answers cannot land).
    await Promise.all(nodes.splice(0).map((n) => n.close()));
    server.resume();
  }, 120_000); // a hang guard only
});
