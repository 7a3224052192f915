import { describe, expect, it } from 'vitest';
import { createManualClock, EparaError, silentLogger } from '@epara/core';
import type { ClusterView, LocalExecutor, NamedTensors, ServerEntry } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { LocalLateness } from './local-lateness.js';
import { RequestHandler } from './request-handler.js';

const x: NamedTensors = { x: { type: 'float32', dims: [1], data: Float32Array.of(1) } };

describe('LocalLateness', () => {
  it('is 1 until four fresh observations exist, then the median ratio of real to estimated wait', () => {
    const l = new LocalLateness(2000);
    for (const [i, real] of [20, 30, 40].entries()) l.observe('s', { decidedAt: i, estimateAt: i + 10, settledAt: i + real });
    expect(l.ratio('s', 10)).toBe(1);
    l.observe('s', { decidedAt: 3, estimateAt: 13, settledAt: 3 + 50 });
    // Ratios 2, 3, 4, 5: the median is 3.5.
    expect(l.ratio('s', 60)).toBeCloseTo(3.5);
    expect(l.ratio('other', 60)).toBe(1);
  });

  it('never corrects below 1 nor above 4, and ignores waits estimated under 1 ms', () => {
    const fast = new LocalLateness(2000);
    const slow = new LocalLateness(2000);
    for (let i = 0; i < 6; i++) {
      fast.observe('s', { decidedAt: 0, estimateAt: 10, settledAt: 5 });
      slow.observe('s', { decidedAt: 0, estimateAt: 10, settledAt: 100 });
      slow.observe('t', { decidedAt: 0, estimateAt: 0.5, settledAt: 100 });
    }
    expect(fast.ratio('s', 100)).toBe(1);
    expect(slow.ratio('s', 100)).toBe(4);
    expect(slow.ratio('t', 100)).toBe(1);
  });

  it('forgets observations older than maxAgeMs, so a corrected service is trusted again', () => {
    const l = new LocalLateness(2000);
    for (let i = 0; i < 4; i++) l.observe('s', { decidedAt: 0, estimateAt: 10, settledAt: 30 });
    expect(l.ratio('s', 2030)).toBe(3);
    expect(l.ratio('s', 2031)).toBe(1);
  });

  it('scales the wait from now of a ready estimate; an absent, unready or past estimate is unchanged', () => {
    const l = new LocalLateness(2000);
    for (let i = 0; i < 4; i++) l.observe('s', { decidedAt: 0, estimateAt: 10, settledAt: 20 });
    expect(l.correct('s', { ready: true, completionAt: 130 }, 100)).toEqual({ ready: true, completionAt: 160 });
    const unready = { ready: false, completionAt: 130 };
    expect(l.correct('s', unready, 100)).toBe(unready);
    expect(l.correct('s', undefined, 100)).toBeUndefined();
    const past = { ready: true, completionAt: 90 };
    expect(l.correct('s', past, 100)).toBe(past);
  });

  it('hostRatio takes the median over every service\'s fresh observations', () => {
    const l = new LocalLateness(2000);
    expect(l.hostRatio(0)).toBe(1);
    // Two per service: neither service has enough alone, the host has four (ratios 2, 2, 3, 5: median 2.5).
    for (const real of [20, 50]) l.observe('a', { decidedAt: 0, estimateAt: 10, settledAt: real });
    for (const real of [20, 30]) l.observe('b', { decidedAt: 0, estimateAt: 10, settledAt: real });
    expect(l.ratio('a', 50)).toBe(1);
    expect(l.hostRatio(50)).toBeCloseTo(2.5);
    // Aged out, and clamped to 4 like the per-service ratio.
    expect(l.hostRatio(2051)).toBe(1);
    for (let i = 0; i < 8; i++) l.observe('c', { decidedAt: 3000, estimateAt: 3010, settledAt: 3100 });
    expect(l.hostRatio(3100)).toBe(4);
  });

  it('drops the correction once its queue drained: every admitted request past its deadline, none since', () => {
    const l = new LocalLateness(2000);
    // Four requests admitted 1 ms apart, each dropped at its deadline 25 ms later against an estimate of 10 ms.
    for (let i = 0; i < 4; i++) {
      l.admitted('s', { decidedAt: i, deadline: i + 25 });
      l.observe('s', { decidedAt: i, estimateAt: i + 10, settledAt: i + 25 });
    }
    expect(l.ratio('s', 28)).toBeCloseTo(2.5);
    expect(l.hostRatio(28)).toBeCloseTo(2.5);
    // Past the last deadline the queue they waited in is empty, though the observations are well within 2 s.
    expect(l.ratio('s', 29)).toBe(1);
    expect(l.hostRatio(29)).toBe(1);
    // The next request starts a new queue: the old observations are gone, and a late one of the old queue (a
    // batch that ran past its deadline) is not taken. Three fresh ones are too few for a correction.
    l.admitted('s', { decidedAt: 500, deadline: 800 });
    l.observe('s', { decidedAt: 3, estimateAt: 13, settledAt: 510 });
    for (let i = 0; i < 3; i++) l.observe('s', { decidedAt: 500, estimateAt: 510, settledAt: 520 });
    expect(l.ratio('s', 520)).toBe(1);
    l.observe('s', { decidedAt: 501, estimateAt: 511, settledAt: 521 });
    expect(l.ratio('s', 521)).toBe(2);
  });

  it('keeps the correction while a request of its queue is still due, and for services it was never told of', () => {
    const l = new LocalLateness(2000);
    l.admitted('s', { decidedAt: 0, deadline: 1000 });
    for (let i = 0; i < 4; i++) {
      l.admitted('s', { decidedAt: i, deadline: i + 25 });
      l.observe('s', { decidedAt: i, estimateAt: i + 10, settledAt: i + 30 });
      // Observed without admissions (a host that records waits only): nothing tells it that a queue drained.
      l.observe('t', { decidedAt: i, estimateAt: i + 10, settledAt: i + 30 });
    }
    expect(l.ratio('s', 999)).toBe(3);
    expect(l.ratio('s', 1001)).toBe(1);
    expect(l.ratio('t', 1001)).toBe(3);
  });

  it('keeps the most recent 32 observations per service', () => {
    const l = new LocalLateness(10_000);
    for (let i = 0; i < 32; i++) l.observe('s', { decidedAt: 0, estimateAt: 10, settledAt: 40 });
    for (let i = 0; i < 32; i++) l.observe('s', { decidedAt: 0, estimateAt: 10, settledAt: 10 });
    expect(l.ratio('s', 50)).toBe(1);
  });
});

