import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'eventemitter3';
import { createManualClock, isEparaError, type NamedTensors } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { DeviceHandle, LoadedModelInfo, TimedRun } from '../devices/device-port.js';
import type { Lane } from '../batching/lane.js';
import type { WorkItem } from '../batching/work-item.js';
import { DeviceScheduler } from '../executor/device-scheduler.js';
import { fakeItem, fakeLane } from '../testing/fake-lane.js';
import { createGenerationEngine } from './generation-engine.js';
import type { StepCompletedEvent } from './generation-events.js';
import type { Sequence } from './generation-request.js';
import { stepDeadline } from './step-deadline.js';

const VOCAB = 32;

/**
 * A language-model device whose calls end when the test says so. Every call is logged in device order (the
 * steps as `lm`, the lane's batches as `lane`); the next token of a row is its last token + 1, and the device
 * reports `computeMs` of compute for every step, whatever the clock did meanwhile.
 */
function fakeDevice(computeMs: number) {
  const calls: { kind: 'lm' | 'lane'; finish: () => void }[] = [];
  const log: string[] = [];
  const info: LoadedModelInfo = {
    inputs: [
      { name: 'input_ids', type: 'int64', dims: [-1, -1] },
      { name: 'attention_mask', type: 'int64', dims: [-1, -1] },
    ],
    outputs: [{ name: 'logits', type: 'float32', dims: [-1, -1, VOCAB] }],
    memoryBytes: 1,
    executionProvider: 'cpu',
  } as LoadedModelInfo;
  const runTimed = (_key: string, feeds: NamedTensors): Promise<TimedRun> => {
    const [batch = 0, len = 0] = feeds['input_ids']!.dims;
    const ids = feeds['input_ids']!.data as BigInt64Array;
    const logits = new Float32Array(batch * VOCAB);
    for (let b = 0; b < batch; b++) logits[b * VOCAB + ((Number(ids[b * len + len - 1]) + 1) % VOCAB)] = 1;
    log.push('lm');
    return new Promise((resolve) => calls.push({ kind: 'lm', finish: () => resolve({ outputs: { logits: { type: 'float32', dims: [batch, 1, VOCAB], data: logits } }, runMs: computeMs }) }));
  };
  const device = Object.assign(new EventEmitter(), {
    id: 'd0',
    provider: 'cpu' as const,
    threads: 1,
    memoryBytes: Infinity,
    loadModel: async () => info,
    runTimed,
    run: async (key: string, feeds: NamedTensors) => (await runTimed(key, feeds)).outputs,
    unloadModel: async () => undefined,
    close: async () => undefined,
  }) as unknown as DeviceHandle;
  return { device, calls, log };
}

/** A lane of another service on the same device: each batch is one call the test finishes. */
function otherLane(scheduler: () => DeviceScheduler, runMs: number, dev: ReturnType<typeof fakeDevice>): Lane {
  return fakeLane({
    id: 'image/0',
    serviceId: 'image',
    batchSize: 1,
    runMs,
    freeAt: scheduler,
    run: (items, _device, _startedAt, done) => {
      dev.log.push(`lane:${items.map((i) => i.deadline).join(',')}`);
      dev.calls.push({ kind: 'lane', finish: () => done.batchEnded(undefined) });
    },
  }).lane;
}

const item = (deadline: number): WorkItem => fakeItem(deadline, { serviceId: 'image' });
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(o: { computeMs?: number; laneRunMs?: number } = {}) {
  const clock = createManualClock(0);
  const dev = fakeDevice(o.computeMs ?? 1);
  const scheduler: DeviceScheduler = new DeviceScheduler({ device: dev.device, clock, timers: createManualTimers(clock), onDispatch: () => undefined });
  const lane = otherLane(() => scheduler, o.laneRunMs ?? 10, dev);
  scheduler.attach(lane);
  const engine = createGenerationEngine({ device: dev.device, workQueue: scheduler, model: { bytes: new Uint8Array(1) }, maxBatch: 4, maxSeq: 32, calibrate: false, clock });
  const steps: StepCompletedEvent[] = [];
  engine.on('stepCompleted', (e) => steps.push(e));
  /** Finishes the oldest device call after `ms` of clock time. */
  const finish = async (ms: number): Promise<'lm' | 'lane'> => {
    await tick();
    const call = dev.calls.shift();
    if (!call) throw new Error('no device call is running');
    clock.advance(ms);
    call.finish();
    await tick();
    return call.kind;
  };
  return { clock, dev, scheduler, lane, engine, steps, finish };
}

