import { describe, expect, it } from 'vitest';
import { createManualClock, silentLogger } from '@epara/core';
import type { ClusterView, NamedTensors, ServerEntry } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { createFakeExecutor } from '../testing/fake-executor.js';
import type { OffloadMessage } from './offload-messages.js';
import { RequestHandler } from './request-handler.js';

// A forwarded request whose peer stays silent settles DEADLINE_EXCEEDED at its deadline plus the response grace,
// counted from when it was sent — on a clock that does not start at 0.

const x: NamedTensors = { x: { type: 'float32', dims: [1], data: Float32Array.of(1) } };
const b: ServerEntry = {
  serverId: 'b', epoch: 1, version: 1, updatedAt: 5000, alive: true, load: 0, freeMemoryBytes: 0, arrivalRates: {},
  instances: [{ instanceId: 'b/s', serviceId: 's', status: 'ready', requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 1, capacityPerSec: 100, loadPerSec: 0, waitMs: 0, runMs: 5 }],
};

describe('RequestHandler: a peer that never answers', () => {
  it('settles the request DEADLINE_EXCEEDED at its deadline plus the grace, cancels it there and reports the link', async () => {
    const clock = createManualClock(5000);
    const timers = createManualTimers(clock);
    const sent: { to: string; m: OffloadMessage }[] = [];
    const unanswered: string[] = [];
    const view: ClusterView = { entries: { b } };
    const handler = new RequestHandler({
      selfId: 'a', clock, timers, executor: createFakeExecutor({ services: { s: { serviceTimeMs: 5 } }, hosted: [], clock, timers }), view: () => view,
      hopLimit: 2, guardMs: 10, hopDelayMs: 1, responseGraceMs: 100, nextId: () => 1,
      send: (to, m) => (sent.push({ to, m }), 'L1'),
      unanswered: (peer) => void unanswered.push(peer),
      logger: silentLogger,
      hooks: { offloaded: () => undefined, rejected: () => undefined, ranLocally: () => undefined, resentUnanswered: () => undefined },
    });
    let outcome: unknown;
    handler.handle({ serviceId: 's', inputs: x, deadline: 5200, hops: 0, visited: [] }).catch((e: unknown) => (outcome = e));
    expect(sent.map((s) => s.m.type)).toEqual(['submit']);
    timers.advance(299); // 5299: within the grace
    await Promise.resolve();
    expect(outcome).toBeUndefined();
    timers.advance(1); // 5300: the deadline (5200) plus the grace (100)
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(outcome).toMatchObject({ code: 'DEADLINE_EXCEEDED', details: { peer: 'b' } });
    expect(sent.map((s) => [s.to, s.m.type])).toEqual([['b', 'submit'], ['b', 'cancel']]);
    expect(unanswered).toEqual(['b']);
  });
});