/**
 * An executor whose estimate says a request finishes `estimateMs` from now while it really takes `realMs`
 * (what a host adds to each batch that the estimate leaves out), or is dropped DEADLINE_EXCEEDED at its deadline.
 */
function slowExecutor(o: { clock: { now(): number }; timers: ReturnType<typeof createManualTimers>; estimateMs: number; realMs: () => number }): LocalExecutor {
  return {
    estimate: () => ({ ready: true, completionAt: o.clock.now() + o.estimateMs }),
    submit: (_s, inputs, options) =>
      new Promise((resolve, reject) => {
        const realMs = o.realMs();
        const done = o.clock.now() + realMs;
        const deadline = options?.deadline ?? Number.POSITIVE_INFINITY;
        if (done > deadline) o.timers.setTimeout(() => reject(new EparaError('DEADLINE_EXCEEDED', 'late')), deadline - o.clock.now());
        else o.timers.setTimeout(() => resolve(inputs), realMs);
      }),
    openStream: () => {
      throw new EparaError('INTERNAL', 'no streams here');
    },
    load: () => Promise.reject(new EparaError('INTERNAL', 'no load here')),
    unload: () => Promise.resolve(),
    instances: () => [],
  };
}

const peerB: ServerEntry = {
  serverId: 'b', epoch: 1, version: 1, updatedAt: 0, alive: true, load: 0, freeMemoryBytes: 0, arrivalRates: {},
  instances: [{ instanceId: 'b/s', serviceId: 's', status: 'ready', requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 1, capacityPerSec: 100, loadPerSec: 0, waitMs: 0, runMs: 5 }],
};

