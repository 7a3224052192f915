import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock, createSeededRandom, isEparaError } from '@epara/core';
import { createWebSocketTransport, secureConnection } from '@epara/mesh';
import { createPeerChannel, encodeFrame } from '@epara/mesh/wire';
import type { Connection, Transport } from '@epara/mesh';
import type { DecodedMessage, PeerChannel } from '@epara/mesh/wire';
import { messageArb } from '@epara/mesh/testing';
import { closedOf, codeOf, collectFrames } from '@epara/mesh/testing';
import { testTls } from './helpers.js';

const PSK = 'mesh-test-key-0123456789abcdef';

/** A node's accepting side: every connection must authenticate, then speaks ping/pong over a peer channel. */
function serveNode(transport: Transport, selfId: string) {
  const stats = { authenticated: 0, refused: 0, malformed: 0, messages: 0, channels: [] as PeerChannel[] };
  transport.on('connectionAccepted', ({ connection }) => {
    secureConnection(connection, { psk: PSK, selfId, role: 'server', timeoutMs: 2000 }).then(
      ({ peerId, connection: secure }) => {
        stats.authenticated++;
        const channel = createPeerChannel(secure, { peerId });
        stats.channels.push(channel);
        channel.on('malformedFrameReceived', () => stats.malformed++);
        channel.on('messageReceived', (m) => {
          stats.messages++;
          if (m.type === 'ping' && !channel.isClosed) channel.send({ type: 'pong', requestId: m.requestId });
        });
      },
      (err: unknown) => {
        expect(isEparaError(err)).toBe(true);
        stats.refused++;
      },
    );
  });
  return stats;
}

async function dial(address: string, tls?: { ca: string }, psk = PSK) {
  const client = createWebSocketTransport(tls === undefined ? {} : { tls });
  const raw = await client.connect(address);
  return { client, raw, link: secureConnection(raw, { psk, selfId: 'dialer', role: 'client' }) };
}

function pingPong(channel: PeerChannel, requestId: number): Promise<DecodedMessage> {
  return new Promise((resolve) => {
    channel.once('messageReceived', resolve);
    channel.send({ type: 'ping', requestId });
  });
}

describe.each([
  ['ws', undefined],
  ['wss', testTls],
] as const)('authenticated mesh links over %s on real sockets', (_name, tls) => {
  let server: Transport;
  let address: string;
  let stats: ReturnType<typeof serveNode>;
  beforeAll(async () => {
    server = createWebSocketTransport(tls === undefined ? {} : { tls });
    stats = serveNode(server, 'edge-1');
    ({ address } = await server.listen());
  });
  afterAll(() => server.close());

  it('lets a peer holding the key in, and refuses a wrong-key peer before any message', async () => {
    const good = await dial(address, tls && { ca: tls.ca });
    const { peerId, connection } = await good.link;
    expect(peerId).toBe('edge-1');
    const reply = await pingPong(createPeerChannel(connection, { peerId }), 5);
    expect([reply.type, reply.requestId]).toEqual(['pong', 5]);

    const before = stats.messages;
    const bad = await dial(address, tls && { ca: tls.ca }, 'not-the-mesh-key-0123456789');
    expect(await codeOf(() => bad.link)).toBe('UNAUTHENTICATED');
    await closedOf(bad.raw);
    // A wrong-key peer that sends a sync token anyway never gets it through.
    expect(await codeOf(() => bad.raw.send(encodeFrame({ type: 'ping', requestId: 1 })))).toBe('CLOSED');
    expect(stats.messages).toBe(before);
    expect(stats.refused).toBeGreaterThanOrEqual(1);
    await Promise.all([good.client.close(), bad.client.close()]);
  });

  it('survives randomly mutated frames from authenticated and unauthenticated peers', async () => {
    const random = createSeededRandom(2024);
    const frames = fc.sample(messageArb, { numRuns: 60, seed: 7 }).map((m) => {
      const f = encodeFrame(m).slice();
      const hits = 1 + Math.floor(random.next() * 4);
      for (let i = 0; i < hits; i++) f[Math.floor(random.next() * f.byteLength)] = Math.floor(random.next() * 256);
      return random.next() < 0.3 ? f.subarray(0, Math.floor(random.next() * f.byteLength)) : f;
    });
    const client = createWebSocketTransport(tls === undefined ? {} : { tls: { ca: tls.ca } });
    const links: Connection[] = [];
    for (const [i, frame] of frames.entries()) {
      const raw = await client.connect(address);
      if (i % 2 === 0) {
        raw.send(frame); // before authentication
      } else {
        const { connection } = await secureConnection(raw, { psk: PSK, selfId: `fuzzer-${i}`, role: 'client' });
        connection.send(frame);
        links.push(connection);
      }
      links.push(raw);
    }
    // Every authenticated link either got a reply frame or was closed; the node still serves a fresh peer.
    const fresh = await dial(address, tls && { ca: tls.ca });
    const { peerId, connection } = await fresh.link;
    const reply = await pingPong(createPeerChannel(connection, { peerId }), 99);
    expect(reply.type).toBe('pong');
    expect(stats.malformed + stats.refused).toBeGreaterThan(10);
    await Promise.all([client.close(), fresh.client.close()]);
  });

  it('closes an authenticated peer that sends a frame larger than the transport allows', async () => {
    const small = createWebSocketTransport({ maxFrameBytes: 2048, ...(tls === undefined ? {} : { tls }) });
    serveNode(small, 'edge-small');
    const { address: a } = await small.listen();
    const g = await dial(a, tls && { ca: tls.ca });
    const { connection } = await g.link;
    const closed = closedOf(connection);
    connection.send(new Uint8Array(4096));
    expect((await closed)?.error?.code).toBe('PROTOCOL_ERROR');
    await Promise.all([small.close(), g.client.close()]);
  });
});

