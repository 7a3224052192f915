import { describe, expect, it } from 'vitest';
import type { NamedTensors } from '@epara/core';
import { decodeFrame, encodeFrame, encodeFrameParts, joinFrameParts, PASS_THROUGH_MIN_BYTES, sendFrameParts } from './frame-codec.js';
import type { WireMessage } from './messages.js';
import { createMemoryHub } from '../transport/memory-hub.js';
import { createMemoryTransport } from '../transport/memory-transport.js';

const bytes = (n: number, seed: number): Uint8Array => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
};
const f32 = (n: number, seed: number) => ({ type: 'float32' as const, dims: [n], data: new Float32Array(bytes(4 * n, seed).buffer) });
const submit = (inputs: NamedTensors): WireMessage => ({ type: 'submit', requestId: 9, serviceId: 'image', budgetMs: 250, hops: 1, maxHops: 2, visited: ['a'], priority: 0, inputs });
const BIG = PASS_THROUGH_MIN_BYTES / 4;

describe('encodeFrameParts', () => {
  it.each([
    ['no tensors', { type: 'ping', requestId: 1 } as WireMessage],
    ['small tensors only', submit({ a: f32(3, 1), b: { type: 'uint8', dims: [5], data: bytes(5, 2) } })],
    ['one large tensor', submit({ x: f32(76_800, 3) })],
    ['large and small tensors, unaligned sizes between', submit({ s: { type: 'uint8', dims: [3], data: bytes(3, 4) }, x: f32(BIG, 5), t: { type: 'uint8', dims: [7], data: bytes(7, 6) }, y: f32(BIG + 1, 7), z: { type: 'int32', dims: [1], data: new Int32Array([5]) } })],
    ['a result', { type: 'result', requestId: 4, outputs: { y: f32(25_600, 8) } } as WireMessage],
  ])('gives exactly encodeFrame’s bytes, checksum included (%s)', (_name, message) => {
    const f = encodeFrameParts(message);
    const whole = encodeFrame(message);
    expect(f.byteLength).toBe(whole.byteLength);
    expect(f.parts.reduce((n, p) => n + p.byteLength, 0)).toBe(whole.byteLength);
    expect(Buffer.from(joinFrameParts(f)).equals(Buffer.from(whole))).toBe(true);
    expect(decodeFrame(joinFrameParts(f))).toEqual(decodeFrame(whole));
  });

  it('passes a large tensor through as a view of the caller’s bytes, and copies what is small', () => {
    const x = f32(76_800, 9);
    const small = { type: 'uint8' as const, dims: [4], data: bytes(4, 1) };
    const f = encodeFrameParts(submit({ s: small, x }));
    expect(f.parts.some((p) => p.buffer === x.data.buffer && p.byteOffset === x.data.byteOffset && p.byteLength === x.data.byteLength)).toBe(true);
    expect(f.parts.some((p) => p.buffer === small.data.buffer)).toBe(false);
    // A frame with nothing large is one array, as encodeFrame makes it.
    expect(encodeFrameParts(submit({ s: small })).parts).toHaveLength(1);
  });

  it('forwards a tensor decoded from a received frame bit-equal, without copying it', () => {
    const received = encodeFrame(submit({ x: f32(76_800, 11) }));
    const m = decodeFrame(received);
    if (m.type !== 'submit') throw new Error('not a submit');
    const forward = encodeFrameParts({ ...m, requestId: 77, hops: 2, visited: ['a', 'b'] });
    // The tensor's piece is the received frame's memory.
    expect(forward.parts.some((p) => p.buffer === received.buffer)).toBe(true);
    const out = decodeFrame(joinFrameParts(forward));
    if (out.type !== 'submit') throw new Error('not a submit');
    expect(out.requestId).toBe(77);
    const raw = (t: NamedTensors[string] | undefined): Buffer => {
      const d = t!.data as Float32Array;
      return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    };
    expect(raw(out.inputs['x']).equals(raw(m.inputs['x']))).toBe(true);
  });

  it('is refused like encodeFrame past maxFrameBytes', () => {
    expect(() => encodeFrameParts(submit({ x: f32(76_800, 1) }), { maxFrameBytes: 100_000 })).toThrow(expect.objectContaining({ code: 'PROTOCOL_ERROR' }));
  });
});

describe('sendFrameParts', () => {
  it('delivers one frame per call, in order, over a connection that joins the pieces', async () => {
    const hub = createMemoryHub();
    const server = createMemoryTransport({ hub, address: 'server' });
    const client = createMemoryTransport({ hub, address: 'client' });
    const got: Uint8Array[] = [];
    const two = new Promise<void>((resolve) => {
      server.on('connectionAccepted', ({ connection }) => connection.on('frameReceived', ({ frame }) => (got.push(frame), got.length === 2 && resolve())));
    });
    const { address } = await server.listen();
    const c = await client.connect(address);
    const first = submit({ x: f32(BIG * 2, 1), s: { type: 'uint8', dims: [2], data: bytes(2, 3) } });
    const second = { type: 'result', requestId: 5, outputs: { y: f32(BIG, 4) } } as WireMessage;
    sendFrameParts(c, encodeFrameParts(first));
    sendFrameParts(c, encodeFrameParts(second));
    await two;
    expect(got.map((g) => Buffer.from(g))).toEqual([Buffer.from(encodeFrame(first)), Buffer.from(encodeFrame(second))]);
    await Promise.all([client.close(), server.close()]);
  });

  it('refuses a frame over the connection’s limit, whole', async () => {
    const hub = createMemoryHub();
    const server = createMemoryTransport({ hub, address: 'server', maxFrameBytes: 10_000 });
    const client = createMemoryTransport({ hub, address: 'client', maxFrameBytes: 10_000 });
    const { address } = await server.listen();
    const c = await client.connect(address);
    expect(() => sendFrameParts(c, encodeFrameParts(submit({ x: f32(BIG, 1) })))).toThrow(expect.objectContaining({ code: 'PROTOCOL_ERROR', details: expect.objectContaining({ frameBytes: expect.any(Number) }) }));
    await Promise.all([client.close(), server.close()]);
  });
});
