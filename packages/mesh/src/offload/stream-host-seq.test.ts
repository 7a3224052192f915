import { describe, expect, it } from 'vitest';
import { EparaError } from '@epara/core';
import type { LocalStream, NamedTensors, StreamResult } from '@epara/core';
import { createAsyncQueue } from '../util/async-queue.js';
import type { OffloadMessage } from './offload-messages.js';
import { StreamHost } from './stream-host.js';

/*
 * The serving end answers under the client's frame numbers: a frame lost on the way is answered lost in its
 * place, a repeated or late one is dropped, and every answer leaves in the client's push order.
 */

const frame = (v: number): NamedTensors => ({ x: { type: 'float32', dims: [1], data: Float32Array.of(v) } });

/** A local stream that answers each pushed frame with twice its value when the test says so. */
function echoStream(o: { refuseFrom?: number } = {}) {
  const results = createAsyncQueue<StreamResult>();
  const pushed: number[] = [];
  const stream: LocalStream = {
    id: 'local#1',
    push: (f) => {
      if (o.refuseFrom !== undefined && pushed.length >= o.refuseFrom) throw new EparaError('CLOSED', 'stream closed');
      pushed.push((f['x']!.data as Float32Array)[0]!);
      return pushed.length - 1;
    },
    close: async () => (results.end(), { pushed: pushed.length, completed: 0, dropped: 0 }),
    [Symbol.asyncIterator]: () => results[Symbol.asyncIterator](),
  };
  const answer = (seq: number): void => results.push({ seq, ok: true, outputs: frame(2 * pushed[seq]!), latencyMs: 1 });
  return { stream, pushed, answer };
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

async function hosted(o: { refuseFrom?: number } = {}) {
  const s = echoStream(o);
  const replies: OffloadMessage[] = [];
  const h = new StreamHost({ open: async () => s.stream, reply: (_l, m) => void replies.push(m) });
  h.onOpen('L1', 'b', { type: 'stream-open', requestId: 4, serviceId: 's', rateHz: 1, stalenessMs: 50, hops: 1, visited: [] });
  await flush();
  replies.length = 0;
  const send = (seq: number, v: number): void => h.onFrame('L1', { type: 'stream-frame', requestId: 4, seq, inputs: frame(v) });
  /** The results sent back, as [client seq, value or code]. */
  const sent = (): [number, number | string][] =>
    replies.flatMap((m) => (m.type === 'stream-result' ? [[m.seq, m.ok ? (m.outputs['x']!.data as Float32Array)[0]! : m.error.code] as [number, number | string]] : []));
  return { h, s, send, sent, replies };
}

describe('StreamHost: frame numbers', () => {
  it('a frame that arrives twice is pushed once, and the frames after it keep their own answers', async () => {
    const { s, send, sent } = await hosted();
    send(0, 10);
    send(1, 11);
    send(1, 11);
    send(2, 12);
    await flush();
    expect(s.pushed).toEqual([10, 11, 12]);
    [0, 1, 2].forEach(s.answer);
    await flush();
    expect(sent()).toEqual([[0, 20], [1, 22], [2, 24]]);
  });

  it('frames skipped on the way are answered PEER_UNAVAILABLE in their place, after the answers due before them', async () => {
    const { s, send, sent, replies } = await hosted();
    send(0, 10);
    send(3, 13);
    send(2, 12); // after a later frame: it was answered lost already
    send(4, 14);
    await flush();
    expect(s.pushed).toEqual([10, 13, 14]);
    expect(sent()).toEqual([]); // frame 0 is still running: nothing may overtake its answer
    s.answer(0);
    await flush();
    expect(sent()).toEqual([[0, 20], [1, 'PEER_UNAVAILABLE'], [2, 'PEER_UNAVAILABLE']]);
    s.answer(1);
    s.answer(2);
    await flush();
    expect(sent()).toEqual([[0, 20], [1, 'PEER_UNAVAILABLE'], [2, 'PEER_UNAVAILABLE'], [3, 26], [4, 28]]);
    const lost = replies.find((m) => m.type === 'stream-result' && m.seq === 1);
    expect(lost).toMatchObject({ error: { details: { cause: 'LOST_IN_TRANSIT' } } });
  });

  it('a frame the stream refuses is answered in order, behind the frames still running', async () => {
    const { s, send, sent } = await hosted({ refuseFrom: 1 });
    send(0, 10);
    send(1, 11);
    await flush();
    expect(sent()).toEqual([]);
    s.answer(0);
    await flush();
    expect(sent()).toEqual([[0, 20], [1, 'CLOSED']]);
  });

  it('a frame number far past the next one is no loss on the way: the stream fails PROTOCOL_ERROR and closes', async () => {
    const { s, send, replies, h } = await hosted();
    send(0, 10);
    send(2 ** 31, 11);
    await flush();
    expect(s.pushed).toEqual([10]);
    expect(replies).toContainEqual({ type: 'error', requestId: 4, error: expect.objectContaining({ code: 'PROTOCOL_ERROR' }) });
    expect(h.size).toBe(0);
  });
});

describe('StreamHost: the largest gap taken as loss', () => {
  it('a frame 1,024 past the next one is still a loss on the way, and the stream goes on past it', async () => {
    const { s, send, replies, h } = await hosted();
    send(1024, 10);
    send(1025, 11);
    await flush();
    expect(s.pushed).toEqual([10, 11]);
    expect(replies.filter((m) => m.type === 'error')).toEqual([]);
    expect(h.size).toBe(1);
  });
});