describe('generation steps on the device scheduler', () => {
  it('runs every step as device work: counted in the launches and busy time, held on the timeline while it runs', async () => {
    const { scheduler, engine, steps, finish, clock } = setup();
    await engine.start();
    const tokens = engine.generate({ tokens: [3], maxNewTokens: 3, deadline: 1000 }).collect();
    await tick();
    expect(scheduler.busy).toBe(true);
    for (let i = 0; i < 3; i++) expect(await finish(4)).toBe('lm');
    expect(await tokens).toEqual([4, 5, 6]);
    expect(steps).toHaveLength(3);
    expect(scheduler.counters()).toEqual({ busyMs: 12, batches: 3 });
    expect(scheduler.freeAt(clock.now())).toBe(clock.now());
    await engine.close();
  });

  it('sends a later batch ahead between two steps only when the next step still makes its deadline', async () => {
    const { dev, scheduler, lane, engine, finish } = setup({ laneRunMs: 100 });
    await engine.start();
    lane.queue.push(item(150));
    scheduler.pump(); // running: a 100 ms batch due at 150
    // A 3-token turn due at 300: its first step is paced at 100 (before the batch due at 5000), the next at 150.
    const turn = engine.generate({ tokens: [1], maxNewTokens: 3, deadline: 300 }).collect();
    await tick();
    lane.queue.push(item(5000));
    scheduler.pump();
    // Behind the first step, the 100 ms batch would make the second step (due at 150) late: it waits.
    expect(dev.log).toEqual(['lane:150', 'lm']);
    await finish(100);
    expect(dev.log).toEqual(['lane:150', 'lm']);
    // The second step (due near 200) goes first; behind it the third (due at 300) has room for the batch.
    await finish(1);
    while (dev.calls.length > 0) await finish(1);
    expect(await turn).toEqual([2, 3, 4]);
    expect(dev.log).toEqual(['lane:150', 'lm', 'lm', 'lane:5000', 'lm']);
    await engine.close();
  });

  it('a step whose members are urgent goes before an earlier-queued batch with a later deadline', async () => {
    const { dev, scheduler, lane, engine, finish } = setup({ laneRunMs: 10 });
    await engine.start();
    lane.queue.push(item(40));
    scheduler.pump(); // running: the batch due at 40
    lane.queue.push(item(300));
    const turn = engine.generate({ tokens: [1], maxNewTokens: 1, deadline: 100 }).collect();
    await tick();
    while (dev.calls.length > 0) await finish(1);
    expect(await turn).toEqual([2]);
    expect(dev.log).toEqual(['lane:40', 'lm', 'lane:300']);
    await engine.close();
  });

  it('learns the step cost from the compute time the device reports, not from the wall time spent queued', async () => {
    const { dev, scheduler, lane, engine, steps, finish } = setup({ computeMs: 2, laneRunMs: 40 });
    await engine.start();
    // Four 40 ms batches of the other service, all due before the turn's steps: the first step waits 160 ms.
    for (let i = 0; i < 4; i++) lane.queue.push(item(10_000 + i));
    scheduler.pump();
    const turn = engine.generate({ tokens: [1, 2], maxNewTokens: 4, deadline: 100_000 }).collect();
    await tick();
    while (dev.calls.length > 0) await finish(dev.calls[0]!.kind === 'lane' ? 40 : 2);
    expect(await turn).toEqual([3, 4, 5, 6]);
    expect(dev.log).toEqual(['lane:10000', 'lane:10001', 'lane:10002', 'lane:10003', 'lm', 'lm', 'lm', 'lm']);
    expect(steps[0]!.startedAt - steps[0]!.queuedAt).toBeGreaterThanOrEqual(160);
    expect(steps.map((s) => s.computeMs)).toEqual([2, 2, 2, 2]);
    // A 10-token turn is estimated at its compute: steps of about 2 ms, not the 40+ ms the first one waited.
    const est = engine.estimate({ promptTokens: 2, maxNewTokens: 10 });
    expect(est.stepMs).toBeGreaterThan(1.5);
    expect(est.stepMs).toBeLessThan(3);
    await engine.close();
  });

  it('prices the expected steps of a turn with the wait for the batch in progress of the services sharing the device', async () => {
    const { scheduler, lane, engine, finish } = setup({ computeMs: 2, laneRunMs: 10 });
    await engine.start();
    const first = engine.generate({ tokens: [1], maxNewTokens: 1 }).collect();
    await finish(2);
    await first;
    // Alone on the device, steps are priced at their learned compute (the fake device adds no hand-off).
    const alone = engine.estimate({ promptTokens: 1, maxNewTokens: 10 }, 2);
    expect(alone.stepMs).toBeGreaterThan(0);
    // The image service's arrivals need 90 % of the device: a step queued at a random moment finds one of its
    // 10 ms batches running 90 % of the time, with 5 ms of it left on average. EDF runs the step next (it is
    // more urgent than the batches queued behind), so it waits that residual, not for every batch that arrives.
    lane.loadShare = () => 0.9;
    expect(scheduler.sharedLoad(2)).toBeCloseTo(0.9, 9);
    expect(scheduler.residualMs(2)).toBeCloseTo(4.5, 9);
    const shared = engine.estimate({ promptTokens: 1, maxNewTokens: 10 }, 2);
    expect(shared.stepMs).toBeCloseTo(alone.stepMs + 4.5, 6);
    expect(shared.completionAt - alone.completionAt).toBeCloseTo(10 * 4.5, 6);
    // Past saturation the device is running a batch all the time: half a batch at most, not without bound.
    lane.loadShare = () => 3;
    expect(engine.estimate({ promptTokens: 1, maxNewTokens: 10 }, 2).stepMs).toBeCloseTo(alone.stepMs + 5, 6);
    // Admission stays optimistic: a turn that fits at compute time is admitted (EDF gives urgent steps the device).
    const turn = engine.generate({ tokens: [1], maxNewTokens: 2, deadline: 2 + 10 }).collect();
    await finish(2);
    await finish(2);
    expect(await turn).toEqual([2, 3]);
    await engine.close();
  });

  it('forgets a step overhead no step refreshed, so that one inflated by a stall cannot refuse every turn for good', async () => {
    const { clock, engine, finish } = setup({ computeMs: 2 });
    await engine.start();
    // Three steps on an idle device, each 200 ms from launch to outputs for 2 ms of compute (a stall): the
    // overhead learned grows to about 97 ms a step, which prices a 10-token turn at about a second.
    const stalled = engine.generate({ tokens: [1], maxNewTokens: 3, deadline: 100_000 }).collect();
    for (let i = 0; i < 3; i++) await finish(200);
    await stalled;
    const turn = { promptTokens: 1, maxNewTokens: 10 };
    const inflated = engine.estimate(turn).stepMs;
    expect(inflated).toBeGreaterThan(90);
    // Kept for a second after the last step, then halved every two seconds.
    clock.advance(900);
    expect(engine.estimate(turn).stepMs).toBeCloseTo(inflated, 6);
    clock.advance(5100); // 5 s past the keep: 2.5 half-lives
    expect(engine.estimate(turn).stepMs).toBeCloseTo(2 + (inflated - 2) * 0.5 ** 2.5, 1);
    clock.advance(10_000);
    expect(engine.estimate(turn).stepMs).toBeLessThan(4);
    await engine.close();
  });

  it('queues a step at what it holds the device: its compute plus the hand-offs learned from steps', async () => {
    const { clock, scheduler, engine, finish } = setup({ computeMs: 2 });
    await engine.start();
    // A step that held the idle device 12 ms for 2 ms of compute: 10 ms of hand-offs, a fifth of which the
    // overhead learns from one step (2 ms).
    const first = engine.generate({ tokens: [1], maxNewTokens: 1 }).collect();
    await finish(12);
    await first;
    const turn = engine.generate({ tokens: [1], maxNewTokens: 1 }).collect();
    await tick();
    // The device's timeline, which every other service's plan and estimate read, holds it for 2 + 2 ms, not for
    // its 2 ms of compute: a batch sent behind it is planned to start when it really ends.
    expect(scheduler.busy).toBe(true);
    expect(scheduler.freeAt(clock.now()) - clock.now()).toBeCloseTo(4, 9);
    await finish(4);
    expect(await turn).toEqual([2]);
    await engine.close();
  });

  it('counts queued steps in what other services on the device see', async () => {
    const { clock, scheduler, lane, engine, finish } = setup({ computeMs: 2, laneRunMs: 10 });
    await engine.start();
    // A first turn alone teaches the engine a step of one token: 2 ms of compute.
    const first = engine.generate({ tokens: [1], maxNewTokens: 1 }).collect();
    await finish(2);
    await first;
    lane.queue.push(item(100));
    lane.queue.push(item(200));
    lane.queue.push(item(300));
    scheduler.pump(); // one batch running, one sent ahead, one due before the step: the step must queue
    const turn = engine.generate({ tokens: [1], maxNewTokens: 1 }).collect();
    await tick();
    expect(scheduler.queuedWorkMs()).toBe(2);
    expect(scheduler.freeAt(clock.now())).toBe(clock.now() + 20);
    // The engine's own estimate starts after what the device holds.
    expect(engine.estimate({ promptTokens: 1, maxNewTokens: 1 }).firstTokenAt).toBeGreaterThanOrEqual(clock.now() + 20);
    await finish(10);
    await finish(10);
    await finish(10);
    await finish(2);
    expect(await turn).toEqual([2]);
    await engine.close();
  });

  it('a sequence that can no longer finish by its deadline leaves with DEADLINE_EXCEEDED instead of taking the device', async () => {
    const { dev, engine, steps, finish } = setup({ computeMs: 2 });
    await engine.start();
    const left: string[] = [];
    engine.on('sequenceLeft', (e) => left.push(e.reason));
    const doomed = engine
      .generate({ tokens: [1], maxNewTokens: 5, deadline: 10 })
      .collect()
      .catch((e: unknown) => e);
    const fine = engine.generate({ tokens: [7], maxNewTokens: 5, deadline: 10_000 }).collect();
    // The first step took 9 ms of wall time: 4 more steps of 2 ms cannot end by 10.
    await finish(9);
    const error = await doomed;
    expect(isEparaError(error) && error.code).toBe('DEADLINE_EXCEEDED');
    while (dev.calls.length > 0) await finish(2);
    expect(await fine).toEqual([8, 9, 10, 11, 12]);
    expect(left).toEqual(['deadline', 'length']);
    // Only the first step carried the doomed sequence.
    expect(steps.map((s) => s.batch)).toEqual([2, 1, 1, 1, 1]);
    await engine.close();
  });

  it('queued steps fail with CLOSED when the scheduler closes: every stream settles', async () => {
    const { scheduler, lane, engine, finish } = setup({ laneRunMs: 10 });
    await engine.start();
    lane.queue.push(item(20));
    lane.queue.push(item(30));
    lane.queue.push(item(40));
    scheduler.pump(); // the device holds two batches and a third is due first: the step queues in the scheduler
    const turn = engine.generate({ tokens: [1], maxNewTokens: 5 }).collect();
    await tick();
    scheduler.close();
    const error = await turn.catch((e: unknown) => e);
    expect(isEparaError(error) && error.code).toBe('CLOSED');
    await finish(10);
    await finish(10);
    await engine.close();
  });
});

