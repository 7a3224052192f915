import { afterEach, describe, expect, it } from 'vitest';
import { createWebSocketTransport, secureConnection, type Connection } from '@epara/mesh';
import { decodeFrame, encodeFrame, encodeFrameParts, sendFrameParts, type WireMessage } from '@epara/mesh/wire';

/*
 * A frame with a large tensor goes out as pieces — the tensor a view of the caller's bytes (a forwarded request's:
 * the frame it arrived in) — which a WebSocket sends as the fragments of one message. The peer must receive each
 * frame whole, bit-equal to the copying encoder's, in the order sent, with frames sent whole in between.
 */

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const image = (seed: number) => {
  const data = new Float32Array(76_800);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37 + seed);
  return { x: { type: 'float32' as const, dims: [1, 3, 160, 160], data } };
};
const submit = (requestId: number, seed: number): WireMessage => ({ type: 'submit', requestId, serviceId: 'image', budgetMs: 300, hops: 1, maxHops: 2, visited: ['edge-0'], priority: 0, inputs: image(seed) });

/** Two linked WebSocket connections, optionally behind the PSK handshake; frames received at the server side. */
async function linked(secure: boolean): Promise<{ client: Connection; received: Uint8Array[]; next(n: number): Promise<void> }> {
  const server = createWebSocketTransport({ host: '127.0.0.1', port: 0 });
  const dialer = createWebSocketTransport();
  cleanup.push(() => dialer.close(), () => server.close());
  const psk = new Uint8Array(32).fill(7);
  const received: Uint8Array[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const got = (frame: Uint8Array): void => {
    received.push(frame);
    for (const w of [...waiters]) if (received.length >= w.n) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  };
  const accepted = new Promise<void>((resolve) => {
    server.on('connectionAccepted', ({ connection }) => {
      if (!secure) return (connection.on('frameReceived', ({ frame }) => got(frame)), resolve());
      void secureConnection(connection, { psk, selfId: 'b', role: 'server' }).then(({ connection: c }) => (c.on('frameReceived', ({ frame }) => got(frame)), resolve()));
    });
  });
  const { address } = await server.listen();
  const raw = await dialer.connect(address);
  const client = secure ? (await secureConnection(raw, { psk, selfId: 'a', role: 'client' })).connection : raw;
  await accepted;
  return { client, received, next: (n) => (received.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))) };
}

describe('frames sent as pieces over a WebSocket', () => {
  it.each([false, true])('arrive whole, bit-equal and in order, between frames sent whole (secure: %s)', async (secure) => {
    const { client, received, next } = await linked(secure);
    const messages: WireMessage[] = [submit(1, 1), { type: 'ping', requestId: 2 }, submit(3, 2), submit(4, 3), { type: 'result', requestId: 5, outputs: { y: image(4).x } }];
    for (const m of messages) {
      if (m.type === 'ping') client.send(encodeFrame(m));
      else sendFrameParts(client, encodeFrameParts(m));
    }
    await next(messages.length);
    expect(received.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength).equals(Buffer.from(encodeFrame(messages[received.indexOf(f)]!))))).toEqual(messages.map(() => true));
    expect(received.map((f) => decodeFrame(f).requestId)).toEqual([1, 2, 3, 4, 5]);
  });

  it('forwards a received tensor bit-equal: the bytes of the frame it came in go out again', async () => {
    const first = await linked(false);
    const second = await linked(false);
    sendFrameParts(first.client, encodeFrameParts(submit(1, 9)));
    await first.next(1);
    const m = decodeFrame(first.received[0]!);
    if (m.type !== 'submit') throw new Error(`got ${m.type}`);
    sendFrameParts(second.client, encodeFrameParts({ ...m, requestId: 2, hops: 2, visited: ['edge-0', 'edge-1'] }));
    await second.next(1);
    const out = decodeFrame(second.received[0]!);
    if (out.type !== 'submit') throw new Error(`got ${out.type}`);
    const raw = (d: unknown): Buffer => {
      const a = d as Float32Array;
      return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    };
    expect(raw(out.inputs['x']!.data).equals(raw(image(9).x.data))).toBe(true);
    expect(out).toMatchObject({ requestId: 2, hops: 2, visited: ['edge-0', 'edge-1'] });
  });
});
