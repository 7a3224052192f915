import { describe, expect, it } from 'vitest';
import { EparaError, createManualClock } from '@epara/core';
import type { NamedTensors, StreamResult, StreamSummary } from '@epara/core';
import type { StreamSlot } from '../batching/work-item.js';
import type { StreamCounters } from '../executor/executor-stats.js';
import { ExecutorStream } from './executor-stream.js';
import { openServiceStream } from './open-service-stream.js';

// A stream's contract, driven by a runner whose frames the test settles by hand, in any order.

const frame = (v: number): NamedTensors => ({ x: { type: 'float32', dims: [1], data: Float32Array.of(v) } });
const valueOf = (r: StreamResult): number | string => (r.ok ? (r.outputs['x']!.data as Float32Array)[0]! : r.error.code);

interface Pending {
  readonly frame: NamedTensors;
  readonly deadline: number;
  readonly signal: AbortSignal;
  readonly resolve: (o: NamedTensors) => void;
  readonly reject: (e: unknown) => void;
}

function harness(stalenessMs = 100) {
  const clock = createManualClock(1000);
  const pending: Pending[] = [];
  const released: (StreamSummary & { stale: number })[] = [];
  const stream = new ExecutorStream({
    id: 'st',
    clock,
    stalenessMs,
    runner: {
      runFrame: (f, deadline, signal) => new Promise<NamedTensors>((resolve, reject) => void pending.push({ frame: f, deadline, signal, resolve, reject })),
      released: (s) => void released.push(s),
    },
  });
  return { clock, pending, released, stream };
}

