import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import { decodeFrame, encodeFrame } from '../protocol/frame-codec.js';
import { createMemoryHub } from '../transport/memory-hub.js';
import { createMemoryTransport } from '../transport/memory-transport.js';
import type { Connection, Transport } from '../transport/transport.js';
import { closedOf, codeOf, collectFrames, nextAccepted } from '../transport/transport-contract-helpers.js';
import { createRateLimiter } from './rate-limiter.js';
import { secureConnection } from './secure-connection.js';
import type { SecureConnectionOptions } from './secure-connection-options.js';

const PSK = 'k'.repeat(32);
const open: Transport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function rawPair(): Promise<{ client: Connection; server: Connection }> {
  const hub = createMemoryHub();
  const a = createMemoryTransport({ hub, address: 'server' });
  const b = createMemoryTransport({ hub, address: 'client' });
  open.push(a, b);
  await a.listen();
  const accepted = nextAccepted(a);
  const client = await b.connect('server');
  return { client, server: await accepted };
}

async function handshake(c: Partial<SecureConnectionOptions> = {}, s: Partial<SecureConnectionOptions> = {}) {
  const { client, server } = await rawPair();
  const results = await Promise.allSettled([
    secureConnection(client, { psk: PSK, selfId: 'edge-c', role: 'client', ...c }),
    secureConnection(server, { psk: PSK, selfId: 'edge-s', role: 'server', ...s }),
  ]);
  return { client, server, results };
}

const codeOfSettled = (r: PromiseSettledResult<unknown>): string =>
  r.status === 'fulfilled' ? 'fulfilled' : ((r.reason as { code?: string }).code ?? 'no code');

