import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeExecutor, createNode, createWebSocketTransport, secureConnection } from '@epara/mesh';
import type { Connection, MeshNode, Transport } from '@epara/mesh';

const PSK = 'pre-auth-test-key-0123456789';
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

async function listening(options: Parameters<typeof createWebSocketTransport>[0] = {}): Promise<{ transport: Transport; address: string; accepted: Connection[]; frames: number[] }> {
  const transport = createWebSocketTransport(options);
  const accepted: Connection[] = [];
  const frames: number[] = [];
  transport.on('connectionAccepted', ({ connection }) => {
    // As a handshake does when it starts; it never finishes here.
    connection.beginAuthentication?.();
    accepted.push(connection);
    connection.on('frameReceived', ({ frame }) => frames.push(frame.byteLength));
  });
  const { address } = await transport.listen();
  cleanup.push(() => transport.close());
  return { transport, address, accepted, frames };
}

/** Dials without authenticating; resolves `open` or the error message (e.g. a 503 refusal). */
async function wsClient(address: string): Promise<{ conn: Connection | undefined; outcome: string }> {
  const client = createWebSocketTransport();
  cleanup.push(() => client.close());
  try {
    return { conn: await client.connect(address), outcome: 'open' };
  } catch (err) {
    return { conn: undefined, outcome: (err as Error).message };
  }
}

/** A raw TCP client that performs the WebSocket upgrade and then never reads or answers anything. */
async function silentUpgrade(address: string): Promise<Socket> {
  const url = new URL(address);
  const socket = connect(Number(url.port), url.hostname);
  cleanup.push(() => socket.destroy());
  await new Promise((r) => socket.once('connect', r));
  socket.write(
    `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await new Promise<void>((resolve) => socket.once('data', (d: Buffer) => (expect(d.toString()).toMatch(/^HTTP\/1.1 101/), resolve())));
  return socket;
}

describe('what an unauthenticated peer can make a node hold', () => {
  it('validates the limits', () => {
    const field = (f: () => unknown): unknown => {
      try {
        f();
      } catch (err) {
        return (err as { details?: { field?: string } }).details?.field;
      }
      return undefined;
    };
    expect(field(() => createWebSocketTransport({ preAuthMaxBytes: 100 }))).toBe('preAuthMaxBytes');
    expect(field(() => createWebSocketTransport({ maxUnauthenticatedLinks: 0 }))).toBe('maxUnauthenticatedLinks');
  });

  it('a large frame before the handshake is cut on the wire, never buffered whole', async () => {
    const server = await listening();
    const { conn, outcome } = await wsClient(server.address);
    expect(outcome).toBe('open');
    const closed = new Promise((r) => conn!.once('closed', r));
    conn!.send(new Uint8Array(4 << 20)); // 4 MiB, well under maxFrameBytes (16 MiB)
    await closed;
    // The transport cut the socket after the pre-auth allowance: the frame never reached anyone.
    expect(server.frames).toEqual([]);
    expect(server.accepted[0]!.isClosed).toBe(true);
  });

  it('the byte allowance ends with authentication: an authenticated peer may send large frames', async () => {
    const server = await listening();
    const got: number[] = [];
    let received!: () => void;
    const firstFrame = new Promise<void>((resolve) => (received = resolve));
    server.transport.on('connectionAccepted', ({ connection }) =>
      void secureConnection(connection, { psk: PSK, selfId: 'server', role: 'server' }).then((l) =>
        l.connection.on('frameReceived', ({ frame }) => (got.push(frame.byteLength), received())),
      ),
    );
    const client = createWebSocketTransport();
    cleanup.push(() => client.close());
    const { connection } = await secureConnection(await client.connect(server.address), { psk: PSK, selfId: 'client', role: 'client' });
    connection.send(new Uint8Array(1 << 20));
    await firstFrame;
    expect(got).toEqual([1 << 20]);
  });

  it('leaves a bare link alone when no handshake starts on it (its host reads it unauthenticated on purpose)', async () => {
    const transport = createWebSocketTransport({ maxUnauthenticatedLinks: 1 });
    cleanup.push(() => transport.close());
    const got: number[] = [];
    let received!: () => void;
    const firstFrame = new Promise<void>((resolve) => (received = resolve));
    transport.on('connectionAccepted', ({ connection }) => connection.on('frameReceived', ({ frame }) => (got.push(frame.byteLength), received())));
    const { address } = await transport.listen();
    const a = await wsClient(address);
    const b = await wsClient(address); // no slot is held by a bare link
    expect([a.outcome, b.outcome]).toEqual(['open', 'open']);
    a.conn!.send(new Uint8Array(1 << 20));
    await firstFrame;
    expect(got).toEqual([1 << 20]);
  });

  it('caps how many links may be mid-handshake at once, and frees a slot when one authenticates', async () => {
    const server = await listening({ maxUnauthenticatedLinks: 3 });
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) outcomes.push((await wsClient(server.address)).outcome);
    expect(outcomes.slice(0, 3)).toEqual(['open', 'open', 'open']);
    for (const o of outcomes.slice(3)) expect(o).toMatch(/503/);
    server.accepted[0]!.markAuthenticated?.();
    expect((await wsClient(server.address)).outcome).toBe('open');
  });

  it('closes a timed-out handshake at once, even when the peer never answers the close', async () => {
    const node: MeshNode = createNode({
      id: 'n0',
      transport: createWebSocketTransport(),
      executor: createFakeExecutor({ services: {} }),
      security: { psk: PSK, handshakeTimeoutMs: 200 },
      placement: false,
    });
    await node.start();
    cleanup.push(() => node.close());
    const socket = await silentUpgrade(node.address!);
    const t0 = Date.now();
    // `ws` alone would wait 30 s for the peer's close frame before letting the socket go.
    await new Promise((r) => socket.once('close', r));
    expect(Date.now() - t0).toBeLessThan(10_000);
  }, 20_000);
});
