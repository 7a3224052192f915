import { afterEach, describe, expect, it } from 'vitest';
import { affineProfile, createManualClock } from '@epara/core';
import { createExecutor, type BatchDispatchedEvent, type Executor, type RequestDroppedEvent } from '@epara/runtime';
import { createManualTimers } from '@epara/core/testing';
import { codeOf, doubler, flat, item, values } from './helpers.js';

const latency = (deadlineMs: number) => ({ sensitivity: 'latency' as const, slo: { kind: 'latency' as const, deadlineMs } });

describe('executor: deadline-aware batching (fake backend)', () => {
  let ex: Executor | undefined;
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
  });

  it('stacks concurrent items into batches whose outputs equal single runs', async () => {
    ex = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0' }],
      services: [{ id: 's', model: doubler({ fixedMs: 5 }), ...latency(10_000), profile: flat(5), plan: { batchSize: 4 }, devices: ['d0'] }],
      launchWhenIdle: true,
    });
    await ex.start();
    const sizes: number[] = [];
    ex.on('batchDispatched', (e) => sizes.push(e.size));
    const outs = await Promise.all(Array.from({ length: 9 }, (_, i) => ex!.submit('s', item(i, i + 0.5))));
    outs.forEach((o, i) => expect(values(o)).toEqual([2 * i + 1, 2 * i + 2]));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(9);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4);
  });

  it('never stacks items whose non-batch shapes differ', async () => {
    const clock = createManualClock(0);
    const timers = createManualTimers();
    const model = doubler({ inputs: [{ name: 'x', type: 'float32', dims: ['batch', 'n'] }] });
    ex = createExecutor({
      backend: { kind: 'fake' },
      clock,
      timers,
      adaptLatency: false,
      batchWait: 'until-deadline',
      guardMs: 1,
      devices: [{ id: 'd0' }],
      // A free non-batch dim: the batch check at load needs a sample item to run with.
      services: [{ id: 's', model, ...latency(10_000), profile: flat(10), plan: { batchSize: 8 }, sampleInputs: item(0), devices: ['d0'] }],
    });
    await ex.start();
    const batches: BatchDispatchedEvent[] = [];
    ex.on('batchDispatched', (e) => batches.push(e));
    const wide = (v: number) => ({ x: { type: 'float32' as const, dims: [1, 3], data: new Float32Array([v, v, v]) } });
    // The wide pair's deadline leaves room for one batch of the narrow pair before it: the narrow batch takes
    // L = 10; the wide items are 1.5× the sample item, so their batch is planned at 15.
    const p = [
      ex.submit('s', item(1), { deadline: 100 }),
      ex.submit('s', wide(2), { deadline: 125 }),
      ex.submit('s', item(3), { deadline: 100 }),
      ex.submit('s', wide(4), { deadline: 125 }),
    ];
    clock.set(89);
    timers.fire(89);
    await Promise.all([p[0], p[2]]);
    clock.set(109);
    timers.fire(109);
    const outs = await Promise.all(p);
    expect(batches.map((b) => b.size)).toEqual([2, 2]);
    expect(outs.map((o) => values(o))).toEqual([[3, 1], [5, 5, 5], [7, 1], [9, 9, 9]]);
  });

  it('follows EDF, waits to fill, launches when the earliest deadline requires it, drops the hopeless (manual clock)', async () => {
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
      services: [{ id: 's', model: doubler(), ...latency(1000), profile: flat(10), plan: { batchSize: 4 }, devices: ['d0'] }],
    });
    await ex.start();
    const dispatched: BatchDispatchedEvent[] = [];
    const dropped: RequestDroppedEvent[] = [];
    ex.on('batchDispatched', (e) => dispatched.push(e));
    ex.on('requestDropped', (e) => dropped.push(e));
    const a = ex.submit('s', item(1), { deadline: 100 });
    const b = ex.submit('s', item(2), { deadline: 50 });
    const c = ex.submit('s', item(3), { deadline: 5 }); // 0 + L(1)=10 > 5: can never make it
    expect(await codeOf(c)).toBe('DEADLINE_EXCEEDED');
    expect(dropped).toEqual([expect.objectContaining({ code: 'DEADLINE_EXCEEDED', deadline: 5 })]);
    expect(dispatched).toHaveLength(0);
    // Not full: it sleeps until 50 - guard(1) - L(2)(10) = 39.
    clock.set(38);
    timers.fire(38);
    expect(dispatched).toHaveLength(0);
    clock.set(39);
    timers.fire(39);
    expect(dispatched).toEqual([expect.objectContaining({ size: 2, at: 39 })]);
    expect(values(await b)).toEqual([5, 1]);
    expect(values(await a)).toEqual([3, 1]);
  });

  it('launches a full batch at once, in EDF order with priority breaking ties', async () => {
    const clock = createManualClock(0);
    ex = createExecutor({
      backend: { kind: 'fake' },
      clock,
      timers: createManualTimers(),
      batchWait: 'until-deadline',
      devices: [{ id: 'd0' }],
      services: [{ id: 's', model: doubler(), ...latency(1000), profile: flat(10), plan: { batchSize: 2 }, maxBatch: 2, devices: ['d0'] }],
    });
    await ex.start();
    const sizes: number[] = [];
    ex.on('batchDispatched', (e) => sizes.push(e.size));
    const order: number[] = [];
    const track = (p: Promise<unknown>, id: number) => p.then(() => order.push(id));
    // The device takes two full pairs at once (one running, one sent ahead to its worker); the rest queue
    // and leave in EDF order, priority breaking the tie at 300.
    const ps = [
      track(ex.submit('s', item(10), { deadline: 900 }), 10),
      track(ex.submit('s', item(11), { deadline: 900 }), 11),
      track(ex.submit('s', item(12), { deadline: 900 }), 12),
      track(ex.submit('s', item(13), { deadline: 900 }), 13),
      track(ex.submit('s', item(0), { deadline: 500 }), 0),
      track(ex.submit('s', item(2), { deadline: 300 }), 2),
      track(ex.submit('s', item(1), { deadline: 400 }), 1),
      track(ex.submit('s', item(3), { deadline: 300, priority: 5 }), 3),
      track(ex.submit('s', item(4), { deadline: 200 }), 4),
      track(ex.submit('s', item(5), { deadline: 950 }), 5),
    ];
    await Promise.all(ps);
    expect(sizes).toEqual([2, 2, 2, 2, 2]);
    expect(order.slice(4, 6).sort()).toEqual([3, 4]);
    expect(order.slice(6, 8).sort()).toEqual([1, 2]);
    expect(order.slice(8).sort()).toEqual([0, 5]);
  });

  it('grows batches beyond the plan under a backlog, as far as the deadlines allow', async () => {
    const clock = createManualClock(0);
    ex = createExecutor({
      backend: { kind: 'fake' },
      clock,
      timers: createManualTimers(),
      adaptLatency: false,
      batchWait: 'until-deadline',
      devices: [{ id: 'd0' }],
      // L(b) = 10 + 10·b: the plan batches 2; a backlog may grow to L(b) ≤ 100, i.e. 9.
      services: [{ id: 's', model: doubler(), ...latency(100), profile: affineProfile('cpu-1t', { fixedMs: 10, perItemMs: 10, maxBatch: 16 }), plan: { batchSize: 2 }, devices: ['d0'] }],
    });
    await ex.start();
    const sizes: number[] = [];
    ex.on('batchDispatched', (e) => sizes.push(e.size));
    const first = Array.from({ length: 4 }, (_, i) => ex!.submit('s', item(i), { deadline: 1000 }));
    // Two pairs went (one running, one ahead); now a backlog: six tight ones and two that fit only smaller batches.
    const backlog = Array.from({ length: 6 }, (_, i) => ex!.submit('s', item(10 + i), { deadline: 1000 }));
    await Promise.all([...first, ...backlog]);
    expect(sizes).toEqual([2, 2, 6]);
  });

  it('removes an aborted request from a forming batch', async () => {
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
      services: [{ id: 's', model: doubler(), ...latency(1000), profile: flat(10), plan: { batchSize: 4 }, devices: ['d0'] }],
    });
    await ex.start();
    const sizes: number[] = [];
    ex.on('batchDispatched', (e) => sizes.push(e.size));
    const ac = new AbortController();
    const a = ex.submit('s', item(1), { deadline: 100, signal: ac.signal });
    const b = ex.submit('s', item(2), { deadline: 100 });
    ac.abort();
    expect(await codeOf(a)).toBe('ABORTED');
    clock.set(89);
    timers.fire(89);
    expect(values(await b)).toEqual([5, 1]);
    expect(sizes).toEqual([1]);
    expect(ex.stats().services['s']).toMatchObject({ submitted: 2, completed: 1, dropped: 0 });
  });
});