describe('secureConnection', () => {
  it('authenticates both sides, then carries frames including ones sent right after the handshake', async () => {
    const { results } = await handshake();
    const [c, s] = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
    expect([c?.peerId, s?.peerId]).toEqual(['edge-s', 'edge-c']);
    if (c === undefined || s === undefined) throw new Error('handshake failed');
    s.connection.send(new Uint8Array([7]));
    const got = collectFrames(c.connection, 1);
    expect(Array.from((await got)[0] as Uint8Array)).toEqual([7]);
    const back = collectFrames(s.connection, 1);
    c.connection.send(new Uint8Array([8, 9]));
    expect(Array.from((await back)[0] as Uint8Array)).toEqual([8, 9]);
  });

  it('refuses a peer with the wrong key on both sides and closes the link', async () => {
    const { client, server, results } = await handshake({ psk: 'x'.repeat(32) });
    expect(results.map(codeOfSettled)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']);
    await Promise.all([closedOf(client), closedOf(server)]);
    expect(client.isClosed && server.isClosed).toBe(true);
  });

  it('refuses a server that cannot prove the key even if it accepts anything', async () => {
    const { client, server } = await rawPair();
    server.on('frameReceived', ({ frame }) => {
      const m = decodeFrame(frame);
      if (m.type === 'hello') server.send(encodeFrame({ type: 'auth-challenge', peerId: 'evil', nonce: new Uint8Array(32) }));
      if (m.type === 'auth-response') server.send(encodeFrame({ type: 'auth-ok', proof: m.proof }));
    });
    expect(await codeOf(() => secureConnection(client, { psk: PSK, selfId: 'c', role: 'client' }))).toBe('UNAUTHENTICATED');
  });

  it('refuses any other message before authentication and never delivers it', async () => {
    const { client, server } = await rawPair();
    const pending = secureConnection(server, { psk: PSK, selfId: 's', role: 'server' });
    client.send(encodeFrame({ type: 'submit', serviceId: 'seg', budgetMs: 100, hops: 0, maxHops: 2, visited: [], priority: 0, inputs: {} }));
    const reply = collectFrames(client, 1);
    expect(await codeOf(() => pending)).toBe('UNAUTHENTICATED');
    const m = decodeFrame((await reply)[0] as Uint8Array);
    expect(m.type === 'error' && m.error.code).toBe('UNAUTHENTICATED');
    await closedOf(client);
  });

  it('refuses garbage, an oversized frame and a replayed proof', async () => {
    for (const frame of [new Uint8Array([1, 2, 3]), new Uint8Array(10_000)]) {
      const { client, server } = await rawPair();
      const pending = secureConnection(server, { psk: PSK, selfId: 's', role: 'server' });
      client.send(frame);
      expect(await codeOf(() => pending)).toBe('UNAUTHENTICATED');
    }
    // Record a genuine client's proof, then replay it against a new challenge.
    const first = await rawPair();
    const seen: Uint8Array[] = [];
    first.client.on('frameReceived', () => undefined);
    const origSend = first.client.send.bind(first.client);
    (first.client as { send: (f: Uint8Array) => void }).send = (f) => (seen.push(f), origSend(f));
    await Promise.all([
      secureConnection(first.client, { psk: PSK, selfId: 'c', role: 'client' }),
      secureConnection(first.server, { psk: PSK, selfId: 's', role: 'server' }),
    ]);
    const second = await rawPair();
    const pending = secureConnection(second.server, { psk: PSK, selfId: 's', role: 'server' });
    second.client.send(seen[0] as Uint8Array);
    await collectFrames(second.client, 1);
    second.client.send(seen[1] as Uint8Array);
    expect(await codeOf(() => pending)).toBe('UNAUTHENTICATED');
  });

  it('times out a silent peer, honours abort and checks the expected peer id', async () => {
    const silent = await rawPair();
    expect(await codeOf(() => secureConnection(silent.server, { psk: PSK, selfId: 's', role: 'server', timeoutMs: 30 }))).toBe('UNAUTHENTICATED');
    expect(silent.server.isClosed).toBe(true);
    const aborted = await rawPair();
    const ac = new AbortController();
    const p = secureConnection(aborted.server, { psk: PSK, selfId: 's', role: 'server', signal: ac.signal });
    ac.abort();
    expect(await codeOf(() => p)).toBe('ABORTED');
    const { results } = await handshake({ expectedPeerId: 'someone-else' });
    expect(codeOfSettled(results[0] as PromiseSettledResult<unknown>)).toBe('UNAUTHENTICATED');
    expect(await codeOf(async () => secureConnection((await rawPair()).client, { psk: 'short', selfId: 'c', role: 'client' }))).toBe('INVALID_OPTIONS');
  });

  it('closes a peer that exceeds its frame rate or size with RATE_LIMITED and tells it why', async () => {
    const clock = createManualClock(0);
    const { results } = await handshake({}, { rateLimit: { framesPerSec: 5, clock }, maxFrameBytes: 100 });
    const [c, s] = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
    if (c === undefined || s === undefined) throw new Error('handshake failed');
    const serverClosed = closedOf(s.connection);
    const reply: Uint8Array[] = [];
    c.connection.on('frameReceived', ({ frame }) => reply.push(frame));
    for (let i = 0; i < 6; i++) c.connection.send(new Uint8Array([i]));
    expect((await serverClosed)?.error?.code).toBe('RATE_LIMITED');
    await closedOf(c.connection);
    const told = reply.map((f) => decodeFrame(f)).find((m) => m.type === 'error');
    expect(told?.type === 'error' && told.error.code).toBe('RATE_LIMITED');

    const big = await handshake({}, { maxFrameBytes: 100 });
    const bs = big.results[1];
    if (bs?.status !== 'fulfilled') throw new Error('handshake failed');
    const closed = closedOf(bs.value.connection);
    (big.results[0] as PromiseFulfilledResult<{ connection: Connection }>).value.connection.send(new Uint8Array(101));
    expect((await closed)?.error?.code).toBe('RATE_LIMITED');
  });
});

describe('createRateLimiter', () => {
  it('allows a burst, refills at the sustained rate and limits bytes too', () => {
    const clock = createManualClock(0);
    const l = createRateLimiter({ framesPerSec: 10, bytesPerSec: 1000, burstFrames: 3, clock });
    expect([l.tryAccept(1), l.tryAccept(1), l.tryAccept(1), l.tryAccept(1)]).toEqual([true, true, true, false]);
    clock.advance(100);
    expect([l.tryAccept(1), l.tryAccept(1)]).toEqual([true, false]);
    clock.advance(1000);
    expect(l.tryAccept(990)).toBe(true);
    expect(l.tryAccept(20)).toBe(false);
    expect(() => createRateLimiter({ framesPerSec: 0 })).toThrow(/framesPerSec/);
  });
});
