import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import type { ExecutorStream } from './executor-stream.js';
import { openServiceStream } from './open-service-stream.js';

// A stream opened with a signal closes when it aborts, and the signal lets go of it then: an aborted signal that a
// caller keeps (one per session, say) must not keep every stream it ever closed reachable through its listener.

function open(signal: AbortSignal, released: ExecutorStream[]): { stream: ExecutorStream; instance: { streamRateHz: number } } {
  const instance = { streamRateHz: 0, initialState: {} };
  const stream = openServiceStream({
    id: 'st',
    stateful: false,
    options: { rateHz: 10, signal },
    stalenessMs: 100,
    instances: [instance],
    clock: createManualClock(0),
    counters: { opened: 0, pushed: 0, completed: 0, dropped: 0, stale: 0 },
    enqueueFrame: () => Promise.resolve({}),
    released: (s) => void released.push(s),
  });
  return { stream, instance };
}

describe('openServiceStream: its signal (runtime)', () => {
  it('closes the stream when the signal aborts, and the signal holds no listener of it afterwards', async () => {
    const ac = new AbortController();
    const released: ExecutorStream[] = [];
    const { stream, instance } = open(ac.signal, released);
    expect(instance.streamRateHz).toBe(10);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    ac.abort();
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    await stream.close();
    expect(released).toEqual([stream]);
    expect(instance.streamRateHz).toBe(0);
  });

  it('closes at once on a signal already aborted, adding no listener', async () => {
    const ac = new AbortController();
    ac.abort();
    const released: ExecutorStream[] = [];
    const { stream } = open(ac.signal, released);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    await stream.close();
    expect(released).toEqual([stream]);
  });
});