describe('per-peer rate limit over a real socket', () => {
  it('disconnects a flooding peer with RATE_LIMITED and tells it why', async () => {
    const clock = createManualClock(0); // frozen: the bucket never refills, so the test does not depend on speed
    const server = createWebSocketTransport();
    const { address } = await server.listen();
    const serverSide = new Promise<{ error?: { code: string } } | undefined>((resolve) =>
      server.on('connectionAccepted', ({ connection }) => {
        void secureConnection(connection, { psk: PSK, selfId: 's', role: 'server', rateLimit: { framesPerSec: 20, clock } }).then(
          ({ connection: c }) => c.once('closed', resolve),
        );
      }),
    );
    const g = await dial(address);
    const { connection } = await g.link;
    const told = new Promise<DecodedMessage>((resolve) =>
      createPeerChannel(connection, { peerId: 's' }).once('messageReceived', resolve),
    );
    for (let i = 0; i < 30; i++) connection.send(encodeFrame({ type: 'ping', requestId: i }));
    expect((await serverSide)?.error?.code).toBe('RATE_LIMITED');
    const m = await told;
    expect(m.type === 'error' && m.error.code).toBe('RATE_LIMITED');
    await closedOf(connection);
    await Promise.all([server.close(), g.client.close()]);
  });
});

describe('frames after authentication arrive intact over wss', () => {
  it('carries a 2 MB tensor result byte-exact', async () => {
    const server = createWebSocketTransport({ tls: testTls });
    const { address } = await server.listen();
    server.on('connectionAccepted', ({ connection }) => {
      void secureConnection(connection, { psk: PSK, selfId: 's', role: 'server' }).then(({ connection: c }) =>
        c.on('frameReceived', ({ frame }) => c.send(frame)),
      );
    });
    const g = await dial(address, { ca: testTls.ca });
    const { connection } = await g.link;
    const data = new Float32Array(512 * 1024).map((_, i) => i * 0.5);
    const frame = encodeFrame({ type: 'result', requestId: 1, outputs: { y: { type: 'float32', dims: [512, 1024], data } } });
    const echoed = collectFrames(connection, 1);
    connection.send(frame);
    expect(Buffer.compare(Buffer.from((await echoed)[0] as Uint8Array), Buffer.from(frame))).toBe(0);
    await Promise.all([server.close(), g.client.close()]);
  });
});
