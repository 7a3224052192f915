import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock, type StreamResult } from '@epara/core';
import { createExecutor, fakeModelBytes, type Executor } from '@epara/runtime';
import { createManualTimers } from '@epara/core/testing';
import { doubler, flat, item, values } from './helpers.js';

const frequency = (rateHz: number, stalenessMs: number) => ({ sensitivity: 'frequency' as const, slo: { kind: 'frequency' as const, rateHz, stalenessMs } });

async function collect(stream: AsyncIterable<StreamResult>): Promise<StreamResult[]> {
  const out: StreamResult[] = [];
  for await (const r of stream) out.push(r);
  return out;
}

/** A stateful fake: `y = x`, and the next state is `state + 1` (state f32[2, batch, 3], batch on axis 1). */
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

describe('executor: streams (fake backend)', () => {
  let ex: Executor | undefined;
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
  });

  it('delivers results in push order, packs frames, drops and counts stale frames', async () => {
    const clock = createManualClock(0);
    const timers = createManualTimers();
    ex = createExecutor({
      backend: { kind: 'fake' },
      clock,
      timers,
      adaptLatency: false,
      batchWait: 'until-deadline',
      guardMs: 1,
      devices: [{ id: 'd0' }],
      services: [{ id: 'v', model: doubler(), ...frequency(10, 30), profile: flat(10), plan: { batchSize: 2, capacityPerSec: 100 }, devices: ['d0'] }],
    });
    await ex.start();
    const stream = ex.openStream('v', { rateHz: 10, stalenessMs: 30 });
    const results = collect(stream);
    const sizes: number[] = [];
    ex.on('batchDispatched', (e) => sizes.push(e.size));
    expect([stream.push(item(0)), stream.push(item(1))]).toEqual([0, 1]); // a full pack: runs now
    stream.push(item(2)); // deadline 30: waits for a partner
    clock.set(25); // too late for frame 2 (25 + L(1) > 30)
    timers.fire(25);
    stream.push(item(3)); // deadline 55
    clock.set(44);
    timers.fire(44);
    const summary = await stream.close();
    expect(summary).toEqual({ pushed: 4, completed: 3, dropped: 1 });
    const r = await results;
    expect(r.map((x) => x.seq)).toEqual([0, 1, 2, 3]);
    expect(r.map((x) => x.ok)).toEqual([true, true, false, true]);
    expect(r[2]!.ok === false && r[2]!.error.code).toBe('STALE_FRAME');
    expect(r[3]!.ok && values(r[3]!.outputs)).toEqual([7, 1]);
    expect(sizes).toEqual([2, 1]);
    expect(ex.stats().streams).toMatchObject({ opened: 1, pushed: 4, completed: 3, dropped: 1, stale: 1, open: 0 });
  });

  it('carries recurrent state per stream, packing frames of several streams into one inference', async () => {
    ex = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0' }],
      services: [
        { id: 'vad', model: stateful, ...frequency(10, 5000), profile: flat(1), plan: { batchSize: 2, capacityPerSec: 1000 }, devices: ['d0'], stateful: { state: { state: 'stateN' } } },
      ],
    });
    await ex.start();
    const sizes: number[] = [];
    ex.on('batchDispatched', (e) => sizes.push(e.size));
    const a = ex.openStream('vad', { rateHz: 10 });
    const b = ex.openStream('vad', { rateHz: 10 });
    const ra = collect(a);
    const rb = collect(b);
    for (let k = 0; k < 3; k++) {
      a.push(item(k, 100));
      b.push(item(k, 200));
    }
    await Promise.all([a.close(), b.close()]);
    const outA = await ra;
    const outB = await rb;
    // Each stream's state went 0 → 1 → 2 → 3 whatever the packing: frames k of a and b shared a pack.
    expect(outA.map((r) => r.ok && values(r.outputs, 'stateN')[0])).toEqual([1, 2, 3]);
    expect(outB.map((r) => r.ok && values(r.outputs, 'stateN')[0])).toEqual([1, 2, 3]);
    expect(outA.map((r) => r.ok && values(r.outputs)[1])).toEqual([100, 100, 100]);
    expect(outB.map((r) => r.ok && values(r.outputs)[1])).toEqual([200, 200, 200]);
    expect(sizes.every((s) => s <= 2)).toBe(true);
    expect(sizes.reduce((x, y) => x + y, 0)).toBe(6);
  });

  it('refuses a stream beyond the spare rate capacity with OVERLOADED', async () => {
    ex = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0' }],
      services: [{ id: 'v', model: doubler(), ...frequency(10, 100), profile: flat(10), plan: { batchSize: 2, capacityPerSec: 25 }, devices: ['d0'] }],
    });
    await ex.start();
    const s1 = ex.openStream('v', { rateHz: 20 });
    expect(() => ex!.openStream('v', { rateHz: 10 })).toThrow(expect.objectContaining({ code: 'OVERLOADED' }));
    await s1.close();
    const s2 = ex.openStream('v', { rateHz: 10 }); // the closed stream's rate was released
    await s2.close();
  });

  it('counts an admitted stream in the load once: its reserved rate, not its frames again', async () => {
    // Stream admission (core's admitStream) reads spare = capacity − loadPerSec: a stream's frames counted beside
    // its reservation halved the streams an instance admitted, each further one refused whole.
    const clock = createManualClock(0);
    const timers = createManualTimers();
    ex = createExecutor({
      backend: { kind: 'fake' },
      clock,
      timers,
      adaptLatency: false,
      devices: [{ id: 'd0' }],
      services: [{ id: 'v', model: doubler(), ...frequency(10, 100), profile: flat(1), plan: { batchSize: 1, capacityPerSec: 100 }, devices: ['d0'] }],
    });
    await ex.start();
    const stream = ex.openStream('v', { rateHz: 10 });
    const results = collect(stream);
    for (let t = 0; t <= 3000; t += 100) {
      clock.set(t);
      timers.fire(t);
      stream.push(item(t));
      await Promise.resolve();
    }
    const load = ex.instances().find((i) => i.serviceId === 'v')!.loadPerSec;
    expect(load).toBeCloseTo(10, 6);
    await stream.close();
    await results;
  });

  it('stripes frames over two replicas and re-orders the results (data parallelism)', async () => {
    ex = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0' }, { id: 'd1' }],
      launchWhenIdle: true,
      services: [
        { id: 'v', model: doubler({ fixedMs: 3, perItemMs: 1 }), ...frequency(100, 10_000), profile: flat(4), plan: { batchSize: 2, capacityPerSec: 1000 }, devices: ['d0', 'd1'] },
      ],
    });
    await ex.start();
    expect(ex.instances()).toEqual([expect.objectContaining({ serviceStrategy: 'data-parallel', status: 'ready' })]);
    const stream = ex.openStream('v', { rateHz: 100 });
    const results = collect(stream);
    for (let k = 0; k < 24; k++) stream.push(item(k));
    await stream.close();
    const r = await results;
    expect(r.map((x) => x.seq)).toEqual(Array.from({ length: 24 }, (_, k) => k));
    expect(r.map((x) => x.ok && values(x.outputs)[0])).toEqual(Array.from({ length: 24 }, (_, k) => 2 * k + 1));
    const devices = ex.stats().devices;
    expect(devices['d0']!.batches).toBeGreaterThan(0);
    expect(devices['d1']!.batches).toBeGreaterThan(0);
  });
});

describe('executor: stream input validation', () => {
  it('push throws INVALID_INPUT for a bad frame without consuming a sequence number', async () => {
    const ex = createExecutor({
      backend: { kind: 'fake' },
      launchWhenIdle: true,
      devices: [{ id: 'd0' }],
      services: [{ id: 'v', model: doubler(), ...frequency(10, 5000), profile: flat(1), plan: { batchSize: 1, capacityPerSec: 100 }, devices: ['d0'] }],
    });
    await ex.start();
    const stream = ex.openStream('v', { rateHz: 10 });
    expect(() => stream.push({ y: { type: 'float32', dims: [1, 2], data: new Float32Array(2) } })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(stream.push(item(1))).toBe(0);
    expect(await stream.close()).toEqual({ pushed: 1, completed: 1, dropped: 0 });
    expect(() => stream.push(item(2))).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    expect(ex.stats().streams).toMatchObject({ pushed: 1, completed: 1 });
    await ex.close();
  });
});
