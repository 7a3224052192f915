import { describe, expect, it } from 'vitest';
import { createManualClock, silentLogger } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { ClusterView, NamedTensors, ServerEntry, ServerId } from '@epara/core';
import { createFakeExecutor } from '../testing/fake-executor.js';
import { InboundRequests } from './inbound-requests.js';
import type { OffloadMessage } from './offload-messages.js';
import { RequestHandler } from './request-handler.js';

/**
 * Offload paths across several servers, each built from the node's own parts (request handler + inbound
 * requests) on one manual clock. The shared view is stale on purpose: every peer looks idle, but a, b and c
 * are slow, so a request travels a → b → c → d. The path must end at a server that can serve it, and never
 * visit a server twice.
 */

const IDS = ['a', 'b', 'c', 'd'];
const HOP_LIMIT = 3;

/** What every server believes of `id`: a ready instance of `s`, with `waitMs` queued. */
const entry = (id: string, waitMs: number): ServerEntry => ({
  serverId: id, epoch: 1, version: 1, updatedAt: 0, alive: true, load: 0, freeMemoryBytes: 0, arrivalRates: {},
  instances: [{ instanceId: `${id}/s`, serviceId: 's', status: 'ready', requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 1, capacityPerSec: 100, loadPerSec: 0, waitMs, runMs: 5 }],
});

interface Hop {
  readonly from: ServerId;
  readonly to: ServerId;
  readonly hops: number;
  readonly visited: readonly ServerId[];
  readonly key: number;
}

function createMesh(o: { serviceTimeMs: Record<string, number>; waitMs: Record<string, number> }) {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  const view: ClusterView = { entries: Object.fromEntries(IDS.map((id) => [id, entry(id, o.waitMs[id] ?? 0)])) };
  const hops: Hop[] = [];
  const ran: Record<string, number> = {};
  const servers = new Map<ServerId, { handler: RequestHandler; inbound: InboundRequests }>();
  let nextId = 1;
  for (const id of IDS) {
    const executor = createFakeExecutor({ services: { s: { serviceTimeMs: o.serviceTimeMs[id]!, maxQueue: 1000 } }, hosted: ['s'], clock, timers, tag: IDS.indexOf(id) });
    const send = (to: ServerId, m: OffloadMessage): void => {
      if (m.type === 'submit') hops.push({ from: id, to, hops: m.hops, visited: [...m.visited], key: (m.inputs['x']!.data as Float32Array)[0]! });
      // Links deliver asynchronously, as a real transport does.
      queueMicrotask(() => {
        const peer = servers.get(to)!;
        if (m.type === 'submit') peer.inbound.onSubmit(id, id, m);
        else if (m.type === 'cancel') peer.inbound.onCancel(id, m.requestId!);
      });
    };
    const handler = new RequestHandler({
      selfId: id, clock, timers, executor, view: () => view,
      hopLimit: HOP_LIMIT, guardMs: 1, hopDelayMs: 1, responseGraceMs: 100, nextId: () => nextId++,
      send, logger: silentLogger,
      hooks: { offloaded: () => undefined, rejected: () => undefined, ranLocally: () => void (ran[id] = (ran[id] ?? 0) + 1), resentUnanswered: () => undefined },
    });
    const inbound = new InboundRequests({
      clock,
      handle: (r) => handler.handle(r),
      // The link id is the sender's id: the answer goes back to its handler.
      reply: (linkId, m) =>
        queueMicrotask(() => {
          if (m.type === 'result' || m.type === 'error') servers.get(linkId)!.handler.onResponse(id, m);
        }),
      maxBudgetMs: 10_000,
      hopLimit: HOP_LIMIT,
    });
    servers.set(id, { handler, inbound });
  }
  /** Lets messages and timers run until every promise in `all` settled (manual time, 1 ms steps). */
  async function settle<T>(all: Promise<T>[]): Promise<PromiseSettledResult<T>[]> {
    let done = false;
    const out = Promise.allSettled(all).then((r) => ((done = true), r));
    for (let t = 0; !done && t < 5000; t++) {
      for (let i = 0; i < 20; i++) await Promise.resolve();
      timers.advance(1);
    }
    return out;
  }
  const submit = (at: ServerId, key: number, deadlineMs: number): Promise<NamedTensors> =>
    servers.get(at)!.handler.handle({ serviceId: 's', inputs: { x: { type: 'float32', dims: [1], data: Float32Array.of(key) } }, deadline: clock.now() + deadlineMs, hops: 0, visited: [] });
  return { hops, ran, submit, settle };
}

