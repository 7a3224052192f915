import { describe, expect, it } from 'vitest';
import { EparaError } from '@epara/core';
import type { NamedTensors, StreamResult } from '@epara/core';
import type { OffloadMessage } from './offload-messages.js';
import { RemoteStream } from './remote-stream.js';

const frame = (v: number): NamedTensors => ({ x: { type: 'float32', dims: [1], data: Float32Array.of(v) } });

function open(sendFails: () => EparaError | Error | undefined = () => undefined) {
  const sent: OffloadMessage[] = [];
  const stream = new RemoteStream({
    streamId: 7,
    peer: 'b',
    send: (m) => {
      const err = sendFails();
      if (err) throw err;
      sent.push(m);
    },
  });
  return { stream, sent };
}

async function drain(stream: RemoteStream): Promise<StreamResult[]> {
  const out: StreamResult[] = [];
  for await (const r of stream) out.push(r);
  return out;
}

describe('RemoteStream', () => {
  it('is named after its peer and stream id, and sends frames numbered from 0 on the stream id', () => {
    const { stream, sent } = open();
    expect(stream.id).toBe('b/7');
    expect(stream.pinnedTo).toBe('b');
    expect(stream.push(frame(1))).toBe(0);
    expect(stream.push(frame(2))).toBe(1);
    expect(sent).toEqual([
      { type: 'stream-frame', requestId: 7, seq: 0, inputs: frame(1) },
      { type: 'stream-frame', requestId: 7, seq: 1, inputs: frame(2) },
    ]);
  });

  it('a frame too large for the wire settles with that error in its turn; the stream and the frames around it go on', async () => {
    const tooLarge = new EparaError('PROTOCOL_ERROR', 'a stream-frame frame of 70000 bytes exceeds maxFrameBytes 65536', { frameBytes: 70_000 });
    let n = 0;
    const { stream, sent } = open(() => (n++ === 1 || n === 4 ? tooLarge : undefined));
    stream.push(frame(1)); // 0: sent
    expect(stream.push(frame(2))).toBe(1); // too large: not sent, settles after 0
    stream.push(frame(3)); // 2: sent
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 0, ok: true, outputs: frame(10), latencyMs: 1 });
    // The peer never saw frame 1: it answers it as lost when frame 2 comes, which changes nothing here.
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 1, ok: false, error: new EparaError('PEER_UNAVAILABLE', 'lost') });
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 2, ok: true, outputs: frame(30), latencyMs: 1 });
    stream.push(frame(4)); // 3: too large, every frame before it answered: settles now
    const summary = stream.close();
    stream.onMessage({ type: 'stream-close', requestId: 7, reason: 'closed' });
    const results = await drain(stream);
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ok', 'PROTOCOL_ERROR', 'ok', 'PROTOCOL_ERROR']);
    expect(sent.map((m) => m.type)).toEqual(['stream-frame', 'stream-frame', 'stream-close']);
    await expect(summary).resolves.toEqual({ pushed: 4, completed: 2, dropped: 2 });
  });

  it('ignores a result for a frame not pushed yet: the frame pushed next still gets its own answer', async () => {
    const { stream } = open();
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 0, ok: true, outputs: frame(99), latencyMs: 1 }); // nothing pushed
    stream.push(frame(1));
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 0, ok: true, outputs: frame(10), latencyMs: 2 });
    stream.onMessage({ type: 'stream-close', requestId: 7, reason: 'closed' });
    expect(await drain(stream)).toEqual([{ seq: 0, ok: true, outputs: frame(10), latencyMs: 2 }]);
    await expect(stream.close()).resolves.toEqual({ pushed: 1, completed: 1, dropped: 0 });
  });

  it('delivers results in order, ignores repeated ones, and counts completed and dropped', async () => {
    const { stream, sent } = open();
    stream.push(frame(1));
    stream.push(frame(2));
    stream.push(frame(3));
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 0, ok: true, outputs: frame(10), latencyMs: 3 });
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 0, ok: true, outputs: frame(11), latencyMs: 3 }); // repeat: ignored
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 1, ok: false, error: new EparaError('DEADLINE_EXCEEDED', 'late') });
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 2, ok: true, outputs: frame(30), latencyMs: 5 });
    const closing = stream.close();
    expect(sent.at(-1)).toEqual({ type: 'stream-close', requestId: 7, reason: 'closed by the client' });
    expect(stream.settled).toBe(false);
    stream.onMessage({ type: 'stream-close', requestId: 7, reason: 'closed' });
    await expect(closing).resolves.toEqual({ pushed: 3, completed: 2, dropped: 1 });
    expect(stream.settled).toBe(true);
    const results = await drain(stream);
    expect(results.map((r) => [r.seq, r.ok])).toEqual([[0, true], [1, false], [2, true]]);
    expect(results[0]).toEqual({ seq: 0, ok: true, outputs: frame(10), latencyMs: 3 });
    expect(results[1]).toMatchObject({ ok: false, error: { code: 'DEADLINE_EXCEEDED' } });
  });

  it('a result after a skipped one: the skipped frame fails PEER_UNAVAILABLE (lost on the way), the later ones are delivered', async () => {
    const { stream } = open();
    for (let k = 1; k <= 4; k++) stream.push(frame(k));
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 0, ok: true, outputs: frame(10), latencyMs: 3 });
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 2, ok: true, outputs: frame(30), latencyMs: 3 });
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 1, ok: true, outputs: frame(20), latencyMs: 3 }); // too late: ignored
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 3, ok: true, outputs: frame(40), latencyMs: 3 });
    stream.onPeerDown();
    const results = await drain(stream);
    expect(results.map((r) => [r.seq, r.ok])).toEqual([[0, true], [1, false], [2, true], [3, true]]);
    expect(results[1]).toMatchObject({ error: { code: 'PEER_UNAVAILABLE', details: { peer: 'b', cause: 'LOST_IN_TRANSIT' } } });
    expect(results[2]).toEqual({ seq: 2, ok: true, outputs: frame(30), latencyMs: 3 });
    await expect(stream.close()).resolves.toEqual({ pushed: 4, completed: 3, dropped: 1 });
  });

  it("the peer's summary settles the frames it never answered; a result after it is ignored", async () => {
    const { stream } = open();
    stream.push(frame(1));
    stream.onMessage({ type: 'stream-close', requestId: 7, reason: 'closed' });
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 0, ok: true, outputs: frame(10), latencyMs: 3 });
    expect(await drain(stream)).toEqual([{ seq: 0, ok: false, error: expect.objectContaining({ code: 'PEER_UNAVAILABLE', details: { peer: 'b', cause: 'LOST_IN_TRANSIT' } }) }]);
    await expect(stream.close()).resolves.toEqual({ pushed: 1, completed: 0, dropped: 1 });
  });

  it('the peer going down settles every unanswered frame with PEER_UNAVAILABLE, once, and ends iteration', async () => {
    const { stream } = open();
    stream.push(frame(1));
    stream.push(frame(2));
    stream.push(frame(3));
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 0, ok: true, outputs: frame(10), latencyMs: 3 });
    stream.onPeerDown();
    stream.onPeerDown();
    expect(stream.settled).toBe(true);
    const results = await drain(stream);
    expect(results.map((r) => r.seq)).toEqual([0, 1, 2]);
    expect(results.slice(1)).toEqual([
      { seq: 1, ok: false, error: expect.objectContaining({ code: 'PEER_UNAVAILABLE', details: { peer: 'b' } }) },
      { seq: 2, ok: false, error: expect.objectContaining({ code: 'PEER_UNAVAILABLE' }) },
    ]);
    await expect(stream.close()).resolves.toEqual({ pushed: 3, completed: 1, dropped: 2 });
    expect(() => stream.push(frame(4))).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });

  it('results in push order make no error object; a frame pushed after the end fails CLOSED without a stack trace', async () => {
    // Every stream frame served by a peer passes here: formatting a stack trace per result (or per frame pushed
    // after a peer failed) cost more than the rest of the path.
    const { stream } = open();
    for (let k = 1; k <= 3; k++) stream.push(frame(k));
    const traced = Error.prepareStackTrace;
    let stacks = 0;
    Error.prepareStackTrace = (err, frames) => (stacks++, traced ? traced(err, frames) : `${String(err)}`);
    try {
      for (let seq = 0; seq < 3; seq++) stream.onMessage({ type: 'stream-result', requestId: 7, seq, ok: true, outputs: frame(seq), latencyMs: 1 });
      expect(stacks).toBe(0);
    } finally {
      Error.prepareStackTrace = traced;
    }
    stream.onPeerDown();
    expect((await drain(stream)).map((r) => [r.seq, r.ok])).toEqual([[0, true], [1, true], [2, true]]);
    let err: unknown;
    try {
      stream.push(frame(4));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EparaError);
    expect(err).toMatchObject({ code: 'CLOSED', message: 'stream b/7 is closed' });
    expect((err as Error).stack).not.toContain('\n    at ');
    // One answer for every later frame, made once.
    let again: unknown;
    try {
      stream.push(frame(5));
    } catch (e) {
      again = e;
    }
    expect(again).toBe(err);
  });

  it("the peer's error message fails the stream with that error", async () => {
    const { stream } = open();
    stream.push(frame(1));
    stream.onMessage({ type: 'error', requestId: 7, error: new EparaError('OVERLOADED', 'full') });
    const results = await drain(stream);
    expect(results).toEqual([{ seq: 0, ok: false, error: expect.objectContaining({ code: 'OVERLOADED' }) }]);
    await expect(stream.close()).resolves.toEqual({ pushed: 1, completed: 0, dropped: 1 });
  });

  it('push after close throws CLOSED and sends nothing; close twice sends one stream-close and both settle', async () => {
    const { stream, sent } = open();
    const first = stream.close();
    const second = stream.close();
    expect(() => stream.push(frame(1))).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    expect(sent).toEqual([{ type: 'stream-close', requestId: 7, reason: 'closed by the client' }]);
    stream.onMessage({ type: 'stream-close', requestId: 7, reason: 'closed' });
    await expect(first).resolves.toEqual({ pushed: 0, completed: 0, dropped: 0 });
    await expect(second).resolves.toEqual({ pushed: 0, completed: 0, dropped: 0 });
    expect(stream.settled).toBe(true);
  });

  it('a link that fails on push settles the frame with the typed error (or PEER_UNAVAILABLE for a plain one)', async () => {
    let fail: EparaError | Error | undefined;
    const { stream } = open(() => fail);
    fail = new EparaError('RATE_LIMITED', 'slow down');
    expect(stream.push(frame(1))).toBe(0);
    expect(stream.settled).toBe(true);
    expect(await drain(stream)).toEqual([{ seq: 0, ok: false, error: expect.objectContaining({ code: 'RATE_LIMITED' }) }]);

    const other = open(() => new Error('socket gone')).stream;
    other.push(frame(1));
    expect(await drain(other)).toEqual([{ seq: 0, ok: false, error: expect.objectContaining({ code: 'PEER_UNAVAILABLE' }) }]);
  });

  it('a link that fails on close settles the stream with PEER_UNAVAILABLE', async () => {
    let fail: Error | undefined;
    const { stream } = open(() => fail);
    stream.push(frame(1));
    fail = new Error('socket gone');
    await expect(stream.close()).resolves.toEqual({ pushed: 1, completed: 0, dropped: 1 });
    expect(await drain(stream)).toEqual([{ seq: 0, ok: false, error: expect.objectContaining({ code: 'PEER_UNAVAILABLE' }) }]);
  });
});
