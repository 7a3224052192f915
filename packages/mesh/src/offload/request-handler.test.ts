import { describe, expect, it } from 'vitest';
import { createManualClock, EparaError } from '@epara/core';
import type { ClusterView, NamedTensors, ServerEntry } from '@epara/core';
import { createFakeExecutor } from '../testing/fake-executor.js';
import { silentLogger } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { OffloadMessage } from './offload-messages.js';
import { RequestHandler } from './request-handler.js';

const x: NamedTensors = { x: { type: 'float32', dims: [1], data: Float32Array.of(1) } };
const peer = (id: string): ServerEntry => ({
  serverId: id, epoch: 1, version: 1, updatedAt: 0, alive: true, load: 0, freeMemoryBytes: 0, arrivalRates: {},
  instances: [{ instanceId: `${id}/s`, serviceId: 's', status: 'ready', requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 1, capacityPerSec: 100, loadPerSec: 0, waitMs: 0, runMs: 5 }],
});

function setup(peers: string[]) {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  const sent: { to: string; m: OffloadMessage }[] = [];
  const view: ClusterView = { entries: Object.fromEntries(peers.map((p) => [p, peer(p)])) };
  let id = 1;
  const handler = new RequestHandler({
    selfId: 'a', clock, timers, executor: createFakeExecutor({ services: {}, clock, timers }), view: () => view,
    hopLimit: 2, guardMs: 1, hopDelayMs: 1, responseGraceMs: 100, nextId: () => id++,
    send: (to, m) => void sent.push({ to, m }), logger: silentLogger,
    hooks: { offloaded: () => undefined, rejected: () => undefined, ranLocally: () => undefined },
  });
  return { clock, timers, sent, handler };
}

describe('RequestHandler', () => {
  it('forwards with the remaining budget, hop count and visited list, and resolves with the peer result', async () => {
    const { clock, sent, handler } = setup(['b']);
    clock.set(10);
    const p = handler.handle({ serviceId: 's', inputs: x, deadline: 200, hops: 0, visited: [] });
    expect(sent[0]).toMatchObject({ to: 'b', m: { type: 'submit', budgetMs: 190, hops: 1, visited: ['a'], maxHops: 2 } });
    handler.onResponse('b', { type: 'result', requestId: sent[0]!.m.requestId!, outputs: x });
    await expect(p).resolves.toBe(x);
    expect(handler.outstanding).toBe(0);
  });

  it('a silent peer cannot hold a request past its deadline + grace: DEADLINE_EXCEEDED and a cancel', async () => {
    const { timers, sent, handler } = setup(['b']);
    const p = handler.handle({ serviceId: 's', inputs: x, deadline: 200, hops: 0, visited: [] });
    timers.advance(299);
    expect(handler.outstanding).toBe(1);
    timers.advance(1);
    await expect(p).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(sent.map((s) => s.m.type)).toEqual(['submit', 'cancel']);
  });

  it('retries on another peer when the first fails, and rejects PEER_UNAVAILABLE when none is left', async () => {
    const { sent, handler } = setup(['b', 'c']);
    const p = handler.handle({ serviceId: 's', inputs: x, deadline: 1000, hops: 0, visited: [] });
    const first = sent[0]!.to;
    handler.onPeerDown(first);
    const second = sent[1]!;
    expect(second.to).not.toBe(first);
    expect(second.m).toMatchObject({ type: 'submit', visited: ['a', first] });
    handler.onResponse(second.to, { type: 'error', requestId: second.m.requestId!, error: new EparaError('CLOSED', 'going away') });
    await expect(p).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE' });
  });

  it('passes a peer typed error through, and close() rejects what is outstanding with CLOSED', async () => {
    const { sent, handler } = setup(['b']);
    const p1 = handler.handle({ serviceId: 's', inputs: x, deadline: 1000, hops: 0, visited: [] });
    handler.onResponse('b', { type: 'error', requestId: sent[0]!.m.requestId!, error: new EparaError('MODEL_ERROR', 'boom') });
    await expect(p1).rejects.toMatchObject({ code: 'MODEL_ERROR' });
    const p2 = handler.handle({ serviceId: 's', inputs: x, deadline: 1000, hops: 0, visited: [] });
    handler.close();
    await expect(p2).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(handler.handle({ serviceId: 's', inputs: x, deadline: 1000, hops: 0, visited: [] })).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('RequestHandler with the host’s network model', () => {
  it('prices each peer with its own delay: a near peer with a longer queue beats a far idle one', () => {
    const clock = createManualClock(0);
    const timers = createManualTimers(clock);
    const entry = (id: string, waitMs: number): ServerEntry => ({ ...peer(id), instances: [{ ...peer(id).instances[0]!, waitMs }] });
    const view: ClusterView = { entries: { far: entry('far', 0), near: entry('near', 10) } };
    const route = (network?: { delayMs: Record<string, number> }): string => {
      const sent: { to: string; m: OffloadMessage }[] = [];
      const handler = new RequestHandler({
        selfId: 'a', clock, timers, executor: createFakeExecutor({ services: {}, clock, timers }), view: () => view,
        hopLimit: 2, guardMs: 1, hopDelayMs: 1, network: () => network, responseGraceMs: 100, nextId: () => 1,
        send: (to, m) => void sent.push({ to, m }), logger: silentLogger,
        hooks: { offloaded: () => undefined, rejected: () => undefined, ranLocally: () => undefined },
      });
      void handler.handle({ serviceId: 's', inputs: x, deadline: 200, hops: 0, visited: [] }).catch(() => undefined);
      handler.close();
      return sent[0]!.to;
    };
    // Every peer 1 ms away (the default): the idle one wins. With the links as they are, the near one does.
    expect(route()).toBe('far');
    expect(route({ delayMs: { far: 20, near: 5 } })).toBe('near');
  });
});
