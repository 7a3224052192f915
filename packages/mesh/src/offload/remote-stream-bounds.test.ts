import { describe, expect, it } from 'vitest';
import { createManualClock, EparaError } from '@epara/core';
import type { NamedTensors, StreamResult } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { OffloadMessage } from './offload-messages.js';
import { RemoteStream } from './remote-stream.js';

/*
 * A remote stream with bounds waits on its peer no longer than each frame's staleness limit plus a grace, and a
 * close no longer than the grace once every frame settled — on a manual clock.
 */

const frame = (v: number): NamedTensors => ({ x: { type: 'float32', dims: [1], data: Float32Array.of(v) } });

function open() {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  const sent: OffloadMessage[] = [];
  let unanswered = 0;
  const stream = new RemoteStream({ streamId: 7, peer: 'b', send: (m) => void sent.push(m), bounds: { clock, timers, frameTimeoutMs: 300, graceMs: 100 }, unanswered: () => void unanswered++ });
  return { stream, sent, timers, unanswered: () => unanswered };
}

async function drain(stream: RemoteStream): Promise<StreamResult[]> {
  const out: StreamResult[] = [];
  for await (const r of stream) out.push(r);
  return out;
}

describe('RemoteStream bounds', () => {
  it('a frame unanswered past its bound settles DEADLINE_EXCEEDED (and the link is checked); frames answered in time are delivered', async () => {
    const { stream, timers, unanswered } = open();
    stream.push(frame(1));
    timers.advance(100);
    stream.push(frame(2));
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 0, ok: true, outputs: frame(10), latencyMs: 5 });
    timers.advance(299); // frame 1 was pushed at 100: due at 400
    stream.push(frame(3));
    expect(unanswered()).toBe(0);
    timers.advance(1);
    // Told once the frame timed out: the node probes the stream's link (a one-way cut leaves it open).
    expect(unanswered()).toBe(1);
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 1, ok: true, outputs: frame(20), latencyMs: 5 }); // too late: ignored
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 2, ok: true, outputs: frame(30), latencyMs: 5 });
    stream.onPeerDown();
    const results = await drain(stream);
    expect(results.map((r) => [r.seq, r.ok ? 'ok' : r.error.code])).toEqual([[0, 'ok'], [1, 'DEADLINE_EXCEEDED'], [2, 'ok']]);
  });

  it('close() resolves once the grace passed after the last frame settled, asking the peer to close once more', async () => {
    const { stream, sent, timers } = open();
    stream.push(frame(1));
    const closing = stream.close();
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 0, ok: true, outputs: frame(10), latencyMs: 5 });
    timers.advance(99);
    expect(stream.settled).toBe(false);
    timers.advance(1);
    await expect(closing).resolves.toEqual({ pushed: 1, completed: 1, dropped: 0 });
    expect(sent.filter((m) => m.type === 'stream-close')).toHaveLength(2);
    expect(timers.pending).toBe(0);
  });

  it('a summary in time cancels the timer', async () => {
    const { stream, timers } = open();
    stream.push(frame(1));
    const closing = stream.close();
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 0, ok: true, outputs: frame(10), latencyMs: 5 });
    stream.onMessage({ type: 'stream-close', requestId: 7, reason: 'closed' });
    await expect(closing).resolves.toEqual({ pushed: 1, completed: 1, dropped: 0 });
    expect(timers.pending).toBe(0);
  });
});

/*
 * The timers a bounded remote stream arms by itself: the first frame's bound from its push, and the summary's
 * grace from a close after every frame settled (no later message re-arms either) — on a manual clock.
 */
describe('RemoteStream timers armed by push and close alone', () => {
  it('a single frame never answered settles DEADLINE_EXCEEDED at its bound, with no other message in between', async () => {
    const { stream, timers } = open();
    stream.push(frame(1));
    expect(timers.pending).toBe(1);
    timers.advance(299);
    expect(stream.settled).toBe(false);
    timers.advance(1);
    stream.onPeerDown();
    const results = await drain(stream);
    expect(results.map((r) => [r.seq, r.ok ? 'ok' : r.error.code])).toEqual([[0, 'DEADLINE_EXCEEDED']]);
    expect(results[0]!.ok ? undefined : results[0]!.error.details).toEqual({ peer: 'b' });
  });

  it('an open stream whose frames are all answered arms nothing: it is not closed however long it idles', () => {
    const { stream, sent, timers } = open();
    stream.push(frame(1));
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 0, ok: true, outputs: frame(10), latencyMs: 5 });
    expect(timers.pending).toBe(0);
    timers.advance(10_000);
    expect(stream.settled).toBe(false);
    expect(sent.map((m) => m.type)).toEqual(['stream-frame']);
  });

  it('a close after every frame was answered waits the grace for the summary, then resolves without it', async () => {
    const { stream, sent, timers } = open();
    stream.push(frame(1));
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 0, ok: true, outputs: frame(10), latencyMs: 5 });
    expect(timers.pending).toBe(0);
    const closing = stream.close();
    expect(timers.pending).toBe(1);
    timers.advance(99);
    expect(stream.settled).toBe(false);
    timers.advance(1);
    expect(stream.settled).toBe(true);
    await expect(closing).resolves.toEqual({ pushed: 1, completed: 1, dropped: 0 });
    const closes = sent.filter((m) => m.type === 'stream-close');
    expect(closes).toEqual([
      { type: 'stream-close', requestId: 7, reason: 'closed by the client' },
      { type: 'stream-close', requestId: 7, reason: 'closed by the client' },
    ]);
  });
});

/** A stream whose `send` refuses the frames numbered in `tooLarge` as too large for the wire. */
function openRefusing(tooLarge: readonly number[]) {
  const sent: OffloadMessage[] = [];
  const stream = new RemoteStream({
    streamId: 7,
    peer: 'b',
    send: (m) => {
      if (m.type === 'stream-frame' && tooLarge.includes(m.seq)) {
        throw new EparaError('PROTOCOL_ERROR', 'a stream-frame frame of 70000 bytes exceeds maxFrameBytes 65536', { frameBytes: 70_000 });
      }
      sent.push(m);
    },
  });
  return { stream, sent };
}

/** The results the reader can take now, without any further message (every settled promise run first). */
async function readable(it: AsyncIterator<StreamResult>, max: number): Promise<StreamResult[]> {
  const out: StreamResult[] = [];
  for (let i = 0; i < max; i++) {
    let got: IteratorResult<StreamResult> | undefined;
    void it.next().then((r) => (got = r));
    for (let k = 0; k < 10; k++) await Promise.resolve();
    if (got === undefined || got.done === true) break;
    out.push(got.value);
  }
  return out;
}

describe('RemoteStream: a frame too large for the wire settles as soon as it is next in line', () => {
  it('the first frame, refused, is readable at once — no answer or close needed', async () => {
    const { stream } = openRefusing([0]);
    stream.push(frame(1));
    const now = await readable(stream[Symbol.asyncIterator](), 1);
    expect(now.map((r) => [r.seq, r.ok ? 'ok' : r.error.code])).toEqual([[0, 'PROTOCOL_ERROR']]);
  });

  it('a refused frame behind a sent one settles right after that one’s result', async () => {
    const { stream } = openRefusing([1]);
    stream.push(frame(1));
    stream.push(frame(2));
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 0, ok: true, outputs: frame(10), latencyMs: 1 });
    const it = stream[Symbol.asyncIterator]();
    const now = await readable(it, 2);
    expect(now.map((r) => [r.seq, r.ok ? 'ok' : r.error.code])).toEqual([[0, 'ok'], [1, 'PROTOCOL_ERROR']]);
  });
});
