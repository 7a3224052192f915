import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { createExecutor, type DeviceFellBackEvent, type Executor, type WorkerRestartedEvent } from '@epara/runtime';
import { codeOf, doubler, flat, item, nextEvent, values } from './helpers.js';

const latency = (deadlineMs: number) => ({ sensitivity: 'latency' as const, slo: { kind: 'latency' as const, deadlineMs } });

describe('executor: failures, fallback, lifecycle (fake backend)', () => {
  let ex: Executor | undefined;
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
  });

  it('a model that throws on one request fails only that request: the rest of its batch runs again alone', async () => {
    ex = createExecutor({
      backend: { kind: 'fake' },
      batchWait: 'until-deadline',
      devices: [{ id: 'd0' }],
      services: [{ id: 's', model: doubler({ fixedMs: 2 }), ...latency(200), profile: flat(2), plan: { batchSize: 2 }, devices: ['d0'] }],
    });
    await ex.start();
    // Pairs fill batches of 2 at once: [-7, 1] fails, then each runs alone (-7 fails again, 1 succeeds); [2, 3] succeeds.
    const sizes: [number, boolean][] = [];
    ex.on('batchCompleted', (e) => sizes.push([e.size, e.ok]));
    const results = await Promise.all([item(-7), item(1), item(2), item(3)].map((i) => codeOf(ex!.submit('s', i))));
    expect(results).toEqual(['MODEL_ERROR', 'resolved', 'resolved', 'resolved']);
    expect(ex.stats().services['s']).toMatchObject({ failed: 1, completed: 3 });
    expect(sizes.filter(([, ok]) => !ok)).toEqual([[2, false], [1, false]]);
    const [four] = await Promise.all([ex.submit('s', item(4)), ex.submit('s', item(5))]); // a full pair: no waiting
    expect(values(four!)).toEqual([9, 1]);
  });

  it('restarts a crashed worker: in-flight requests fail with WORKER_CRASHED, later ones succeed', async () => {
    ex = createExecutor({
      backend: { kind: 'fake' },
      launchWhenIdle: true,
      devices: [{ id: 'd0' }],
      services: [{ id: 's', model: doubler({ fixedMs: 1 }), ...latency(5000), profile: flat(1), plan: { batchSize: 1 }, devices: ['d0'] }],
    });
    await ex.start();
    const restarted = nextEvent<WorkerRestartedEvent>(ex, 'workerRestarted');
    expect(await codeOf(ex.submit('s', item(-99)))).toBe('WORKER_CRASHED');
    expect(await restarted).toMatchObject({ deviceId: 'd0', reloadedModels: 1 });
    expect(values(await ex.submit('s', item(2)))).toEqual([5, 1]);
    expect(ex.stats().devices['d0']!.restarts).toBe(1);
  });

  it('runs a cuda device on the CPU after the provider fails, with a deviceFellBack event', async () => {
    ex = createExecutor({
      backend: { kind: 'fake' },
      launchWhenIdle: true,
      devices: [{ id: 'gpu0', provider: 'cuda' }],
      services: [{ id: 's', model: doubler(), ...latency(5000), profile: flat(1), plan: { batchSize: 1 } }],
    });
    const fell = nextEvent<DeviceFellBackEvent>(ex, 'deviceFellBack');
    await ex.load({ serviceId: 's' });
    expect(await fell).toMatchObject({ deviceId: 'gpu0', requested: 'cuda', used: 'cpu' });
    expect(ex.stats().devices['gpu0']).toMatchObject({ provider: 'cuda', fellBack: true });
    expect(values(await ex.submit('s', item(1)))).toEqual([3, 1]);
  });

  it('close settles everything: queued requests get CLOSED, running batches finish, streams end', async () => {
    ex = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0' }],
      services: [
        { id: 's', model: doubler({ fixedMs: 30 }), ...latency(60_000), profile: flat(30), plan: { batchSize: 2 }, devices: ['d0'] },
        { id: 'v', model: doubler(), sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 1, stalenessMs: 60_000 }, profile: flat(1), plan: { batchSize: 4, capacityPerSec: 100 }, devices: ['d0'] },
      ],
    });
    await ex.start();
    const running = [ex.submit('s', item(1)), ex.submit('s', item(2))]; // full: dispatched at once
    const queued = codeOf(ex.submit('s', item(3))); // waits to fill (deadline a minute away)
    const stream = ex.openStream('v', { rateHz: 1 });
    stream.push(item(4));
    const iterated = (async () => {
      const seen: boolean[] = [];
      for await (const r of stream) seen.push(r.ok);
      return seen;
    })();
    await ex.close();
    expect(await Promise.all(running.map(codeOf))).toEqual(['resolved', 'resolved']);
    expect(await queued).toBe('CLOSED');
    expect(await iterated).toEqual([false]);
    expect(await stream.close()).toEqual({ pushed: 1, completed: 0, dropped: 1 });
    ex = undefined;
  });

  it('loads a second instance before the first drains (make-before-break); queued work finishes', async () => {
    ex = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0' }, { id: 'd1' }],
      services: [{ id: 's', model: doubler({ fixedMs: 5 }), ...latency(60_000), profile: flat(5), plan: { batchSize: 4 } }],
    });
    const states: string[] = [];
    ex.on('instanceChanged', (e) => states.push(`${e.instance.instanceId}:${e.status}`));
    const first = await ex.load({ serviceId: 's' }, { deviceIds: ['d0'], instanceId: 'old' });
    expect(first).toMatchObject({ status: 'ready', serviceStrategy: 'single', batchSize: 4 });
    const pending = [ex.submit('s', item(1)), ex.submit('s', item(2))]; // waiting to fill on 'old'
    await ex.load({ serviceId: 's' }, { deviceIds: ['d1'], instanceId: 'new' });
    expect(ex.instances().map((i) => `${i.instanceId}:${i.status}`)).toEqual(['old:ready', 'new:ready']);
    expect(ex.instances().map((i) => i.deviceIds)).toEqual([['d0'], ['d1']]);
    const unloading = ex.unload('old');
    expect(ex.instances().find((i) => i.instanceId === 'old')?.status).toBe('draining');
    const later = ex.submit('s', item(3), { deadline: Date.now() + 60_000 }); // only 'new' takes work now
    // Draining, 'old' stops waiting for its batch to fill: the queued items run now.
    expect((await Promise.all(pending)).map((o) => values(o))).toEqual([[3, 1], [5, 1]]);
    await unloading;
    expect(ex.instances().map((i) => i.instanceId)).toEqual(['new']);
    expect(states).toEqual(['old:ready', 'new:ready', 'old:draining', 'old:unloaded']);
    expect(ex.stats().devices['d0']!.instances).toEqual([]);
    const laterCode = codeOf(later);
    await ex.close();
    expect(await laterCode).toBe('CLOSED'); // it was waiting to fill on 'new'
    ex = undefined;
  });
});

