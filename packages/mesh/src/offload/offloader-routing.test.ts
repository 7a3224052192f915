import { describe, expect, it } from 'vitest';
import { createManualClock, EparaError } from '@epara/core';
import type { ClusterView, NamedTensors, ServerEntry, ServiceId } from '@epara/core';
import { createFakeExecutor } from '../testing/fake-executor.js';
import { silentLogger } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { OffloadServing } from './offload-serving.js';
import type { Offloader, OffloadForwardOptions } from './offloader.js';
import { isOffloader } from './offloader.js';
import { RequestHandler } from './request-handler.js';

const x: NamedTensors = { x: { type: 'float32', dims: [1], data: Float32Array.of(1) } };
const peer = (id: string): ServerEntry => ({
  serverId: id, epoch: 1, version: 1, updatedAt: 0, alive: true, load: 0, freeMemoryBytes: 0, arrivalRates: {},
  instances: [{ instanceId: `${id}/s`, serviceId: 's', status: 'ready', requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 1, capacityPerSec: 100, loadPerSec: 0, waitMs: 0, runMs: 5 }],
});

/** An offloader that records calls and answers with what the test queues. */
function recordingOffloader(answer: (serviceId: ServiceId, o: OffloadForwardOptions) => Promise<NamedTensors>) {
  const calls = { forward: [] as { serviceId: ServiceId; o: OffloadForwardOptions }[], serve: [] as ServiceId[][], unserve: [] as ServiceId[][], closed: 0 };
  let failServe = false;
  const offloader: Offloader = {
    serve: async (ids) => {
      if (failServe) throw new EparaError('PEER_UNAVAILABLE', 'broker down');
      calls.serve.push([...ids]);
    },
    unserve: (ids) => void calls.unserve.push([...ids]),
    forward: (serviceId, _inputs, o) => (calls.forward.push({ serviceId, o }), o.onAttempt?.({ hops: (o.hops ?? 0) + 1, retry: false }), answer(serviceId, o)),
    close: () => void calls.closed++,
  };
  return { offloader, calls, setFailServe: (v: boolean) => (failServe = v) };
}

function setup(peers: (string | ServerEntry)[], answer: (serviceId: ServiceId, o: OffloadForwardOptions) => Promise<NamedTensors>, hosted: ServiceId[] = []) {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  const entries = peers.map((p) => (typeof p === 'string' ? peer(p) : p));
  const view: ClusterView = { entries: Object.fromEntries(entries.map((e) => [e.serverId, e])) };
  const executor = createFakeExecutor({ services: { s: { serviceTimeMs: 50 } }, hosted, clock, timers });
  const rec = recordingOffloader(answer);
  const events = { offloaded: [] as { to: string; hops: number }[], rejected: [] as string[], sent: 0 };
  const handler = new RequestHandler({
    selfId: 'a', clock, timers, executor, view: () => view, hopLimit: 2, guardMs: 1, hopDelayMs: 1, responseGraceMs: 100, nextId: () => 1,
    send: () => void events.sent++, logger: silentLogger, offloader: rec.offloader,
    hooks: { offloaded: (e) => void events.offloaded.push(e), rejected: (e) => void events.rejected.push(e.code), ranLocally: () => undefined, resentUnanswered: () => undefined },
  });
  return { clock, timers, executor, handler, events, ...rec };
}