describe('stepDeadline', () => {
  const seqOf = (o: Partial<Sequence>): Sequence => ({ id: 1, tokens: [1], promptTokens: 1, maxNewTokens: 10, generated: 0, ttftDeadline: Infinity, tpotMs: Infinity, deadline: Infinity, channel: undefined as never, state: 'active', cleanup: () => undefined, ...o });

  it('paces a turn over its slack, but never later than its last feasible moment or its first-token deadline', () => {
    // 10 steps left, 1000 ms of slack: the even share ends at 100.
    expect(stepDeadline([seqOf({ deadline: 1000 })], { now: 0, stepMs: 1 })).toBe(100);
    // Little slack: the last moment (1000 − 9 × 100) comes first.
    expect(stepDeadline([seqOf({ deadline: 1000 })], { now: 0, stepMs: 150 })).toBe(1000 - 9 * 150);
    expect(stepDeadline([seqOf({ deadline: 1000, ttftDeadline: 30 })], { now: 0, stepMs: 1 })).toBe(30);
    // The tightest member sets the step's deadline; without deadlines there is none.
    expect(stepDeadline([seqOf({ deadline: 1000 }), seqOf({ deadline: 400, generated: 6 })], { now: 0, stepMs: 1 })).toBe(100);
    expect(stepDeadline([seqOf({})], { now: 0, stepMs: 1 })).toBe(Infinity);
  });
});
