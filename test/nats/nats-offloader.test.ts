import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFakeExecutor } from '@epara/mesh';
import { connectNats, createNatsOffloader } from '@epara/mesh-nats';
import type { FakeExecutor } from '@epara/mesh';
import type { NatsOffloader } from '@epara/mesh-nats';
import { createManualClock, EparaError } from '@epara/core';
import type { LocalExecutor, NamedTensors } from '@epara/core';
import { codeOf } from '@epara/mesh/testing';
import { decodeFrame, encodeFrame } from '@epara/mesh/wire';
import { skipNats, uniqueName, useNatsServer } from './nats-server.js';
import type { TestNatsServer } from './nats-server.js';

const skip = skipNats();
type NatsConnection = Awaited<ReturnType<typeof connectNats>>;

const inputs: NamedTensors = { x: { type: 'float32', dims: [3], data: new Float32Array([1, 2, 3]) } };
const tagOf = (out: NamedTensors): number => (out['server']!.data as Int32Array)[0]!;

describe.skipIf(skip)('NATS queue-group offloading', () => {
  let server: TestNatsServer;
  const conns: NatsConnection[] = [];
  const offloaders: NatsOffloader[] = [];
  beforeAll(async () => {
    server = await useNatsServer();
  });
  afterEach(async () => {
    offloaders.splice(0).forEach((o) => o.close());
    await Promise.all(conns.splice(0).map((c) => (c.isClosed() ? undefined : c.close())));
  });
  afterAll(() => server?.stop());

  /** One server: its own NATS connection, a fake executor (tag = its number) and an offloader. */
  const node = async (prefix: string, selfId: string, tag: number, serviceTimeMs = 2, wrap?: (e: FakeExecutor) => LocalExecutor, patienceMs = 250) => {
    const nc = await connectNats({ servers: server.url });
    conns.push(nc);
    const fake = createFakeExecutor({ services: { svc: { serviceTimeMs } }, hosted: ['svc'], tag });
    const executor = wrap ? wrap(fake) : fake;
    const offloader = createNatsOffloader({ connection: nc, selfId, executor, subjectPrefix: prefix, progressIntervalMs: 50, deadAfterMs: patienceMs, acceptTimeoutMs: patienceMs });
    offloaders.push(offloader);
    return { nc, fake, offloader };
  };

  it('forwards to a queue-group member and returns its typed result', async () => {
    const prefix = uniqueName('t');
    // Patience well past what a loaded machine takes to accept: a retry here (the member was only slow to say it
    // took the request) would run it twice, and this case counts executions.
    const [a, b, c] = await Promise.all([node(prefix, 'a', 1, 2, undefined, 1500), node(prefix, 'b', 2, 2, undefined, 1500), node(prefix, 'c', 3, 2, undefined, 1500)]);
    await b.offloader.serve(['svc']);
    await c.offloader.serve(['svc']);
    const seen = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const out = await a.offloader.forward('svc', inputs, { deadline: Date.now() + 2000 });
      expect([...(out['x']!.data as Float32Array)]).toEqual([2, 4, 6]);
      seen.add(tagOf(out));
    }
    expect([...seen].every((t) => t === 2 || t === 3)).toBe(true);
    expect(b.fake.stats().executed + c.fake.stats().executed).toBe(12);
    expect(a.fake.stats().executed).toBe(0);
  });

  it('serves a service whose id is not subject-safe', async () => {
    const prefix = uniqueName('t');
    const mk = async (selfId: string, tag: number) => {
      const nc = await connectNats({ servers: server.url });
      conns.push(nc);
      const executor = createFakeExecutor({ services: { 'ocr/det v2': { serviceTimeMs: 1 } }, hosted: ['ocr/det v2'], tag });
      const offloader = createNatsOffloader({ connection: nc, selfId, executor, subjectPrefix: prefix });
      offloaders.push(offloader);
      return { nc, offloader };
    };
    const [a, b] = await Promise.all([mk('a', 1), mk('b', 2)]);
    await b.offloader.serve(['ocr/det v2']);
    expect(tagOf(await a.offloader.forward('ocr/det v2', inputs, { deadline: Date.now() + 2000 }))).toBe(2);
  });

  it('on a NATS connection closed for good, forward and serve reject typed (CLOSED), never with a client error', async () => {
    const a = await node(uniqueName('t'), 'a', 1);
    await a.nc.close();
    expect(await codeOf(() => a.offloader.forward('svc', inputs, { deadline: Date.now() + 1000 }))).toBe('CLOSED');
    expect(await codeOf(() => a.offloader.serve(['svc']))).toBe('CLOSED');
  });

  it('rejects with NO_INSTANCE when no server serves the service, and HOP_LIMIT when out of hops', async () => {
    const a = await node(uniqueName('t'), 'a', 1);
    expect(await codeOf(() => a.offloader.forward('svc', inputs, { deadline: Date.now() + 1000 }))).toBe('NO_INSTANCE');
    expect(await codeOf(() => a.offloader.forward('svc', inputs, { deadline: Date.now() + 1000, hops: 2 }))).toBe('HOP_LIMIT');
  });

  it('a member never serves a request that visited it, nor one it cannot finish in time: it declines', async () => {
    const prefix = uniqueName('t');
    // b takes 5 s a request; the sender's patience (3 s) and the budgets (2.5 s) leave a decline all the time it
    // needs to come back on a loaded machine, where a 100 ms budget ran out before the answer did.
    const [a, b] = await Promise.all([node(prefix, 'a', 1, 2, undefined, 3000), node(prefix, 'b', 2, 5000)]);
    await b.offloader.serve(['svc']);
    expect(await codeOf(() => a.offloader.forward('svc', inputs, { deadline: Date.now() + 2500, visited: ['b'] }))).toBe('OVERLOADED');
    expect(await codeOf(() => a.offloader.forward('svc', inputs, { deadline: Date.now() + 2500 }))).toBe('OVERLOADED');
    expect(b.fake.stats().executed).toBe(0);
    expect(b.offloader.stats().declined).toBe(4); // each forward spends both hops on b: visited twice, then too slow twice
    expect(a.offloader.stats()).toMatchObject({ retried: 2, retriedUnanswered: 0 }); // a decline ran nothing
  });

  it('a member that dies mid-request loses nothing: the request is retried on another member', async () => {
    const prefix = uniqueName('t');
    let taken!: () => void;
    const takenP = new Promise<void>((r) => (taken = r));
    const wrap = (e: FakeExecutor): LocalExecutor => ({ ...e, submit: (...args) => (taken(), e.submit(...args)) });
    const [a, b, c] = await Promise.all([node(prefix, 'a', 1), node(prefix, 'b', 2, 5000, wrap), node(prefix, 'c', 3)]);
    await b.offloader.serve(['svc']);
    const result = a.offloader.forward('svc', inputs, { deadline: Date.now() + 10_000 });
    await takenP;
    await c.offloader.serve(['svc']);
    await b.nc.close(); // b dies with the request: no progress, no answer
    expect(tagOf(await result)).toBe(3);
    expect(a.offloader.stats()).toMatchObject({ retried: 1, retriedUnanswered: 1 });
  });

  it('when the only member dies and nobody else serves, the request is rejected with a code (never hangs)', async () => {
    const prefix = uniqueName('t');
    let taken!: () => void;
    const takenP = new Promise<void>((r) => (taken = r));
    const wrap = (e: FakeExecutor): LocalExecutor => ({ ...e, submit: (...args) => (taken(), e.submit(...args)) });
    const [a, b] = await Promise.all([node(prefix, 'a', 1), node(prefix, 'b', 2, 5000, wrap)]);
    await b.offloader.serve(['svc']);
    const result = codeOf(() => a.offloader.forward('svc', inputs, { deadline: Date.now() + 10_000 }));
    await takenP;
    await b.nc.close();
    expect(await result).toBe('NO_INSTANCE');
  });

  it('a retry due after the deadline settles DEADLINE_EXCEEDED, not the last member\'s OVERLOADED', async () => {
    const prefix = uniqueName('t');
    // The sender's clock is manual: the member's refusal moves it past the deadline, so the retry is due late.
    const clock = createManualClock(Date.now());
    const nc = await connectNats({ servers: server.url });
    conns.push(nc);
    const a = createNatsOffloader({ connection: nc, selfId: 'a', executor: createFakeExecutor({ services: { svc: { serviceTimeMs: 2 } } }), subjectPrefix: prefix, clock, hopLimit: 1, acceptTimeoutMs: 5000, deadAfterMs: 5000 });
    offloaders.push(a);
    const refuse = (e: FakeExecutor): LocalExecutor => ({
      ...e,
      submit: () => {
        clock.advance(2000);
        return Promise.reject(new EparaError('OVERLOADED', 'queue full'));
      },
    });
    const b = await node(prefix, 'b', 2, 2, refuse);
    await b.offloader.serve(['svc']);
    const err = await a.forward('svc', inputs, { deadline: clock.now() + 1000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DEADLINE_EXCEEDED', details: { after: 'OVERLOADED' } });
  });

  it('a member that is alive but never finishes cannot hold a request past its deadline', async () => {
    const prefix = uniqueName('t');
    // Patience (accept timeout, silence before a member counts as dead) well past the deadline: on a loaded
    // machine a late progress report must not end the request as PEER_UNAVAILABLE before its deadline does.
    const [a, b] = await Promise.all([node(prefix, 'a', 1, 2, undefined, 5000), node(prefix, 'b', 2, 2, undefined, 5000)]);
    b.fake.freeze(); // still answers estimates and reports progress, never completes
    await b.offloader.serve(['svc']);
    // A budget the member accepts even on a loaded machine (a 150 ms one was declined as infeasible at load 25).
    expect(await codeOf(() => a.offloader.forward('svc', inputs, { deadline: Date.now() + 1000 }))).toBe('DEADLINE_EXCEEDED');
  });

  it('an attempt that got no answer in time is cancelled before the retry: the member slow to say it took it aborts it, one result', async () => {
    const prefix = uniqueName('t');
    // The sender's patience is long (on a loaded machine it must not retry before b serves); b is the member the
    // retry reaches.
    const [a, b] = await Promise.all([node(prefix, 'a', 1, 2, undefined, 3000), node(prefix, 'b', 2)]);
    // A member that takes the request and is slow to say so (as on a slow link or a stalled event loop): its
    // first progress report would come after a minute. It leaves the queue group once it holds the request.
    const nc = await connectNats({ servers: server.url });
    conns.push(nc);
    let taken!: () => void;
    const takenP = new Promise<void>((r) => (taken = r));
    let aborted!: () => void;
    const abortedP = new Promise<void>((r) => (aborted = r));
    const fake = createFakeExecutor({ services: { svc: { serviceTimeMs: 5000 } }, hosted: ['svc'], tag: 3 });
    const executor: LocalExecutor = {
      ...fake,
      submit: (id, x, opts) => (taken(), opts?.signal?.addEventListener('abort', () => aborted(), { once: true }), fake.submit(id, x, opts)),
    };
    const slow = createNatsOffloader({ connection: nc, selfId: 's', executor, subjectPrefix: prefix, progressIntervalMs: 60_000, acceptTimeoutMs: 60_001, deadAfterMs: 60_001 });
    offloaders.push(slow);
    await slow.serve(['svc']);
    const result = a.offloader.forward('svc', inputs, { deadline: Date.now() + 20_000 });
    await takenP;
    slow.unserve(['svc']);
    await b.offloader.serve(['svc']);
    expect(tagOf(await result)).toBe(2);
    // The sender cancelled the unanswered attempt before retrying it: the slow member aborts its copy instead of
    // running it to the end beside b's.
    await abortedP;
    // It is still counted as a retry that may have run twice: the member could have finished before the cancel.
    expect(a.offloader.stats()).toMatchObject({ forwarded: 2, retried: 1, retriedUnanswered: 1 });
    expect(b.fake.stats().executed).toBe(1);
  });

  it('propagates an abort to the serving member', async () => {
    const prefix = uniqueName('t');
    let taken!: () => void;
    const takenP = new Promise<void>((r) => (taken = r));
    let aborted!: () => void;
    const abortedP = new Promise<void>((r) => (aborted = r));
    const wrap = (e: FakeExecutor): LocalExecutor => ({
      ...e,
      submit: (id, x, opts) => (taken(), opts?.signal?.addEventListener('abort', () => aborted(), { once: true }), e.submit(id, x, opts)),
    });
    const [a, b] = await Promise.all([node(prefix, 'a', 1), node(prefix, 'b', 2, 5000, wrap)]);
    await b.offloader.serve(['svc']);
    const ac = new AbortController();
    const result = codeOf(() => a.offloader.forward('svc', inputs, { deadline: Date.now() + 10_000, signal: ac.signal }));
    await takenP;
    ac.abort();
    expect(await result).toBe('ABORTED');
    await abortedP; // the serving side saw the cancel
  });

  it('a member that closes (its node drains or shuts down) answers the requests it runs CLOSED, and they are retried at once', async () => {
    const prefix = uniqueName('t');
    let taken!: () => void;
    const takenP = new Promise<void>((r) => (taken = r));
    const wrap = (e: FakeExecutor): LocalExecutor => ({ ...e, submit: (...args) => (taken(), e.submit(...args)) });
    // Patience far beyond the test: only an answer can end b's attempt.
    const [a, b, c] = await Promise.all([node(prefix, 'a', 1, 2, undefined, 20_000), node(prefix, 'b', 2, 5000, wrap, 20_000), node(prefix, 'c', 3, 2, undefined, 20_000)]);
    await b.offloader.serve(['svc']);
    const result = a.offloader.forward('svc', inputs, { deadline: Date.now() + 30_000 });
    await takenP;
    await c.offloader.serve(['svc']);
    // Before, b aborted what it ran without a word: a waited out its patience (deadAfterMs) before retrying, and
    // counted the retry as one that may have run twice.
    b.offloader.close();
    expect(tagOf(await result)).toBe(3);
    expect(a.offloader.stats()).toMatchObject({ retried: 1, retriedUnanswered: 0 });
  }, 60_000);

  it('a request delivered twice on one reply subject runs once and is answered once, and a copy after the answer is not run again', async () => {
    const prefix = uniqueName('t');
    // b takes 300 ms a request: the copy arrives while the first runs.
    const b = await node(prefix, 'b', 2, 300);
    await b.offloader.serve(['svc']);
    const nc = await connectNats({ servers: server.url });
    conns.push(nc);
    const answers = new Map<string, number[]>();
    const done = new Map<string, () => void>();
    const inbox = `${uniqueName('r')}`;
    nc.subscribe(`${inbox}.*`, {
      callback: (_e, msg) => {
        if (msg.headers?.get('Epara-Kind') !== 'done') return;
        const m = decodeFrame(new Uint8Array(msg.data));
        answers.set(msg.subject, [...(answers.get(msg.subject) ?? []), m.type === 'result' ? (m.outputs['x']!.data as Float32Array)[0]! : -1]);
        done.get(msg.subject)?.();
      },
    });
    await nc.flush();
    const submit = (v: number): Uint8Array =>
      encodeFrame({ type: 'submit', requestId: v, serviceId: 'svc', budgetMs: 20_000, hops: 1, maxHops: 2, visited: ['a'], priority: 0, inputs: { x: { type: 'float32', dims: [1], data: Float32Array.of(v) } } });
    const answered = (reply: string): Promise<void> => new Promise((r) => done.set(reply, r));
    const send = (reply: string, v: number): void => nc.publish(`${prefix}.svc.svc`, submit(v), { reply });

    // The same request twice on one subject, and another request a faulty sender gave that subject too.
    const first = answered(`${inbox}.1`);
    send(`${inbox}.1`, 1);
    send(`${inbox}.1`, 1);
    send(`${inbox}.1`, 5);
    await first;
    // A copy after the answer, then a request on a subject of its own: its answer comes after b read the copy
    // (one publisher's messages reach a subscriber in order).
    send(`${inbox}.1`, 1);
    const marker = answered(`${inbox}.2`);
    send(`${inbox}.2`, 7);
    await marker;
    // Before, the copies replaced the first in b's running set and each was answered on the subject: three runs,
    // and the sender took whichever answer came first (the answer to 5, for the request of 1, once in a while).
    expect(answers.get(`${inbox}.1`)).toEqual([2]);
    expect(answers.get(`${inbox}.2`)).toEqual([14]);
    expect(b.fake.stats().executed).toBe(2);
    expect(b.offloader.stats().served).toBe(2);
  });

  it('a cancel that reaches a member before its request: the request is not run there, and is answered ABORTED', async () => {
    // Cancels are broadcast on their own subject: a sender that heard nothing within acceptTimeoutMs cancels and
    // retries, and its cancel can reach a member before the request does (published on another subject, through
    // another route of a broker cluster, or the request held up on its way). Before, the member ran it to its end,
    // beside the retry.
    const prefix = uniqueName('t');
    const b = await node(prefix, 'b', 2, 5);
    await b.offloader.serve(['svc']);
    const nc = await connectNats({ servers: server.url });
    conns.push(nc);
    const answers = new Map<string, string>();
    const done = new Map<string, () => void>();
    const inbox = `${uniqueName('r')}`;
    nc.subscribe(`${inbox}.*`, {
      callback: (_e, msg) => {
        if (msg.headers?.get('Epara-Kind') !== 'done') return;
        const m = decodeFrame(new Uint8Array(msg.data));
        answers.set(msg.subject, m.type === 'result' ? `result ${(m.outputs['x']!.data as Float32Array)[0]!}` : m.type === 'error' ? m.error.code : m.type);
        done.get(msg.subject)?.();
      },
    });
    await nc.flush();
    const submit = (v: number): Uint8Array =>
      encodeFrame({ type: 'submit', requestId: v, serviceId: 'svc', budgetMs: 20_000, hops: 1, maxHops: 2, visited: ['a'], priority: 0, inputs: { x: { type: 'float32', dims: [1], data: Float32Array.of(v) } } });
    const answered = (reply: string): Promise<void> => new Promise((r) => done.set(reply, r));
    // The cancel of request 1 first (b has it once the flush has gone round: b's subscription is older than ours).
    nc.publish(`${prefix}.cancel`, new TextEncoder().encode(`${inbox}.1`));
    await nc.flush();
    const first = answered(`${inbox}.1`);
    nc.publish(`${prefix}.svc.svc`, submit(1), { reply: `${inbox}.1` });
    await first;
    // A request of its own afterwards runs as usual.
    const second = answered(`${inbox}.2`);
    nc.publish(`${prefix}.svc.svc`, submit(3), { reply: `${inbox}.2` });
    await second;
    expect(answers.get(`${inbox}.1`)).toBe('ABORTED');
    expect(answers.get(`${inbox}.2`)).toBe('result 6');
    expect(b.fake.stats().executed).toBe(1);
  });

  it('a member that drains answers the requests it runs, and new forwards go to the other members', async () => {
    const prefix = uniqueName('t');
    let taken!: () => void;
    const takenP = new Promise<void>((r) => (taken = r));
    const wrap = (e: FakeExecutor): LocalExecutor => ({ ...e, submit: (...args) => (taken(), e.submit(...args)) });
    // Patience far beyond the test: only an answer can end an attempt.
    const [a, b, c] = await Promise.all([node(prefix, 'a', 1, 2, undefined, 20_000), node(prefix, 'b', 2, 1000, wrap, 20_000), node(prefix, 'c', 3, 2, undefined, 20_000)]);
    await b.offloader.serve(['svc']);
    const running = a.offloader.forward('svc', inputs, { deadline: Date.now() + 30_000 });
    await takenP;
    await c.offloader.serve(['svc']);
    const drained = b.offloader.drain();
    // b left the queue group: what a sends now goes to c (or, sent before the broker saw b leave, is declined by b).
    const later = await Promise.all([1, 2, 3].map(() => a.offloader.forward('svc', inputs, { deadline: Date.now() + 30_000 })));
    expect(later.map(tagOf)).toEqual([3, 3, 3]);
    // The request b had taken is answered by b, not cut off and retried: before, a drain (close) answered it CLOSED.
    expect(tagOf(await running)).toBe(2);
    await drained;
    expect(b.fake.stats().executed).toBe(1);
    expect(a.offloader.stats()).toMatchObject({ retriedUnanswered: 0 });
  }, 60_000);
});