describe('RequestHandler with an offloader', () => {
  it('forwards through the offloader (not a link) with the deadline, hops and visited of the request', async () => {
    const t = setup(['b'], async () => x);
    await expect(t.handler.handle({ serviceId: 's', inputs: x, deadline: 200, hops: 0, visited: ['z'] })).resolves.toBe(x);
    expect(t.calls.forward).toEqual([{ serviceId: 's', o: expect.objectContaining({ deadline: 200, hops: 0, visited: ['z'] }) }]);
    expect(t.events.sent).toBe(0);
    expect(t.events.offloaded).toEqual([{ serviceId: 's', to: '*', hops: 1, retry: false }]);
  });

  it('runs locally when the local estimate meets the deadline', async () => {
    const t = setup(['b'], async () => x, ['s']);
    const p = t.handler.handle({ serviceId: 's', inputs: x, deadline: 200, hops: 0, visited: [] });
    t.timers.advance(60);
    await expect(p).resolves.toMatchObject({ server: expect.anything() });
    expect(t.calls.forward).toHaveLength(0);
  });

  it('asks the queue group when the view knows no instance, unless the request is out of hops', async () => {
    const t = setup([], async () => x);
    await expect(t.handler.handle({ serviceId: 's', inputs: x, deadline: 200, hops: 0, visited: [] })).resolves.toBe(x);
    expect(t.calls.forward).toHaveLength(1);
    const e = await t.handler.handle({ serviceId: 's', inputs: x, deadline: 200, hops: 2, visited: [] }).catch((err: EparaError) => err);
    expect((e as EparaError).code).toBe('NO_INSTANCE');
    expect(t.calls.forward).toHaveLength(1);
    const u = setup(['b'], async () => x); // a host in the view, but no hop left: routing's HOP_LIMIT stands
    const h = await u.handler.handle({ serviceId: 's', inputs: x, deadline: 200, hops: 2, visited: [] }).catch((err: EparaError) => err);
    expect((h as EparaError).code).toBe('HOP_LIMIT');
    expect(u.calls.forward).toHaveLength(0);
  });

  it("passes the offloader's typed rejections through and reports routing ones", async () => {
    const t = setup(['b'], async () => Promise.reject(new EparaError('OVERLOADED', 'every member declined')));
    const e = await t.handler.handle({ serviceId: 's', inputs: x, deadline: 200, hops: 0, visited: [] }).catch((err: EparaError) => err);
    expect((e as EparaError).code).toBe('OVERLOADED');
    expect(t.events.rejected).toEqual(['OVERLOADED']);
  });

  it('reports to the node only the rejections that are routing decisions; other failures pass through unreported', async () => {
    for (const code of ['NO_INSTANCE', 'OVERLOADED', 'HOP_LIMIT', 'DEADLINE_INFEASIBLE', 'PEER_UNAVAILABLE', 'DEADLINE_EXCEEDED', 'INTERNAL'] as const) {
      const t = setup(['b'], async () => Promise.reject(new EparaError(code, 'declined')));
      await expect(t.handler.handle({ serviceId: 's', inputs: x, deadline: 200, hops: 0, visited: [] })).rejects.toMatchObject({ code });
      expect(t.events.rejected).toEqual(['NO_INSTANCE', 'OVERLOADED', 'HOP_LIMIT', 'DEADLINE_INFEASIBLE'].includes(code) ? [code] : []);
    }
  });

  it("refuses here what routing finds overloaded or infeasible in the view: the queue group is asked only for a forward or a missing instance", async () => {
    const busy: ServerEntry = { ...peer('b'), instances: [{ ...peer('b').instances[0]!, waitMs: 500 }] };
    const slow: ServerEntry = { ...peer('b'), instances: [{ ...peer('b').instances[0]!, runMs: 500 }] };
    for (const [entry, code] of [[busy, 'OVERLOADED'], [slow, 'DEADLINE_INFEASIBLE']] as const) {
      const t = setup([entry], async () => x);
      await expect(t.handler.handle({ serviceId: 's', inputs: x, deadline: 200, hops: 0, visited: [] })).rejects.toMatchObject({ code });
      expect(t.calls.forward).toEqual([]);
      expect(t.events.rejected).toEqual([code]);
    }
  });

  it("hands the caller's signal to the offloader, which stops the forward when it aborts", async () => {
    const t = setup(['b'], (_s, o) => new Promise((_resolve, reject) => o.signal?.addEventListener('abort', () => reject(new EparaError('ABORTED', 'aborted')), { once: true })));
    const c = new AbortController();
    const p = t.handler.handle({ serviceId: 's', inputs: x, deadline: 200, hops: 0, visited: [], signal: c.signal });
    c.abort();
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
    expect(t.calls.forward[0]!.o.signal).toBe(c.signal);
  });
});

describe('OffloadServing', () => {
  it('serves the ready hosted services, follows loads and unloads, retries a failed serve, and closes the offloader', async () => {
    const t = setup([], async () => x, ['s']);
    const serving = new OffloadServing({ offloader: t.offloader, executor: t.executor, timers: t.timers, pollMs: 100, logger: silentLogger });
    await serving.start();
    expect(t.calls.serve).toEqual([['s']]);
    const id = t.executor.instances()[0]!.instanceId;
    const unloaded = t.executor.unload(id);
    t.timers.advance(100);
    await unloaded;
    await serving.refresh();
    expect(t.calls.unserve).toEqual([['s']]);
    expect(serving.services).toEqual([]);
    t.setFailServe(true);
    const loaded = t.executor.load({ serviceId: 's' } as Parameters<typeof t.executor.load>[0]);
    t.timers.advance(1);
    await loaded;
    await serving.refresh();
    expect(serving.services).toEqual([]); // the failed serve is forgotten, so the next poll tries again
    t.setFailServe(false);
    await serving.refresh();
    expect(t.calls.serve).toEqual([['s'], ['s']]);
    serving.close();
    serving.close();
    expect(t.calls.closed).toBe(1);
    expect(t.timers.pending).toBe(0);
  });

  it('isOffloader accepts the four methods and nothing less', () => {
    expect(isOffloader(recordingOffloader(async () => x).offloader)).toBe(true);
    expect(isOffloader({ serve() {}, forward() {} })).toBe(false);
    expect(isOffloader(null)).toBe(false);
    expect(isOffloader(undefined)).toBe(false);
    expect(isOffloader('serve')).toBe(false);
  });
});
