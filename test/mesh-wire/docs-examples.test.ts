// The snippets of docs/mesh-transports.md, run as written (keep the two in sync).
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createMemoryHub, createMemoryTransport, createWebSocketTransport, secureConnection } from '@epara/mesh';
import { createPeerChannel } from '@epara/mesh/wire';
import type { DecodedMessage } from '@epara/mesh/wire';
import { collectFrames } from '@epara/mesh/testing';
import { testTls } from './helpers.js';

describe('docs/mesh-transports.md snippets', () => {
  it('§2 in-memory echo', async () => {
    const hub = createMemoryHub(); // one simulated network
    const server = createMemoryTransport({ hub, address: 'edge-1' });
    server.on('connectionAccepted', ({ connection }) =>
      connection.on('frameReceived', ({ frame }) => connection.send(frame))); // echo
    await server.listen();
    const conn = await createMemoryTransport({ hub }).connect('edge-1');
    const echoed = collectFrames(conn, 1);
    conn.send(new Uint8Array([1, 2, 3]));
    expect(Array.from((await echoed)[0] as Uint8Array)).toEqual([1, 2, 3]);
    await server.close();
  });

  it('§2 attach to the host HTTP server', async () => {
    const host = createServer((_req, res) => res.end('host says hi'));
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    const mesh = createWebSocketTransport({ server: host, path: '/mesh' });
    const { address } = await mesh.listen(); // ws://127.0.0.1:<host port>/mesh
    expect(address).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/mesh$/);
    await mesh.close();
    await new Promise<void>((resolve) => host.close(() => resolve()));
  });

  it('§2 TLS', async () => {
    const { key, cert } = testTls;
    const server = createWebSocketTransport({ tls: { key, cert } });
    const { address } = await server.listen(); // wss://127.0.0.1:<port>/epara
    const client = createWebSocketTransport({ tls: { ca: cert } });
    const conn = await client.connect(address);
    expect([address.startsWith('wss://'), conn.isClosed]).toEqual([true, false]);
    await Promise.all([client.close(), server.close()]);
  });

  it('§5 authenticate, then talk over a peer channel', async () => {
    const psk = 'a-32-byte-random-key-for-docs!!!';
    const transport = createWebSocketTransport();
    const { address } = await transport.listen();
    transport.on('connectionAccepted', ({ connection }) => {
      secureConnection(connection, { psk, selfId: 'edge-1', role: 'server' }).then(({ peerId, connection: secure }) => {
        const channel = createPeerChannel(secure, { peerId });
        channel.on('messageReceived', (m) => { if (m.type === 'ping') channel.send({ type: 'pong', requestId: m.requestId }); });
      }, () => { /* refused: UNAUTHENTICATED, already disconnected */ });
    });
    const raw = await createWebSocketTransport().connect(address);
    const { peerId, connection } = await secureConnection(raw, { psk, selfId: 'edge-2', role: 'client' });
    const channel = createPeerChannel(connection, { peerId });
    const reply = new Promise<DecodedMessage>((resolve) => channel.once('messageReceived', resolve));
    channel.send({ type: 'ping', requestId: 11 });
    expect([(await reply).type, peerId]).toEqual(['pong', 'edge-1']);
    channel.close();
    await transport.close();
  });
});
