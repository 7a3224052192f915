import { describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import type { NamedTensors, StreamResult } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { OffloadMessage } from './offload-messages.js';
import { RemoteStream } from './remote-stream.js';

/*
 * The timers a bounded remote stream arms by itself: the first frame's bound from its push, and the summary's
 * grace from a close after every frame settled (no later message re-arms either) — on a manual clock.
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
    expect(sent.filter((m) => m.type === 'stream-close')).toHaveLength(2);
  });
});
