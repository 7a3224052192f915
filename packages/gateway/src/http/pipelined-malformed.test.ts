import { connect } from 'node:net';
import type { ClusterView, NamedTensors } from '@epara/core';
import { afterEach, expect, it } from 'vitest';
import { createGateway } from '../gateway.js';
import type { Gateway } from '../gateway.js';

/*
 * HTTP/1.1 pipelining: a malformed request behind well-formed ones on the same connection. The ones before it
 * are answered, in order, and then the 400 for the malformed one, and the connection closes: the client's
 * earlier requests are not dropped because a later one could not be parsed.
 */

let gateway: Gateway | undefined;
afterEach(() => gateway?.close());

/** A node whose submits answer the input back once `release()` is called (each submit waits for it). */
function heldNode(): { node: Parameters<typeof createGateway>[0]['node']; submitted: (n: number) => Promise<void>; release: () => void } {
  let count = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  let released!: () => void;
  const gate = new Promise<void>((r) => (released = r));
  const node = {
    id: 'n1',
    view: () => ({ entries: {} }) as unknown as ClusterView,
    submit: async (_s: string, inputs: NamedTensors): Promise<NamedTensors> => {
      count++;
      for (const w of waiters) if (count >= w.n) w.resolve();
      await gate;
      return { y: inputs['x']! };
    },
  };
  const submitted = (n: number): Promise<void> => (count >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })));
  return { node, submitted, release: released };
}

const body = (id: string): string => JSON.stringify({ id, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] });
const post = (id: string): string => `POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body(id))}\r\n\r\n${body(id)}`;

/** Writes `bytes` on a new connection and resolves with everything read until the server closes it. */
async function exchange(port: number, bytes: string, whileOpen: () => Promise<void>): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  let got = '';
  socket.on('data', (b: Buffer) => (got += b.toString('latin1')));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  socket.write(bytes);
  await whileOpen();
  await closed;
  return got;
}

async function start(): Promise<{ port: number; held: ReturnType<typeof heldNode> }> {
  const held = heldNode();
  gateway = createGateway({ node: held.node, models: [{ name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] }], http: { port: 0 }, grpc: false });
  return { port: Number(new URL((await gateway.start()).http!).port), held };
}

const statuses = (raw: string): string[] => [...raw.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]!);

it('answers the requests before a malformed one, in order, then the 400, then closes', async () => {
  const { port, held } = await start();
  const got = await exchange(port, post('a') + post('b') + 'NOT HTTP AT ALL\r\n\r\n', async () => {
    // Both requests are in the node when the malformed bytes have been read (they came in the same packet).
    await held.submitted(2);
    held.release();
  });
  expect(statuses(got)).toEqual(['200', '200', '400']);
  expect(got.indexOf('"id":"a"')).toBeLessThan(got.indexOf('"id":"b"'));
  expect(got).toMatch(/malformed HTTP request/);
  expect(gateway!.stats().httpAccepted).toBe(gateway!.stats().httpAnswered);
});

it('answers a malformed request at once when nothing is pending before it', async () => {
  const { port } = await start();
  const got = await exchange(port, 'NOT HTTP AT ALL\r\n\r\n', async () => undefined);
  expect(statuses(got)).toEqual(['400']);
});

it('answers a request whose own body is cut short 400 at once, after the answers ahead of it', async () => {
  const { port, held } = await start();
  const cut = 'POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"inputs":';
  // Alone: the client's FIN ends the body early; its answer is the 400, not something it would wait for.
  const socket = connect(port, '127.0.0.1');
  let got = '';
  socket.on('data', (b: Buffer) => (got += b.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.end(cut);
  await closed;
  expect(statuses(got)).toEqual(['400']);
  // Behind a request still running: that one's answer first.
  const second = connect(port, '127.0.0.1');
  let both = '';
  second.on('data', (b: Buffer) => (both += b.toString('latin1')));
  second.on('error', () => undefined);
  const secondClosed = new Promise<void>((resolve) => second.once('close', () => resolve()));
  second.end(post('a') + cut);
  await held.submitted(1);
  held.release();
  await secondClosed;
  expect(statuses(both)).toEqual(['200', '400']);
});
