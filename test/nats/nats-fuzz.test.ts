import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createFakeExecutor } from '@epara/mesh';
import { connectNats, createNatsOffloader, createNatsTransport } from '@epara/mesh-nats';
import type { NamedTensors } from '@epara/core';
import { closedOf, collectFrames, nextAccepted } from '@epara/mesh/testing';
import { skipNats, uniqueName, useNatsServer } from './nats-server.js';
import type { TestNatsServer } from './nats-server.js';

const skip = skipNats();
const bytes = fc.uint8Array({ minLength: 0, maxLength: 64 });
const inputs: NamedTensors = { x: { type: 'float32', dims: [2], data: new Float32Array([1, 2]) } };

describe.skipIf(skip)('NATS: hostile bytes never crash a transport or an offloader', () => {
  let server: TestNatsServer;
  beforeAll(async () => {
    server = await useNatsServer();
  });
  afterAll(() => server?.stop());

  it('random messages on a link subject close that link with a code; the transport keeps serving', async () => {
    const a = createNatsTransport({ servers: server.url });
    const b = createNatsTransport({ servers: server.url });
    const raw = await connectNats({ servers: server.url });
    try {
      const { address } = await a.listen();
      const samples = fc.sample(fc.array(bytes, { minLength: 1, maxLength: 8 }), { numRuns: 40, seed: 7 });
      for (const messages of samples) {
        const accepted = nextAccepted(a);
        const hello = await raw.request(address, new TextEncoder().encode(JSON.stringify({ v: 1, subject: uniqueName('raw.') })), { timeout: 2000 });
        const { subject } = JSON.parse(new TextDecoder().decode(hello.data)) as { subject: string };
        const inbound = await accepted;
        const frames: Uint8Array[] = [];
        inbound.on('frameReceived', ({ frame }) => frames.push(frame));
        for (const m of messages) raw.publish(subject, m);
        raw.publish(subject, new Uint8Array([7])); // kind 7 does not exist: the link must close at the latest here
        const event = await closedOf(inbound);
        // A random CLOSE (kind 2) is a legitimate clean close; anything else malformed is a typed failure.
        expect(['PROTOCOL_ERROR', 'PEER_UNAVAILABLE', 'clean close']).toContain(event?.error?.code ?? 'clean close');
        expect(inbound.isClosed).toBe(true);
      }
      // Random hellos too.
      for (const junk of fc.sample(bytes, { numRuns: 30, seed: 8 })) {
        const answer = await raw.request(address, junk, { timeout: 2000 });
        expect(JSON.parse(new TextDecoder().decode(answer.data))).toMatchObject({ ok: false });
      }
      const accepted = nextAccepted(a);
      const conn = await b.connect(address);
      const inbound = await accepted;
      const got = collectFrames(inbound, 1);
      conn.send(new Uint8Array([1, 2, 3]));
      expect([...(await got)[0]!]).toEqual([1, 2, 3]);
    } finally {
      await raw.close();
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('random requests on a service subject get a typed error answer; real requests still succeed', async () => {
    const prefix = uniqueName('f');
    const [ncA, ncB] = await Promise.all([connectNats({ servers: server.url }), connectNats({ servers: server.url })]);
    const executor = createFakeExecutor({ services: { svc: { serviceTimeMs: 1 } }, hosted: ['svc'], tag: 9 });
    const b = createNatsOffloader({ connection: ncB, selfId: 'b', executor, subjectPrefix: prefix });
    const a = createNatsOffloader({ connection: ncA, selfId: 'a', executor: createFakeExecutor({ services: {} }), subjectPrefix: prefix });
    try {
      await b.serve(['svc']);
      for (const junk of fc.sample(fc.uint8Array({ maxLength: 200 }), { numRuns: 50, seed: 9 })) {
        const answer = await ncA.request(`${prefix}.svc.svc`, junk, { timeout: 2000 });
        expect(answer.headers?.get('Epara-Kind')).toBe('done');
      }
      expect(executor.stats().executed).toBe(0); // no junk request ran
      const out = await a.forward('svc', inputs, { deadline: Date.now() + 2000 });
      expect((out['server']!.data as Int32Array)[0]).toBe(9);
      // At least once: on a loaded machine the first attempt's acceptance can miss acceptTimeoutMs (250 ms), and
      // the retry then runs the request a second time (forwards are at-least-once, docs/nats.md).
      expect(executor.stats().executed).toBeGreaterThanOrEqual(1);
    } finally {
      a.close();
      b.close();
      await Promise.all([ncA.close(), ncB.close()]);
    }
  });
});