function handlerOver(lateness: LocalLateness | undefined, o: { peers?: ClusterView['entries']; realMs?: () => number; wallStep?: { ms: number }; freshPeers?: boolean } = {}) {
  // The node's clock (deadlines, the executor's estimates) follows the monotonic one the timers run on, stepped
  // by `wallStep.ms` (a wall clock NTP or a resumed VM stepped).
  const monotonic = createManualClock(0);
  const timers = createManualTimers(monotonic);
  const step = o.wallStep ?? { ms: 0 };
  const clock = { now: () => monotonic.now() + step.ms };
  const view: ClusterView = { entries: o.peers ?? { b: peerB } };
  const rejected: string[] = [];
  /** Peers a request was forwarded to (`submit` messages only). */
  const sent: string[] = [];
  let id = 1;
  const handler = new RequestHandler({
    selfId: 'a', clock, timers, executor: slowExecutor({ clock, timers, estimateMs: 10, realMs: o.realMs ?? (() => 40) }),
    // `freshPeers`: each peer's entry as just written (routing inflates what a stale entry says).
    view: () => (o.freshPeers === true ? { entries: Object.fromEntries(Object.entries(view.entries).map(([k, e]) => [k, { ...e, updatedAt: clock.now() }])) } : view),
    hopLimit: 2, guardMs: 1, hopDelayMs: 1, responseGraceMs: 100, nextId: () => id++, lateness, monotonicClock: monotonic,
    send: (to, m) => void (m.type === 'submit' && sent.push(to)),
    logger: silentLogger,
    hooks: { offloaded: () => undefined, rejected: (e) => void rejected.push(e.code), ranLocally: () => undefined, resentUnanswered: () => undefined },
  });
  return { clock, timers, handler, sent, rejected };
}

