import { createServer } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebSocketTransport } from '@epara/mesh';
import { runTransportContract } from '@epara/mesh/testing';
import { codeOf, collectFrames, nextAccepted } from '@epara/mesh/testing';
import { deadPort, testTls } from './helpers.js';

runTransportContract('websocket', {
  createServer: (o) => createWebSocketTransport({ ...o }),
  createClient: (o) => createWebSocketTransport({ ...o }),
  deadAddress: async () => `ws://127.0.0.1:${await deadPort()}/epara`,
});

runTransportContract('websocket with masked frames (maskFrames: true)', {
  createServer: (o) => createWebSocketTransport({ ...o }),
  createClient: (o) => createWebSocketTransport({ ...o, maskFrames: true }),
  deadAddress: async () => `ws://127.0.0.1:${await deadPort()}/epara`,
});

runTransportContract('websocket over TLS (wss)', {
  createServer: (o) => createWebSocketTransport({ ...o, tls: testTls }),
  createClient: (o) => createWebSocketTransport({ ...o, tls: { ca: testTls.ca } }),
  deadAddress: async () => `wss://127.0.0.1:${await deadPort()}/epara`,
});

describe('websocket transport attached to a host HTTP server', () => {
  const host = createServer((_req, res) => res.end('host says hi'));
  beforeAll(() => new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve)));
  afterAll(() => new Promise<void>((resolve) => host.close(() => resolve())));

  it('accepts mesh links on its path while the host keeps serving HTTP', async () => {
    const server = createWebSocketTransport({ server: host, path: '/mesh' });
    const { address } = await server.listen();
    const { port } = host.address() as { port: number };
    expect(address).toBe(`ws://127.0.0.1:${port}/mesh`);
    const accepted = nextAccepted(server);
    const client = createWebSocketTransport();
    const conn = await client.connect(address);
    const inbound = await accepted;
    const got = collectFrames(inbound, 1);
    conn.send(new Uint8Array([4, 2]));
    expect([...((await got)[0] as Uint8Array)]).toEqual([4, 2]);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('host says hi');
    await server.close();
    expect(conn.isClosed || (await new Promise((r) => conn.once('closed', r)), true)).toBe(true);
    expect(host.listening).toBe(true);
    await client.close();
  });
});

describe('websocket transport TLS and options', () => {
  it('refuses a wss server whose certificate the dialer does not trust', async () => {
    const server = createWebSocketTransport({ tls: testTls });
    const { address } = await server.listen();
    expect(address.startsWith('wss://127.0.0.1:')).toBe(true);
    const client = createWebSocketTransport();
    expect(await codeOf(() => client.connect(address))).toBe('PEER_UNAVAILABLE');
    await Promise.all([server.close(), client.close()]);
  });

  it('enforces mutual TLS when the server requests client certificates', async () => {
    const server = createWebSocketTransport({ tls: { ...testTls, requestCert: true } });
    const { address } = await server.listen();
    const anonymous = createWebSocketTransport({ tls: { ca: testTls.ca } });
    expect(await codeOf(() => anonymous.connect(address))).toBe('PEER_UNAVAILABLE');
    const withCert = createWebSocketTransport({ tls: testTls });
    const conn = await withCert.connect(address);
    expect(conn.isClosed).toBe(false);
    await Promise.all([server.close(), anonymous.close(), withCert.close()]);
  });

  it('rejects bad options and addresses with INVALID_OPTIONS', async () => {
    expect(await codeOf(() => createWebSocketTransport({ port: 70_000 }))).toBe('INVALID_OPTIONS');
    expect(await codeOf(() => createWebSocketTransport({ keepaliveIntervalMs: 10, deadPeerTimeoutMs: 5 }))).toBe('INVALID_OPTIONS');
    expect(await codeOf(() => createWebSocketTransport({ tls: { key: testTls.key } }))).toBe('INVALID_OPTIONS');
    expect(await codeOf(() => createWebSocketTransport({ maskFrames: 'yes' as unknown as boolean }))).toBe('INVALID_OPTIONS');
    expect(await codeOf(() => createWebSocketTransport().connect('http://127.0.0.1:1/'))).toBe('INVALID_OPTIONS');
  });

  it('drops a silent peer after the dead-peer timeout', async () => {
    const server = createWebSocketTransport({ keepaliveIntervalMs: 20, deadPeerTimeoutMs: 60 });
    const { address } = await server.listen();
    const accepted = nextAccepted(server);
    // A raw TCP client that completes the upgrade and then never answers a ping stands in for a hung peer.
    const url = new URL(address);
    const raw = connect(Number(url.port), '127.0.0.1');
    raw.on('error', () => undefined);
    raw.write(
      `GET ${url.pathname} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    const inbound = await accepted;
    const closed = await new Promise<{ error?: { code: string } }>((r) => inbound.once('closed', r));
    expect(closed.error?.code).toBe('PEER_UNAVAILABLE');
    raw.destroy();
    await server.close();
  });
});

describe('websocket transport background errors', () => {
  it('reports a bad upgrade request as errored and keeps serving', async () => {
    const server = createWebSocketTransport();
    const { address } = await server.listen();
    const errored = new Promise<{ error: { code: string } }>((resolve) => server.once('errored', resolve));
    const url = new URL(address);
    const raw = connect(Number(url.port), '127.0.0.1');
    raw.on('error', () => undefined);
    // An upgrade without a Sec-WebSocket-Key is not a valid handshake.
    raw.write(`GET ${url.pathname} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    expect((await errored).error.code).toBe('PROTOCOL_ERROR');
    raw.destroy();
    const client = createWebSocketTransport();
    const conn = await client.connect(address);
    expect(conn.isClosed).toBe(false);
    await Promise.all([client.close(), server.close()]);
  });
});
