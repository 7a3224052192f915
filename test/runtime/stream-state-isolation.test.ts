import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock, type NamedTensors, type StreamResult } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { createExecutor, fakeModelBytes, type Executor } from '@epara/runtime';
import { flat, item, values } from './helpers.js';

/**
 * Recurrent state is per stream over the whole state tensor: two streams at different points of their history
 * share one packed inference, and each must get back exactly its own state advanced by one step. The executor's
 * clock is a manual one that the test never moves: no frame goes stale however slowly a loaded machine runs the
 * worker, and which frames share a pack follows from the order of pushes and completions alone.
 */

/** `y = x`; the next state is `state + 1` elementwise (state f32[2, batch, 3], batch on axis 1). */
const stateful = fakeModelBytes({
  inputs: [
    { name: 'x', type: 'float32', dims: ['batch', 2] },
    { name: 'state', type: 'float32', dims: [2, 'batch', 3] },
  ],
  outputs: [
    { name: 'y', from: 'x' },
    { name: 'stateN', from: 'state', offset: 1 },
  ],
});

/** Six different values, so a mix-up of rows, columns or streams shows in every element. */
const INITIAL = [0, 10, 20, 30, 40, 50];
const initial: NamedTensors = { state: { type: 'float32', dims: [2, 1, 3], data: Float32Array.from(INITIAL) } };
const after = (steps: number): number[] => INITIAL.map((v) => v + steps);

/** The next `n` results of a stream, read through one iterator (the stream stays open). */
async function take(it: AsyncIterator<StreamResult>, n: number): Promise<StreamResult[]> {
  const out: StreamResult[] = [];
  for (let i = 0; i < n; i++) {
    const r = await it.next();
    if (r.done) throw new Error(`stream ended after ${i} of ${n} results`);
    out.push(r.value);
  }
  return out;
}

const stateOf = (r: StreamResult): number[] => {
  if (!r.ok) throw new Error(`frame ${r.seq} failed: ${r.error.code}`);
  expect(r.outputs['stateN']!.dims).toEqual([2, 1, 3]);
  return values(r.outputs, 'stateN');
};

describe('executor: per-stream recurrent state', () => {
  let ex: Executor | undefined;
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
  });

  it('streams at different steps packed together each advance their own whole state tensor', async () => {
    const clock = createManualClock(1000);
    ex = createExecutor({
      backend: { kind: 'fake' },
      clock,
      timers: createManualTimers(clock),
      // A partial pack launches on an idle device instead of waiting (in virtual time) for a partner to arrive.
      launchWhenIdle: true,
      devices: [{ id: 'd0' }],
      services: [
        {
          id: 'vad',
          model: stateful,
          sensitivity: 'frequency',
          slo: { kind: 'frequency', rateHz: 10, stalenessMs: 300 },
          profile: flat(1),
          plan: { batchSize: 2, capacityPerSec: 1000 },
          devices: ['d0'],
          stateful: { state: { state: 'stateN' }, initial },
        },
      ],
    });
    await ex.start();
    const packs: number[] = [];
    ex.on('batchDispatched', (e) => packs.push(e.size));

    // Stream a runs two frames alone: its state is two steps ahead of any new stream.
    const a = ex.openStream('vad', { rateHz: 10 });
    const ia = a[Symbol.asyncIterator]();
    a.push(item(1, 100));
    expect(stateOf((await take(ia, 1))[0]!)).toEqual(after(1));
    a.push(item(2, 100));
    expect(stateOf((await take(ia, 1))[0]!)).toEqual(after(2));

    // Stream b starts from the initial state; their frames now share packs.
    const b = ex.openStream('vad', { rateHz: 10 });
    const ib = b[Symbol.asyncIterator]();
    const before = packs.length;
    for (let k = 0; k < 3; k++) {
      b.push(item(k, 200));
      a.push(item(k, 100));
    }
    const ra = await take(ia, 3);
    const rb = await take(ib, 3);
    expect(ra.map(stateOf)).toEqual([after(3), after(4), after(5)]);
    expect(rb.map(stateOf)).toEqual([after(1), after(2), after(3)]);
    expect(ra.map((r) => r.ok && values(r.outputs)[1])).toEqual([100, 100, 100]);
    expect(rb.map((r) => r.ok && values(r.outputs)[1])).toEqual([200, 200, 200]);
    // The point of the test: inferences carried both streams. b's first frame ran alone (nothing else was
    // queued), a's waited for it and then joined b's second, and so on: packs of 1, 2, 2, 1.
    expect(packs.slice(before)).toEqual([1, 2, 2, 1]);

    // A third stream opened now starts from the configured initial state, not from a or b.
    const c = ex.openStream('vad', { rateHz: 10 });
    const ic = c[Symbol.asyncIterator]();
    c.push(item(9, 300));
    expect(stateOf((await take(ic, 1))[0]!)).toEqual(after(1));
    await Promise.all([a.close(), b.close(), c.close()]);
  });
});
