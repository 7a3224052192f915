import { afterEach, describe, expect, it } from 'vitest';
import type { Connection, Transport } from './transport.js';
import { closedOf, codeOf, collectFrames, echo, nextAccepted, patternBytes, sameBytes } from './transport-contract-helpers.js';

/** What a transport under test provides to {@link runTransportContract}. */
export interface TransportContractFactory {
  /** A fresh transport that will `listen()`; `maxFrameBytes` must be honoured when given. */
  createServer(options?: { maxFrameBytes?: number }): Transport | Promise<Transport>;
  /** A fresh transport that will dial the server (may be the same kind of object). */
  createClient(options?: { maxFrameBytes?: number }): Transport | Promise<Transport>;
  /** An address where nothing listens (e.g. a closed port). */
  deadAddress(): string | Promise<string>;
}

/**
 * The shared behaviour every {@link Transport} must have (Hono's shared router suite is the model). Call it
 * inside a vitest test file; the transports it creates are closed after each test.
 *
 * @example
 * ```ts
 * runTransportContract('memory', { createServer: () => createMemoryTransport({ hub }), createClient: () => createMemoryTransport({ hub }), deadAddress: () => 'nobody' });
 * ```
 */
export function runTransportContract(name: string, factory: TransportContractFactory): void {
  describe(`Transport contract: ${name}`, () => {
    const open: Transport[] = [];
    const make = async (kind: 'server' | 'client', options?: { maxFrameBytes?: number }): Promise<Transport> => {
      const t = await (kind === 'server' ? factory.createServer(options) : factory.createClient(options));
      open.push(t);
      return t;
    };
    const pair = async (options?: { maxFrameBytes?: number }): Promise<{ server: Transport; client: Transport; address: string }> => {
      const server = await make('server', options);
      const client = await make('client', options);
      const { address } = await server.listen();
      return { server, client, address };
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((t) => t.close()));
    });

    it('listens, reports its address and returns the same one when asked again', async () => {
      const server = await make('server');
      expect(server.address).toBeUndefined();
      const { address } = await server.listen();
      expect(typeof address).toBe('string');
      expect(server.address).toBe(address);
      expect((await server.listen()).address).toBe(address);
    });

    it('connects, accepts and reports directions', async () => {
      const { server, client, address } = await pair();
      const accepted = nextAccepted(server);
      const conn = await client.connect(address);
      const inbound = await accepted;
      expect(conn.direction).toBe('outbound');
      expect(inbound.direction).toBe('inbound');
      expect(conn.isClosed).toBe(false);
      expect(conn.id).not.toBe(inbound.id);
      expect(typeof inbound.remoteAddress).toBe('string');
      expect(conn.bufferedBytes).toBeGreaterThanOrEqual(0);
    });

    it('carries frames both ways byte-exact, including empty and 1 MB+ frames', async () => {
      const { server, client, address } = await pair();
      echo(server);
      const conn = await client.connect(address);
      const sizes = [0, 1, 7, 1000, 65_536, 1_500_000, 0];
      const frames = sizes.map((n, i) => patternBytes(n, i + 1));
      const received = collectFrames(conn, frames.length);
      for (const f of frames) conn.send(f);
      const got = await received;
      expect(got.map((f) => f.byteLength)).toEqual(sizes);
      got.forEach((f, i) => expect(sameBytes(f, frames[i] as Uint8Array)).toBe(true));
    });

    it('keeps frame order and boundaries under a burst', async () => {
      const { server, client, address } = await pair();
      const accepted = nextAccepted(server);
      const conn = await client.connect(address);
      const inbound = await accepted;
      const n = 2000;
      const received = collectFrames(inbound, n);
      for (let i = 0; i < n; i++) conn.send(new Uint8Array([i & 0xff, (i >> 8) & 0xff, i % 3]).subarray(0, 1 + (i % 3)));
      const got = await received;
      got.forEach((f, i) => {
        expect(f.byteLength).toBe(1 + (i % 3));
        expect(f[0]).toBe(i & 0xff);
      });
    });

    it('buffers frames that arrive before a listener is attached', async () => {
      const { server, client, address } = await pair();
      const accepted = nextAccepted(server);
      const conn = await client.connect(address);
      const inbound = await accepted;
      inbound.send(new Uint8Array([1]));
      inbound.send(new Uint8Array([2]));
      await new Promise((r) => setTimeout(r, 20)); // let the frames land with nobody listening
      const got = await collectFrames(conn, 2);
      expect(got.map((f) => f[0])).toEqual([1, 2]);
    });

    it('serves many concurrent connections independently', async () => {
      const { server, client, address } = await pair();
      echo(server);
      const conns = await Promise.all(Array.from({ length: 24 }, () => client.connect(address)));
      const results = await Promise.all(
        conns.map(async (c, i) => {
          const got = collectFrames(c, 3);
          for (let k = 0; k < 3; k++) c.send(patternBytes(100 + i, i * 10 + k));
          return got;
        }),
      );
      results.forEach((frames, i) => frames.forEach((f, k) => expect(sameBytes(f, patternBytes(100 + i, i * 10 + k))).toBe(true)));
      expect(new Set(conns.map((c) => c.id)).size).toBe(conns.length);
    });

    it('closes on both sides exactly once; send after close throws CLOSED', async () => {
      const { server, client, address } = await pair();
      const accepted = nextAccepted(server);
      const conn = await client.connect(address);
      const inbound = await accepted;
      let localCloses = 0;
      conn.on('closed', () => localCloses++);
      const remoteClosed = closedOf(inbound);
      const localClosed = closedOf(conn);
      conn.close('bye');
      conn.close('again');
      expect(conn.isClosed).toBe(true);
      expect((await localClosed)?.initiatedLocally).toBe(true);
      const remote = await remoteClosed;
      expect(remote?.initiatedLocally).toBe(false);
      expect(inbound.isClosed).toBe(true);
      expect(localCloses).toBe(1);
      expect(await codeOf(() => conn.send(new Uint8Array([1])))).toBe('CLOSED');
      expect(await codeOf(() => inbound.send(new Uint8Array([1])))).toBe('CLOSED');
    });

    it('closes the dialer when the accepting side closes', async () => {
      const { server, client, address } = await pair();
      const accepted = nextAccepted(server);
      const conn = await client.connect(address);
      const inbound = await accepted;
      const closed = closedOf(conn);
      inbound.close('go away');
      expect((await closed)?.initiatedLocally).toBe(false);
      expect(await codeOf(() => conn.send(new Uint8Array(0)))).toBe('CLOSED');
    });

    it('rejects a connect to a dead address with PEER_UNAVAILABLE', async () => {
      const client = await make('client');
      expect(await codeOf(async () => client.connect(await factory.deadAddress()))).toBe('PEER_UNAVAILABLE');
    });

    it('honours an abort signal on connect and leaves no open connection', async () => {
      const { server, client, address } = await pair();
      const accepted: Connection[] = [];
      server.on('connectionAccepted', ({ connection }) => accepted.push(connection));
      expect(await codeOf(() => client.connect(address, { signal: AbortSignal.abort() }))).toBe('ABORTED');
      const ac = new AbortController();
      const attempt = client.connect(address, { signal: ac.signal });
      ac.abort();
      expect(await codeOf(() => attempt)).toBe('ABORTED');
      // A later connection proves the server processed the aborted attempt; anything it accepted must close.
      echo(server);
      const probe = await client.connect(address);
      const pong = collectFrames(probe, 1);
      probe.send(new Uint8Array([9]));
      await pong;
      await Promise.all(accepted.slice(0, -1).map(closedOf));
      expect(accepted.slice(0, -1).every((c) => c.isClosed)).toBe(true);
    });

    it('refuses to send a frame above maxFrameBytes with PROTOCOL_ERROR, and closes on receiving one', async () => {
      const server = await make('server', { maxFrameBytes: 1024 });
      const client = await make('client', { maxFrameBytes: 4096 });
      const { address } = await server.listen();
      const accepted = nextAccepted(server);
      const conn = await client.connect(address);
      const inbound = await accepted;
      expect(await codeOf(() => inbound.send(new Uint8Array(1025)))).toBe('PROTOCOL_ERROR');
      expect(inbound.isClosed).toBe(false);
      const serverSide = closedOf(inbound);
      const clientSide = closedOf(conn);
      conn.send(new Uint8Array(2000));
      await Promise.all([serverSide, clientSide]);
      expect(inbound.isClosed && conn.isClosed).toBe(true);
    });

    it('close() settles a connect that is still in flight', async () => {
      const { client, address } = await pair();
      const attempt = client.connect(address);
      const closing = client.close();
      const code = await codeOf(() => attempt);
      await closing;
      // Either the dial lost the race (CLOSED / PEER_UNAVAILABLE) or it won and was closed with the transport.
      if (code === 'not thrown') expect((await attempt).isClosed).toBe(true);
      else expect(['CLOSED', 'PEER_UNAVAILABLE']).toContain(code);
    });

    it('close() is idempotent, closes every connection and refuses later use with CLOSED', async () => {
      const { server, client, address } = await pair();
      const inbound: Connection[] = [];
      const bothAccepted = new Promise<void>((resolve) =>
        server.on('connectionAccepted', ({ connection }) => inbound.push(connection) === 2 && resolve()),
      );
      const conns = await Promise.all([client.connect(address), client.connect(address)]);
      await bothAccepted; // a dial may resolve before the acceptor has seen it
      const remoteClosed = Promise.all(conns.map(closedOf));
      await Promise.all([server.close(), server.close()]);
      await server.close();
      await remoteClosed;
      expect(inbound.length).toBe(2);
      expect(inbound.every((c) => c.isClosed)).toBe(true);
      expect(await codeOf(() => server.listen())).toBe('CLOSED');
      expect(await codeOf(() => client.connect(address))).toBe('PEER_UNAVAILABLE');
      const other = await make('server');
      const { address: a2 } = await other.listen();
      const c2 = await client.connect(a2);
      await client.close();
      expect(c2.isClosed).toBe(true);
      expect(await codeOf(() => client.connect(a2))).toBe('CLOSED');
    });
  });
}