describe('RequestHandler with a measured local correction', () => {
  it('learns that local requests take 4× their estimate and then forwards what the corrected estimate misses', async () => {
    const { clock, timers, handler, sent } = handlerOver(new LocalLateness(2000));
    // Four requests with room for the real wait run here and teach the correction.
    for (let i = 0; i < 4; i++) {
      const p = handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 100, hops: 0, visited: [] });
      timers.advance(40);
      await expect(p).resolves.toBeDefined();
    }
    expect(sent).toEqual([]);
    // A deadline 30 ms away fits the raw estimate (10 ms) but not the corrected one (40 ms): it goes to b.
    void handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 30, hops: 0, visited: [] }).catch(() => undefined);
    expect(sent).toEqual(['b']);
    // Past maxAgeMs without a local request the correction is forgotten and the raw estimate is trusted again.
    timers.advance(2001);
    const again = handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 30, hops: 0, visited: [] });
    expect(sent).toEqual(['b']);
    timers.advance(30);
    await expect(again).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    handler.close();
  });

  it('does not stretch the first estimates after an idle gap by the figure of a queue that collapsed before it', async () => {
    const real = [100, 100, 100, 100, 10];
    const lateness = new LocalLateness(2000);
    const { clock, timers, handler, sent } = handlerOver(lateness, { realMs: () => real.shift() ?? 10, freshPeers: true });
    // A collapsing queue: four requests dropped at their deadlines, 40 ms against estimates of 10 ms (×4).
    for (let i = 0; i < 4; i++) {
      const p = handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 40, hops: 0, visited: [] });
      timers.advance(40);
      await expect(p).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    }
    // While that queue lasts, the correction steers: 10 ms raw, 40 ms corrected, a 30 ms deadline goes to b.
    const forwarded = handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 30, hops: 0, visited: [] }).catch(() => undefined);
    expect(sent).toEqual(['b']);
    // Half a second without a request (a new load starting, well within the 2 s the observations last): the queue
    // drained, and the next request is routed on the raw estimate, which is right again.
    timers.advance(500);
    expect(lateness.ratio('s', timers.clock.now())).toBe(1);
    const p = handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 30, hops: 0, visited: [] });
    expect(sent).toEqual(['b']);
    timers.advance(10);
    await expect(p).resolves.toBeDefined();
    await forwarded;
    handler.close();
  });

  it('counts a request dropped DEADLINE_EXCEEDED as having waited until its deadline', async () => {
    const lateness = new LocalLateness(2000);
    const { clock, timers, handler } = handlerOver(lateness);
    for (let i = 0; i < 4; i++) {
      const p = handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 25, hops: 0, visited: [] });
      timers.advance(25);
      await expect(p).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    }
    // Each waited at least 25 ms against an estimate of 10 ms.
    expect(lateness.ratio('s', clock.now())).toBeCloseTo(2.5);
    handler.close();
  });

  it('without a correction the raw estimate decides, however late local requests have been', async () => {
    const { clock, timers, handler, sent } = handlerOver(undefined);
    for (let i = 0; i < 4; i++) {
      const p = handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 100, hops: 0, visited: [] });
      timers.advance(40);
      await p;
    }
    const p = handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 30, hops: 0, visited: [] });
    expect(sent).toEqual([]);
    timers.advance(30);
    await expect(p).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });

  it('when no peer has room, runs here what only the correction made miss, instead of refusing it', async () => {
    // b's queue is 200 ms long: no forward fits a 30 ms deadline. Local requests take 40, 40, 40, 40 ms, then
    // 25 ms: the median of the first four (×4) is a correction, not a law of every request.
    const busyB: ServerEntry = { ...peerB, instances: [{ ...peerB.instances[0]!, waitMs: 200 }] };
    const real = [40, 40, 40, 40, 25];
    const { clock, timers, handler, sent, rejected } = handlerOver(new LocalLateness(2000), { peers: { b: busyB }, realMs: () => real.shift() ?? 40 });
    for (let i = 0; i < 4; i++) {
      const p = handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 100, hops: 0, visited: [] });
      timers.advance(40);
      await p;
    }
    // Raw estimate 10 ms fits the 30 ms deadline, the corrected 40 ms does not, and b cannot take it: it runs here.
    const p = handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 30, hops: 0, visited: [] });
    timers.advance(25);
    await expect(p).resolves.toBeDefined();
    expect(sent).toEqual([]);
    expect(rejected).toEqual([]);
    // A deadline the raw estimate misses too is refused as before.
    await expect(handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 8, hops: 0, visited: [] })).rejects.toMatchObject({ code: 'OVERLOADED' });
    expect(rejected).toEqual(['OVERLOADED']);
    handler.close();
  });

  it('runs here what only the correction made miss when the request is out of hops, though a peer has room', async () => {
    const real = [40, 40, 40, 40, 25];
    const { clock, timers, handler, sent, rejected } = handlerOver(new LocalLateness(2000), { realMs: () => real.shift() ?? 40 });
    for (let i = 0; i < 4; i++) {
      const p = handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 100, hops: 0, visited: [] });
      timers.advance(40);
      await p;
    }
    // The corrected estimate (40 ms) misses a 30 ms deadline and the raw one (10 ms) fits; b has room, but the
    // request took its two hops: routing says HOP_LIMIT.
    const p = handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 30, hops: 2, visited: [] });
    timers.advance(25);
    await expect(p).resolves.toBeDefined();
    expect(sent).toEqual([]);
    expect(rejected).toEqual([]);
    handler.close();
  });

  it('still forwards to a peer with room what the corrected estimate misses (the last resort is only the last)', async () => {
    const { clock, timers, handler, sent } = handlerOver(new LocalLateness(2000));
    for (let i = 0; i < 4; i++) {
      const p = handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 100, hops: 0, visited: [] });
      timers.advance(40);
      await p;
    }
    void handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 30, hops: 0, visited: [] }).catch(() => undefined);
    expect(sent).toEqual(['b']);
    handler.close();
  });

  it('a wall clock stepped back does not keep a correction alive past maxAgeMs (the service is not locked out)', async () => {
    const wallStep = { ms: 0 };
    const { clock, timers, handler, sent } = handlerOver(new LocalLateness(2000), { wallStep, freshPeers: true });
    for (let i = 0; i < 4; i++) {
      const p = handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 100, hops: 0, visited: [] });
      timers.advance(40);
      await p;
    }
    // An hour back, then past maxAgeMs: the observations are 2 s old, whatever the wall clock reads.
    wallStep.ms = -3_600_000;
    timers.advance(2001);
    const p = handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 30, hops: 0, visited: [] });
    expect(sent).toEqual([]);
    timers.advance(30);
    await expect(p).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    handler.close();
  });

  it('a wall clock stepped forward while local requests ran teaches no correction: they did not wait longer', async () => {
    const wallStep = { ms: 0 };
    const { clock, timers, handler, sent } = handlerOver(new LocalLateness(2000), { wallStep, realMs: () => 10, freshPeers: true });
    const inFlight = Array.from({ length: 4 }, () => handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 100, hops: 0, visited: [] }));
    timers.advance(5);
    wallStep.ms = 10_000;
    timers.advance(5);
    await Promise.all(inFlight);
    // Each took its estimated 10 ms: a request due in 15 ms still fits here.
    void handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 15, hops: 0, visited: [] }).catch(() => undefined);
    expect(sent).toEqual([]);
    handler.close();
  });
});
