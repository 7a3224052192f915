import { describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
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
  const stream = new RemoteStream({ streamId: 7, peer: 'b', send: (m) => void sent.push(m), bounds: { clock, timers, frameTimeoutMs: 300, graceMs: 100 } });
  return { stream, sent, timers };
}

async function drain(stream: RemoteStream): Promise<StreamResult[]> {
  const out: StreamResult[] = [];
  for await (const r of stream) out.push(r);
  return out;
}

describe('RemoteStream bounds', () => {
  it('a frame unanswered past its bound settles DEADLINE_EXCEEDED; frames answered in time are delivered', async () => {
    const { stream, timers } = open();
    stream.push(frame(1));
    timers.advance(100);
    stream.push(frame(2));
    stream.onMessage({ type: 'stream-result', requestId: 7, seq: 0, ok: true, outputs: frame(10), latencyMs: 5 });
    timers.advance(299); // frame 1 was pushed at 100: due at 400
    stream.push(frame(3));
    timers.advance(1);
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