/** The servers a request passed through, in order (its first sender, then each receiver). */
function pathOf(hops: readonly Hop[], key: number): ServerId[] {
  const mine = hops.filter((h) => h.key === key);
  return mine.length === 0 ? [] : [mine[0]!.from, ...mine.map((h) => h.to)];
}

describe('offload paths', () => {
  it('a request the stale view sends on travels to a server that serves it, visiting none twice', async () => {
    // a, b, c take 100 ms per run (the 50 ms deadline never fits locally); d takes 1 ms. The view shows d with
    // some queue, so each server prefers another "idle" peer first.
    const mesh = createMesh({ serviceTimeMs: { a: 100, b: 100, c: 100, d: 1 }, waitMs: { a: 0, b: 0, c: 0, d: 20 } });
    const results = await mesh.settle([1, 2, 3].map((k) => mesh.submit('a', k, 50)));
    for (const r of results) expect(r.status).toBe('fulfilled');
    // d served all three (the fake tags its outputs with the server's index).
    for (const r of results) expect(r.status === 'fulfilled' && Array.from(r.value['server']!.data as Int32Array)).toEqual([3]);
    expect(mesh.ran).toEqual({ d: 3 });
    for (const key of [1, 2, 3]) {
      const path = pathOf(mesh.hops, key);
      // Through the "idle" servers to d; which of b and c comes first depends on where a sent the others (a
      // counts its forwards the view cannot show yet).
      expect(path[0]).toBe('a');
      expect(path.at(-1)).toBe('d');
      expect(path.length).toBeGreaterThan(2);
      expect(new Set(path).size).toBe(path.length);
      // Each forward carries the servers behind it and counts one more hop.
      const mine = mesh.hops.filter((h) => h.key === key);
      mine.forEach((h, i) => {
        expect(h.hops).toBe(i + 1);
        expect(h.visited).toEqual(path.slice(0, i + 1));
        expect(h.visited).not.toContain(h.to);
      });
    }
  });

  it('when every server is slow, the path ends once all are visited: a typed rejection, no revisit, no loop', async () => {
    const mesh = createMesh({ serviceTimeMs: { a: 100, b: 100, c: 100, d: 100 }, waitMs: {} });
    const results = await mesh.settle([1, 2].map((k) => mesh.submit('a', k, 50)));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect(['OVERLOADED', 'HOP_LIMIT', 'DEADLINE_INFEASIBLE']).toContain((r as PromiseRejectedResult).reason.code);
    }
    for (const key of [1, 2]) {
      const path = pathOf(mesh.hops, key);
      expect(path.length).toBeGreaterThan(1);
      expect(path.length).toBeLessThanOrEqual(HOP_LIMIT + 1);
      expect(new Set(path).size).toBe(path.length);
    }
  });

  it('a receiver counts the sender as visited even when the sender left itself out', () => {
    const clock = createManualClock(0);
    const seen: { visited: readonly ServerId[]; hops: number }[] = [];
    const inbound = new InboundRequests({
      clock,
      handle: (r) => (seen.push({ visited: r.visited, hops: r.hops }), new Promise<NamedTensors>(() => undefined)),
      reply: () => undefined,
      maxBudgetMs: 1000,
      hopLimit: HOP_LIMIT,
    });
    const x = { x: { type: 'float32' as const, dims: [1], data: Float32Array.of(1) } };
    inbound.onSubmit('link-1', 'a', { type: 'submit', requestId: 1, serviceId: 's', inputs: x, budgetMs: 50, hops: 1, maxHops: HOP_LIMIT, visited: [], priority: 0 });
    inbound.onSubmit('link-2', 'b', { type: 'submit', requestId: 2, serviceId: 's', inputs: x, budgetMs: 50, hops: 2, maxHops: HOP_LIMIT, visited: ['a', 'b'], priority: 0 });
    expect(seen).toEqual([
      { visited: ['a'], hops: 1 },
      { visited: ['a', 'b'], hops: 2 },
    ]);
  });
});