describe('executor: several instances of one service', () => {
  it('sends a request to the instance with the earliest expected completion; estimate reflects the queue', async () => {
    // A manual clock: the estimates compare predicted times only. (On the wall clock a host stalled for the
    // 40 ms profile between two submits saw d0's batch "due now", tied it with the idle d1 and sent both to d0.)
    const clock = createManualClock(1_000);
    const ex = createExecutor({
      backend: { kind: 'fake' },
      clock,
      timers: createManualTimers(),
      adaptLatency: false,
      launchWhenIdle: true,
      devices: [{ id: 'd0' }, { id: 'd1' }],
      services: [{ id: 's', model: doubler({ fixedMs: 1 }), ...latency(60_000), profile: flat(40), plan: { batchSize: 1 }, maxBatch: 1 }],
    });
    await ex.load({ serviceId: 's' }, { deviceIds: ['d0'] });
    await ex.load({ serviceId: 's' }, { deviceIds: ['d1'] });
    const devices: string[] = [];
    ex.on('batchDispatched', (e) => devices.push(e.deviceId));
    const idle = ex.estimate('s')!;
    expect(idle.completionAt).toBe(1_040); // an idle device: now + L(1)
    const first = ex.submit('s', item(1));
    expect(devices).toEqual(['d0']); // equal estimates: the first instance
    clock.advance(10);
    const second = ex.submit('s', item(2)); // d0 is expected busy until 1 040: d1 finishes it first (1 050 < 1 080)
    expect(devices).toEqual(['d0', 'd1']);
    const third = ex.submit('s', item(3)); // both busy: it waits behind d0's batch, so the estimate grows
    expect(ex.estimate('s')!.completionAt).toBeGreaterThan(idle.completionAt + 40);
    expect(ex.estimate('nope')).toBeUndefined();
    await Promise.all([first, second, third]);
    expect(await codeOf(ex.load({ serviceId: 's', serviceStrategy: 'model-parallel', devices: 2 }))).toBe('INFEASIBLE');
    await ex.close();
  });
});
