import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectNats, createNatsTransport } from '@epara/mesh-nats';
import type { Connection, Transport } from '@epara/mesh';
import { closedOf, codeOf, collectFrames, nextAccepted } from '@epara/mesh/testing';
import { skipNats, startNatsServer, useNatsServer } from './nats-server.js';
import type { TestNatsServer } from './nats-server.js';

const skip = skipNats();

describe.skipIf(skip)('NATS transport: failures and credentials', () => {
  let shared: TestNatsServer;
  let withUser: TestNatsServer;
  let withToken: TestNatsServer;
  const open: Transport[] = [];
  const track = (t: Transport): Transport => (open.push(t), t);
  beforeAll(async () => {
    [shared, withUser, withToken] = await Promise.all([
      useNatsServer(),
      startNatsServer(['--user', 'edge', '--pass', 'right-pass']),
      startNatsServer(['--auth', 'tok3n']),
    ]);
  });
  afterAll(async () => {
    await Promise.all(open.map((t) => t.close()));
    await Promise.all([shared?.stop(), withUser?.stop(), withToken?.stop()]);
  });

  /** A link whose acceptor has its own broker connection (`ncA`), proven to carry a frame. */
  async function linkedWithOwnConnection(marker: number) {
    const ncA = await connectNats({ servers: shared.url });
    const a = track(createNatsTransport({ connection: ncA, keepaliveIntervalMs: 50, deadPeerTimeoutMs: 400 }));
    const b = track(createNatsTransport({ servers: shared.url, keepaliveIntervalMs: 50, deadPeerTimeoutMs: 400 }));
    const { address } = await a.listen();
    const accepted = nextAccepted(a);
    const conn = await b.connect(address);
    const inbound = await accepted;
    const echoed = collectFrames(conn, 1);
    inbound.send(new Uint8Array([marker]));
    expect([...(await echoed)[0]!]).toEqual([marker]);
    return { ncA, conn, inbound };
  }

  it('closes a link with PEER_UNAVAILABLE when the peer process vanishes without a goodbye', async () => {
    const { ncA, conn, inbound } = await linkedWithOwnConnection(7);
    const closed = closedOf(conn);
    await ncA.close(); // the acceptor's broker link dies: its subscriptions vanish, no CLOSE is ever sent
    const event = await closed;
    expect(event?.initiatedLocally).toBe(false);
    expect(event?.error?.code).toBe('PEER_UNAVAILABLE');
    expect(inbound.isClosed).toBe(true); // the side that lost NATS fails its links too
  });

  it('still finds a vanished peer after the wall clock stepped an hour back (the keepalive runs on a monotonic clock)', async () => {
    const { ncA, conn } = await linkedWithOwnConnection(9);
    const real = Date.now.bind(Date);
    // The link last heard its peer "in the future": with wall-clock ages it would not probe for an hour.
    const spy = vi.spyOn(Date, 'now').mockImplementation(() => real() - 3_600_000);
    try {
      const closed = closedOf(conn);
      await ncA.close();
      expect((await closed)?.error?.code).toBe('PEER_UNAVAILABLE');
    } finally {
      spy.mockRestore();
    }
  });

  it('closes a link with PEER_UNAVAILABLE on a sequence gap (a lost message), telling the peer why', async () => {
    const a = track(createNatsTransport({ servers: shared.url }));
    const { address } = await a.listen();
    const raw = await connectNats({ servers: shared.url });
    try {
      const closeSeen = new Promise<Uint8Array>((resolve) => raw.subscribe('raw.dialer', { callback: (_e, m) => resolve(new Uint8Array(m.data)) }));
      const accepted = nextAccepted(a);
      const hello = await raw.request(address, new TextEncoder().encode(JSON.stringify({ v: 1, subject: 'raw.dialer' })), { timeout: 2000 });
      const { subject } = JSON.parse(new TextDecoder().decode(hello.data)) as { subject: string };
      const inbound = await accepted;
      const got = collectFrames(inbound, 1);
      const data = (seq: number, byte: number): Uint8Array => {
        const m = new Uint8Array(13);
        m[0] = 1; // DATA
        new DataView(m.buffer).setUint32(4, seq, true);
        new DataView(m.buffer).setUint32(8, 1, true);
        m[12] = byte;
        return m;
      };
      raw.publish(subject, data(1, 42));
      expect([...(await got)[0]!]).toEqual([42]);
      const closed = closedOf(inbound);
      raw.publish(subject, data(3, 43)); // #2 never arrived
      expect((await closed)?.error?.code).toBe('PEER_UNAVAILABLE');
      const notice = await closeSeen;
      expect([notice[0], notice[1]]).toEqual([2, 2]); // CLOSE with the PEER_UNAVAILABLE code
    } finally {
      await raw.close();
    }
  });

  it('answers a malformed hello with a refusal and an errored event, and keeps listening', async () => {
    const a = track(createNatsTransport({ servers: shared.url }));
    const b = track(createNatsTransport({ servers: shared.url }));
    const { address } = await a.listen();
    const errored = new Promise<string>((resolve) => a.once('errored', ({ error }) => resolve(error.code)));
    const raw = await connectNats({ servers: shared.url });
    try {
      const answer = await raw.request(address, new Uint8Array([0xff, 0x00]), { timeout: 2000 });
      expect(JSON.parse(new TextDecoder().decode(answer.data))).toEqual({ ok: false, reason: 'bad hello' });
      expect(await errored).toBe('PROTOCOL_ERROR');
      const conn = await b.connect(address);
      expect(conn.isClosed).toBe(false);
    } finally {
      await raw.close();
    }
  });

  it('fails every link with PEER_UNAVAILABLE when the broker goes away (messages could be lost meanwhile)', async () => {
    const own = await startNatsServer();
    try {
      const a = track(createNatsTransport({ servers: own.url }));
      const b = track(createNatsTransport({ servers: own.url }));
      const { address } = await a.listen();
      const accepted = nextAccepted(a);
      const conn = await b.connect(address);
      const inbound = await accepted;
      const closed = Promise.all([closedOf(conn), closedOf(inbound)]);
      await own.stop();
      const events = await closed;
      expect(events.map((e) => e?.error?.code)).toEqual(['PEER_UNAVAILABLE', 'PEER_UNAVAILABLE']);
      expect(() => conn.send(new Uint8Array(1))).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    } finally {
      await own.stop();
    }
  });

  it('connects with user/password and with a token; frames flow', async () => {
    for (const [url, auth] of [
      [withUser.url, { user: 'edge', pass: 'right-pass' }],
      [withToken.url, { token: 'tok3n' }],
    ] as const) {
      const a = track(createNatsTransport({ servers: url, auth }));
      const b = track(createNatsTransport({ servers: url, auth }));
      const { address } = await a.listen();
      const accepted = nextAccepted(a);
      const conn = await b.connect(address);
      const inbound = await accepted;
      const got = collectFrames(inbound, 1);
      conn.send(new Uint8Array([1, 2]));
      expect([...(await got)[0]!]).toEqual([1, 2]);
    }
  });

  it('rejects wrong or missing credentials with UNAUTHENTICATED', async () => {
    expect(await codeOf(() => track(createNatsTransport({ servers: withUser.url, auth: { user: 'edge', pass: 'wrong' } })).listen())).toBe('UNAUTHENTICATED');
    expect(await codeOf(() => track(createNatsTransport({ servers: withToken.url, auth: { token: 'nope' } })).connect('epara.peer.x'))).toBe('UNAUTHENTICATED');
    expect(await codeOf(() => connectNats({ servers: withToken.url }))).toBe('UNAUTHENTICATED');
  });

  it('validates options with INVALID_OPTIONS naming the field', async () => {
    expect(() => createNatsTransport({})).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'servers' }) }));
    expect(() => createNatsTransport({ servers: shared.url, name: 'a.b' })).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'name' }) }));
    expect(() => createNatsTransport({ servers: shared.url, keepaliveIntervalMs: 10, deadPeerTimeoutMs: 5 })).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ field: 'deadPeerTimeoutMs' }) }),
    );
    expect(await codeOf(() => connectNats({ servers: 'nats://127.0.0.1:1', timeoutMs: 500 }))).toBe('PEER_UNAVAILABLE');
  });

  it('carries a 5 MB frame in chunks under the broker max_payload', async () => {
    const a = track(createNatsTransport({ servers: shared.url }));
    const b = track(createNatsTransport({ servers: shared.url }));
    const { address } = await a.listen();
    const accepted = nextAccepted(a);
    const conn = await b.connect(address);
    const inbound = await accepted;
    const big = new Uint8Array(5 * 1024 * 1024).map((_, i) => (i * 31) & 0xff);
    const got = collectFrames(inbound, 1);
    conn.send(big);
    const [frame] = await got;
    expect(frame!.byteLength).toBe(big.byteLength);
    expect(Buffer.from(frame!).equals(Buffer.from(big))).toBe(true);
  });

  it('bounds links mid-handshake: a hello past maxUnauthenticatedLinks is refused, and a slot frees when a link authenticates or closes', async () => {
    const a = track(createNatsTransport({ servers: shared.url, maxUnauthenticatedLinks: 2 }));
    const b = track(createNatsTransport({ servers: shared.url }));
    const { address } = await a.listen();
    // The acceptor's host starts a handshake on every link at once, as the node's secure layer does.
    const accepted: Connection[] = [];
    a.on('connectionAccepted', ({ connection }) => (connection.beginAuthentication?.(), accepted.push(connection)));
    const refused: string[] = [];
    a.on('errored', ({ error }) => refused.push(error.code));
    await b.connect(address);
    await b.connect(address);
    const third = await b.connect(address).catch((e: unknown) => e);
    expect(third).toMatchObject({ code: 'PEER_UNAVAILABLE', message: expect.stringContaining('busy') });
    expect(refused).toEqual(['RATE_LIMITED']);
    accepted[0]!.markAuthenticated?.();
    await b.connect(address);
    accepted[1]!.close('gave up');
    await b.connect(address);
    expect(accepted).toHaveLength(4);
  });

  it('closes a link that sends more than preAuthMaxBytes, or announces a larger frame, before it authenticates', async () => {
    const a = track(createNatsTransport({ servers: shared.url, preAuthMaxBytes: 1024 }));
    const b = track(createNatsTransport({ servers: shared.url }));
    const { address } = await a.listen();
    a.on('connectionAccepted', ({ connection }) => connection.beginAuthentication?.());
    for (const size of [2048, 5 * 1024 * 1024]) {
      const accepted = nextAccepted(a);
      const conn = await b.connect(address);
      const inbound = await accepted;
      const [dialer, acceptor] = [closedOf(conn), closedOf(inbound)];
      conn.send(new Uint8Array(size));
      expect((await acceptor)?.error?.code).toBe('PROTOCOL_ERROR');
      expect((await dialer)?.error?.code).toBe('PROTOCOL_ERROR');
    }
    // Authenticated, the same link carries what it likes.
    const accepted = nextAccepted(a);
    const conn = await b.connect(address);
    const inbound = await accepted;
    inbound.markAuthenticated?.();
    const got = collectFrames(inbound, 1);
    conn.send(new Uint8Array(4096));
    expect((await got)[0]!.byteLength).toBe(4096);
  });

  it('two processes listening under one name (a server restarted under its name while its old process is stopped, then resumed): the one the dialer did not link to cannot break or feed its link', async () => {
    const prefix = `twin${Date.now().toString(36)}`;
    const [ncOld, ncNew, ncDialer] = await Promise.all([connectNats({ servers: shared.url }), connectNats({ servers: shared.url }), connectNats({ servers: shared.url })]);
    try {
      const runs = [ncOld, ncNew].map((nc) => track(createNatsTransport({ connection: nc, name: 'twin', subjectPrefix: prefix, keepaliveIntervalMs: 60_000, deadPeerTimeoutMs: 120_000 })));
      const { address } = await runs[0]!.listen();
      await runs[1]!.listen();
      const b = track(createNatsTransport({ connection: ncDialer, subjectPrefix: prefix, keepaliveIntervalMs: 60_000, deadPeerTimeoutMs: 120_000 }));
      // Both hear the hello; the dialer links to whichever answers first, and the other makes a link of its own
      // toward the dialer's receive subject (as a resumed process does with the hellos it finds waiting).
      const accepted = runs.map((t) => nextAccepted(t));
      const conn = await b.connect(address);
      const inbound = await Promise.all(accepted);
      const frames: number[] = [];
      conn.on('frameReceived', ({ frame }) => void frames.push(frame[0]!));
      let closedWith: string | undefined;
      conn.once('closed', (e) => void (closedWith = e.error?.code ?? 'closed'));
      // Which one is linked: the one a frame from the dialer reaches.
      const reached = inbound.map((c) => collectFrames(c, 1).then(() => c));
      conn.send(new Uint8Array([9]));
      const linked = await Promise.race(reached);
      const other = inbound.find((c) => c !== linked)!;
      // The other one sends first (its first frame, #1, as the linked one's was), then closes its link.
      other.send(new Uint8Array([66]));
      other.close('done');
      linked.send(new Uint8Array([1]));
      await Promise.all([ncOld.flush(), ncNew.flush()]);
      await ncDialer.flush();
      // Before, the other's frame #1 came as a repeat of the linked one's (a sequence gap: the link closed
      // PEER_UNAVAILABLE), or was taken as the linked one's data, and its CLOSE closed the dialer's link.
      expect(closedWith).toBeUndefined();
      expect(frames).toEqual([1]);
      const more = collectFrames(linked, 1);
      conn.send(new Uint8Array([2]));
      expect([...(await more)[0]!]).toEqual([2]);
    } finally {
      await Promise.all([ncOld, ncNew, ncDialer].map((nc) => nc.close()));
    }
  });
});
