import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Pipe, splitAddress, startDelayLink, type DelayLink } from './delay-link.js';

function echoServer(): Promise<{ server: Server; address: string }> {
  const server = createServer((s) => s.pipe(s));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, address: `127.0.0.1:${(server.address() as { port: number }).port}` })));
}

function roundTrip(socket: Socket, bytes: Buffer): Promise<{ ms: number; data: Buffer }> {
  const t0 = performance.now();
  const chunks: Buffer[] = [];
  let got = 0;
  return new Promise((resolve) => {
    const onData = (c: Buffer): void => {
      chunks.push(c);
      got += c.length;
      if (got >= bytes.length) {
        socket.off('data', onData);
        resolve({ ms: performance.now() - t0, data: Buffer.concat(chunks) });
      }
    };
    socket.on('data', onData);
    socket.write(bytes);
  });
}

describe('delaying TCP link', () => {
  const open: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const c of open.splice(0).reverse()) await c.close();
  });

  it('delays every byte by the one-way delay in each direction, paces by bandwidth, and keeps order', async () => {
    const { server, address } = await echoServer();
    open.push({ close: () => new Promise((r) => server.close(r)) });
    const link: DelayLink = await startDelayLink({ target: address, delayMs: 15, bytesPerMs: 1000 }); // 8 Mbit/s
    open.push(link);
    const [host, port] = splitAddress(link.address);
    const socket = connect({ host, port });
    open.push({ close: () => socket.destroy() });
    await new Promise((r) => socket.once('connect', r));
    const small = await roundTrip(socket, Buffer.from('ping'));
    expect(small.data.toString()).toBe('ping');
    expect(small.ms).toBeGreaterThanOrEqual(29); // two one-way delays (timers may fire up to 1 ms early in total)
    const payload = Buffer.from(Array.from({ length: 20_000 }, (_, i) => i % 251));
    const big = await roundTrip(socket, payload);
    expect(big.data.equals(payload)).toBe(true);
    expect(big.ms).toBeGreaterThanOrEqual(29 + 20); // 20 kB at 1000 bytes/ms is 20 ms on the wire at least once
    expect(link.bytes()).toBeGreaterThanOrEqual(2 * (4 + 20_000));
  });

  it('reads ws:// and host:port addresses', () => {
    expect(splitAddress('ws://127.0.0.1:4000/epara')).toEqual(['127.0.0.1', 4000]);
    expect(splitAddress('127.0.0.1:80')).toEqual(['127.0.0.1', 80]);
    expect(() => splitAddress('nowhere')).toThrow();
  });
});

describe('Pipe', () => {
  it('delivers chunks in the order they were pushed, even when pushed late in a long callback', async () => {
    const got: string[] = [];
    let ended = false;
    const sink = { destroyed: false, write: (c: Buffer) => got.push(c.toString()), end: () => (ended = true) };
    const pipe = new Pipe({ delayMs: 5, bytesPerMs: 10 }, sink);
    // A backlogged link (the first chunk takes 5 ms to serialize), and a callback that keeps pushing while the
    // loop's cached clock goes stale: with a timer per chunk, later chunks expired first.
    pipe.push(Buffer.alloc(50, 'a'));
    for (let i = 0; i < 40; i++) {
      pipe.push(Buffer.from(String(i % 10)));
      const until = performance.now() + 0.2;
      while (performance.now() < until) {
        /* spin */
      }
    }
    pipe.end();
    await new Promise((r) => setTimeout(r, 60));
    expect(got).toEqual(['a'.repeat(50), ...Array.from({ length: 40 }, (_, i) => String(i % 10))]);
    expect(ended).toBe(true);
    expect(pipe.carried).toBe(got.join('').length);
  });
});
