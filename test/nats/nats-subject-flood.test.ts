import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeExecutor } from '@epara/mesh';
import { connectNats, createNatsOffloader } from '@epara/mesh-nats';
import type { NatsOffloader } from '@epara/mesh-nats';
import { isEparaError } from '@epara/core';
import type { NamedTensors } from '@epara/core';
import { decodeFrame, encodeFrame } from '@epara/mesh/wire';
import { skipNats, uniqueName, useNatsServer } from './nats-server.js';
import type { TestNatsServer } from './nats-server.js';

/*
 * A flood on the subjects of NATS queue-group offloading: a client that holds the broker's credentials publishes
 * thousands of submits to a served service's subject, garbage beside them, and cancels of requests that never
 * were, while a sender forwards real requests. The member answers every flooded request once (taken and done, or
 * declined) and every garbage one typed, keeps what it remembers bounded, and serves the real requests.
 */

const skip = skipNats();
type NatsConnection = Awaited<ReturnType<typeof connectNats>>;
const TYPED = ['DEADLINE_EXCEEDED', 'PEER_UNAVAILABLE', 'DEADLINE_INFEASIBLE', 'OVERLOADED', 'NO_INSTANCE', 'CLOSED'];
const input = (v: number): NamedTensors => ({ x: { type: 'float32', dims: [1], data: Float32Array.of(v) } });

describe.skipIf(skip)('a subject flood under NATS offloading', () => {
  let server: TestNatsServer;
  const conns: NatsConnection[] = [];
  const offloaders: NatsOffloader[] = [];
  beforeAll(async () => {
    server = await useNatsServer();
  });
  afterAll(async () => {
    offloaders.splice(0).forEach((o) => o.close());
    await Promise.all(conns.splice(0).map((c) => (c.isClosed() ? undefined : c.close())));
    await server?.stop();
  });

  it('every flooded request is answered once, garbage typed, and the real forwards are served', async () => {
    const prefix = uniqueName('flood');
    const [na, nb, flooder] = await Promise.all([0, 1, 2].map(() => connectNats({ servers: server.url })));
    conns.push(na!, nb!, flooder!);
    const opts = { subjectPrefix: prefix, progressIntervalMs: 200, acceptTimeoutMs: 2000, deadAfterMs: 2000 };
    const sender = createNatsOffloader({ connection: na!, selfId: 'a', executor: createFakeExecutor({ services: {} }), ...opts });
    const member = createNatsOffloader({ connection: nb!, selfId: 'b', executor: createFakeExecutor({ services: { svc: { serviceTimeMs: 5 } }, hosted: ['svc'], tag: 2 }), ...opts });
    offloaders.push(sender, member);
    await member.serve(['svc']);
    await nb!.flush();

    // The flooder's answers, by reply subject: the terminal one of each (`done` or `declined`; `progress` aside).
    const inbox = `${prefix}.flooder`;
    const answers = new Map<string, string[]>();
    flooder!.subscribe(`${inbox}.>`, {
      callback: (_e, msg) => {
        const kind = msg.headers?.get('Epara-Kind') ?? '?';
        if (kind === 'progress') return;
        const what = kind === 'done' ? ((m) => (m.type === 'result' ? 'ok' : m.type === 'error' ? m.error.code : m.type))(decodeFrame(new Uint8Array(msg.data))) : `${kind} ${msg.headers?.get('Epara-Code') ?? ''}`;
        answers.set(msg.subject, [...(answers.get(msg.subject) ?? []), what]);
      },
    });
    await flooder!.flush();
    // How many requests the member took in each turn of its event loop (its fake executor's estimate fits every
    // one it reads: the queue refuses past 64 only once taken).
    let ticking = true;
    const perTurn: number[] = [];
    const handled = (): number => member.stats().served;
    let last = handled();
    const tick = (): void => {
      perTurn.push(handled() - last);
      last = handled();
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const N = 2000;
    const subject = `${prefix}.svc.svc`;
    for (let i = 0; i < N; i++) {
      flooder!.publish(subject, encodeFrame({ type: 'submit', requestId: i + 1, serviceId: 'svc', budgetMs: 1500, hops: 0, maxHops: 2, visited: [], priority: 0, inputs: input(i) }), { reply: `${inbox}.r${i}` });
      if (i % 4 === 0) flooder!.publish(subject, Uint8Array.of(1, 2, 3, i & 0xff), { reply: `${inbox}.g${i}` });
      if (i % 2 === 0) flooder!.publish(`${prefix}.cancel`, new TextEncoder().encode(`${inbox}.never${i}`));
    }
    // The sender's real forwards, during the flood.
    const real = Promise.all(
      [1, 2, 3, 4, 5, 6, 7, 8].map((v) =>
        sender.forward('svc', input(v), { deadline: Date.now() + 10_000 }).then(
          (out) => ({ v, value: (out['x']!.data as Float32Array)[0] }),
          (err: unknown) => ({ v, code: isEparaError(err) ? err.code : `untyped: ${String(err)}` }),
        ),
      ),
    );
    await flooder!.flush();
    for (const o of await real) {
      if ('code' in o) expect(TYPED).toContain(o.code);
      else expect(o.value).toBe(2 * o.v);
    }
    // Every flooded submit and every garbage message is answered, once; the waits end on the answers themselves.
    const expected = N + N / 4;
    while (answers.size < expected) await new Promise<void>((resolve) => flooder!.flush().then(() => setImmediate(resolve)));
    ticking = false;
    for (const [reply, list] of answers) {
      expect(list).toHaveLength(1);
      // Garbage is refused typed: unreadable, or refused unread when too many wait.
      if (reply.includes('.g')) expect(['PROTOCOL_ERROR', 'declined OVERLOADED']).toContain(list[0]);
      else expect(['ok', 'declined OVERLOADED', ...TYPED]).toContain(list[0]);
    }
    // The flood was refused typed (unread past 1 024 waiting, or by the queue, which holds 64: how many of each
    // depends on how the broker's reads cut it), and read in slices (64 a turn, and what was left of the turn
    // before), never in one go.
    expect([...answers.values()].filter((l) => l[0]!.endsWith('OVERLOADED')).length).toBeGreaterThan(0);
    expect(Math.max(...perTurn)).toBeLessThanOrEqual(2 * 64 + 8);
    // The member serves real requests after the flood.
    const out = await sender.forward('svc', input(21), { deadline: Date.now() + 5000 });
    expect([(out['x']!.data as Float32Array)[0], (out['server']!.data as Int32Array)[0]]).toEqual([42, 2]);
  }, 60_000); // a hang guard only: every wait above is on an event
});