async function collect(stream: AsyncIterable<StreamResult>): Promise<StreamResult[]> {
  const out: StreamResult[] = [];
  for await (const r of stream) out.push(r);
  return out;
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('ExecutorStream', () => {
  it('numbers frames from 0, gives each the push time plus the staleness as deadline, and yields in push order', async () => {
    const { clock, pending, stream } = harness(100);
    expect(stream.push(frame(0))).toBe(0);
    clock.set(1010);
    expect(stream.push(frame(1))).toBe(1);
    expect(stream.push(frame(2))).toBe(2);
    expect(pending.map((p) => p.deadline)).toEqual([1100, 1110, 1110]);
    const results = collect(stream);
    // Settled out of order: 2, then 0, then 1.
    clock.set(1030);
    pending[2]!.resolve(frame(20));
    await flush();
    pending[0]!.resolve(frame(10));
    await flush();
    clock.set(1050);
    pending[1]!.reject(new EparaError('STALE_FRAME', 'late'));
    await flush();
    void stream.close();
    const out = await results;
    expect(out.map((r) => r.seq)).toEqual([0, 1, 2]);
    expect(out.map(valueOf)).toEqual([10, 'STALE_FRAME', 20]);
    // Latency from each frame's own push to its settle.
    expect(out.map((r) => (r.ok ? r.latencyMs : -1))).toEqual([30, -1, 20]);
  });

  it('close waits for every frame, then reports once: pushed, completed, dropped, and the stale among the dropped', async () => {
    const { pending, released, stream } = harness();
    for (let i = 0; i < 4; i++) stream.push(frame(i));
    const summary = stream.close();
    expect(stream.close()).toBe(summary);
    let done = false;
    void summary.then(() => (done = true));
    pending[0]!.resolve(frame(0));
    pending[1]!.reject(new EparaError('STALE_FRAME', 'late'));
    pending[2]!.reject(new EparaError('MODEL_ERROR', 'bad'));
    await flush();
    expect(done).toBe(false);
    expect(released).toEqual([]);
    pending[3]!.reject(new Error('not typed'));
    expect(await summary).toEqual({ pushed: 4, completed: 1, dropped: 3 });
    expect(released).toEqual([{ pushed: 4, completed: 1, dropped: 3, stale: 1 }]);
    expect(stream.stale).toBe(1);
    // A plain error becomes a typed one.
    const out = await collect(stream);
    expect(out.map((r) => (r.ok ? 'ok' : r.error instanceof EparaError))).toEqual(['ok', true, true, true]);
  });

  it('closing with nothing pushed reports at once; a push after close throws CLOSED naming the stream', async () => {
    const { released, stream } = harness();
    expect(await stream.close()).toEqual({ pushed: 0, completed: 0, dropped: 0 });
    expect(released).toHaveLength(1);
    expect(() => stream.push(frame(1))).toThrow(expect.objectContaining({ code: 'CLOSED', details: { streamId: 'st' } }));
    expect(await collect(stream)).toEqual([]);
  });

  it('an iterator waiting for the next result wakes when it settles, and ends when the stream closes', async () => {
    const { pending, stream } = harness();
    stream.push(frame(1));
    const it = stream[Symbol.asyncIterator]();
    const first = it.next();
    await flush();
    pending[0]!.resolve(frame(5));
    expect(valueOf((await first).value as StreamResult)).toBe(5);
    const end = it.next();
    await flush();
    await stream.close();
    expect((await end).done).toBe(true);
  });

  it('an iterator over a closed stream still yields the frames that settle after the close', async () => {
    const { pending, stream } = harness();
    stream.push(frame(1));
    stream.push(frame(2));
    const closing = stream.close();
    const results = collect(stream);
    await flush();
    pending[0]!.resolve(frame(10));
    pending[1]!.resolve(frame(20));
    await closing;
    expect((await results).map(valueOf)).toEqual([10, 20]);
  });

  it('an iterator started before the first push waits for it instead of ending', async () => {
    const { pending, stream } = harness();
    const it = stream[Symbol.asyncIterator]();
    const first = it.next();
    await flush();
    stream.push(frame(1));
    pending[0]!.resolve(frame(3));
    expect(await first).toMatchObject({ done: false, value: { seq: 0, ok: true } });
    void stream.close();
    expect((await it.next()).done).toBe(true);
  });

  it('abort() withdraws the queued frames through their signal and closes the stream', async () => {
    const { pending, stream } = harness();
    stream.push(frame(1));
    stream.push(frame(2));
    expect(pending.every((p) => !p.signal.aborted)).toBe(true);
    stream.abort();
    expect(pending.every((p) => p.signal.aborted)).toBe(true);
    expect(pending[0]!.signal.reason).toMatchObject({ code: 'CLOSED' });
    expect(() => stream.push(frame(3))).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    for (const p of pending) p.reject(p.signal.reason);
    expect(await stream.close()).toEqual({ pushed: 2, completed: 0, dropped: 2 });
  });
});

describe('openServiceStream', () => {
  const counters = (): StreamCounters => ({ opened: 0, pushed: 0, completed: 0, dropped: 0, stale: 0 }) as StreamCounters;
  const initialState = frame(42);

  function open(o: { stateful: boolean; rateHz: number; instances: { streamRateHz: number; initialState: NamedTensors }[]; signal?: AbortSignal }) {
    const c = counters();
    const slots: (StreamSlot | undefined)[] = [];
    const settle: ((e?: EparaError) => void)[] = [];
    const released: ExecutorStream[] = [];
    const stream = openServiceStream({
      id: 'st',
      stateful: o.stateful,
      options: { rateHz: o.rateHz, ...(o.signal ? { signal: o.signal } : {}) },
      stalenessMs: 100,
      instances: o.instances,
      clock: createManualClock(0),
      counters: c,
      enqueueFrame: (f, _deadline, _signal, slot) => {
        slots.push(slot);
        return new Promise<NamedTensors>((resolve, reject) => void settle.push((e) => (e ? reject(e) : resolve(f))));
      },
      released: (s) => void released.push(s),
    });
    return { stream, counters: c, slots, settle, released };
  }

  it('charges the rate evenly to the instances while open and gives it back at close', async () => {
    const instances = [{ streamRateHz: 3, initialState }, { streamRateHz: 0, initialState }];
    const { stream, counters: c, released } = open({ stateful: false, rateHz: 10, instances });
    expect(instances.map((i) => i.streamRateHz)).toEqual([8, 5]);
    expect(c.opened).toBe(1);
    await stream.close();
    expect(instances.map((i) => i.streamRateHz)).toEqual([3, 0]);
    expect(released).toEqual([stream]);
  });

  it('never leaves a negative charge when an instance was reset meanwhile', async () => {
    const instances = [{ streamRateHz: 0, initialState }];
    const { stream } = open({ stateful: false, rateHz: 10, instances });
    instances[0]!.streamRateHz = 4;
    await stream.close();
    expect(instances[0]!.streamRateHz).toBe(0);
  });

  it('gives a stateful stream one slot, starting from the first instance state; a stateless one none', () => {
    const a = open({ stateful: true, rateHz: 5, instances: [{ streamRateHz: 0, initialState }, { streamRateHz: 0, initialState: frame(7) }] });
    a.stream.push(frame(1));
    a.stream.push(frame(2));
    expect(a.slots[0]).toEqual({ streamId: 'st', inFlight: false, state: initialState });
    expect(a.slots[1]).toBe(a.slots[0]);
    const b = open({ stateful: false, rateHz: 5, instances: [{ streamRateHz: 0, initialState }] });
    b.stream.push(frame(1));
    expect(b.slots).toEqual([undefined]);
  });

  it('counts pushed frames at once and the outcomes when the stream is released', async () => {
    const { stream, counters: c, settle } = open({ stateful: false, rateHz: 5, instances: [{ streamRateHz: 0, initialState }] });
    for (let i = 0; i < 3; i++) stream.push(frame(i));
    expect(c.pushed).toBe(3);
    settle[0]!();
    settle[1]!(new EparaError('STALE_FRAME', 'late'));
    settle[2]!(new EparaError('MODEL_ERROR', 'bad'));
    await stream.close();
    expect({ completed: c.completed, dropped: c.dropped, stale: c.stale }).toEqual({ completed: 1, dropped: 2, stale: 1 });
  });

  it('closes when its signal fires, or at once when it already has', async () => {
    const ac = new AbortController();
    const live = open({ stateful: false, rateHz: 5, instances: [{ streamRateHz: 0, initialState }], signal: ac.signal });
    live.stream.push(frame(1));
    ac.abort();
    expect(() => live.stream.push(frame(2))).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    const gone = open({ stateful: false, rateHz: 5, instances: [{ streamRateHz: 0, initialState }], signal: AbortSignal.abort() });
    expect(() => gone.stream.push(frame(1))).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    expect(gone.released).toHaveLength(0);
    await flush();
    expect(gone.released).toEqual([gone.stream]);
  });
});
