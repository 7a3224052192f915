import { describe, expect, it } from 'vitest';
import { createManualClock, EparaError, silentLogger } from '@epara/core';
import type { ClusterView, NamedTensors, ServerEntry } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { createFakeExecutor } from '../testing/fake-executor.js';
import type { OffloadMessage } from './offload-messages.js';
import { RequestHandler } from './request-handler.js';

/*
 * A peer that answers a forwarded request `OVERLOADED` (its exact queue had no room, whatever the view said) does
 * not end the request: it goes to another peer that can meet the deadline, within the hop limit and the budget,
 * never twice to the same peer; when none is left the request fails `OVERLOADED` naming each refusal.
 */

const x: NamedTensors = { x: { type: 'float32', dims: [1], data: Float32Array.of(1) } };
const peer = (id: string, waitMs = 0): ServerEntry => ({
  serverId: id, epoch: 1, version: 1, updatedAt: 0, alive: true, load: 0, freeMemoryBytes: 0, arrivalRates: {},
  instances: [{ instanceId: `${id}/s`, serviceId: 's', status: 'ready', requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 1, capacityPerSec: 100, loadPerSec: 0, waitMs, runMs: 5 }],
});
const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

function setup(peers: Record<string, number>) {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  const sent: { to: string; m: OffloadMessage }[] = [];
  const offloaded: { to: string; hops: number; retry: boolean }[] = [];
  const rejected: string[] = [];
  const view: ClusterView = { entries: Object.fromEntries(Object.entries(peers).map(([p, wait]) => [p, peer(p, wait)])) };
  const executor = createFakeExecutor({ services: { s: { serviceTimeMs: 5 } }, hosted: [], clock, timers });
  let id = 1;
  const handler = new RequestHandler({
    selfId: 'a', clock, timers, executor, view: () => view,
    hopLimit: 2, guardMs: 10, hopDelayMs: 1, responseGraceMs: 100, nextId: () => id++,
    send: (to, m) => {
      sent.push({ to, m });
      return 'L1';
    },
    logger: silentLogger,
    hooks: {
      offloaded: (e) => void offloaded.push({ to: e.to, hops: e.hops, retry: e.retry }),
      rejected: (e) => void rejected.push(e.code),
      ranLocally: () => undefined,
      resentUnanswered: () => undefined,
    },
  });
  const refuse = (i: number, reason = 'no room'): void =>
    handler.onResponse(sent[i]!.to, { type: 'error', requestId: sent[i]!.m.requestId!, error: new EparaError('OVERLOADED', reason) });
  return { clock, sent, offloaded, rejected, handler, refuse };
}

const request = { serviceId: 's', inputs: x, deadline: 1000, hops: 0, visited: [] };

describe('RequestHandler: a peer refuses a forwarded request OVERLOADED', () => {
  it('the request goes to the next peer that can meet the deadline, at the same hop, as a retry', async () => {
    const { sent, offloaded, handler, refuse } = setup({ b: 0, c: 50 });
    const p = handler.handle(request);
    expect(sent.map((s) => s.to)).toEqual(['b']);
    refuse(0);
    await flush();
    expect(sent.map((s) => s.to)).toEqual(['b', 'c']);
    expect(sent[1]!.m).toMatchObject({ type: 'submit', hops: 1, visited: ['a', 'b'] });
    expect(offloaded).toEqual([{ to: 'b', hops: 1, retry: false }, { to: 'c', hops: 1, retry: true }]);
    handler.onResponse('c', { type: 'result', requestId: sent[1]!.m.requestId!, outputs: x });
    await expect(p).resolves.toBe(x);
  });

  it('when every peer refused, it fails OVERLOADED naming each refusal — no peer asked twice', async () => {
    const { sent, handler, refuse } = setup({ b: 0, c: 50 });
    const p = handler.handle(request).catch((e: unknown) => e);
    refuse(0, 'b is full');
    await flush();
    refuse(1, 'c is full');
    await flush();
    const err = (await p) as EparaError;
    expect(sent.map((s) => s.to)).toEqual(['b', 'c']);
    expect(err).toBeInstanceOf(EparaError);
    expect(err.code).toBe('OVERLOADED');
    expect(err.details).toMatchObject({ serviceId: 's', refusals: [{ peer: 'b', code: 'OVERLOADED', reason: 'b is full' }, { peer: 'c', code: 'OVERLOADED', reason: 'c is full' }] });
    expect(err.message).toContain('b');
    expect(err.message).toContain('c');
  });

  it('with no other peer to ask, the refusal ends the request, named', async () => {
    const { sent, handler, refuse } = setup({ b: 0 });
    const p = handler.handle(request).catch((e: unknown) => e);
    refuse(0);
    await flush();
    expect(sent.map((s) => s.to)).toEqual(['b']);
    expect(await p).toMatchObject({ code: 'OVERLOADED', details: { refusals: [{ peer: 'b', code: 'OVERLOADED' }] } });
  });

  it('a refusal that comes with no budget left ends the request by its deadline, naming the refusal', async () => {
    const { clock, sent, handler, refuse } = setup({ b: 0, c: 50 });
    const p = handler.handle(request).catch((e: unknown) => e);
    clock.set(995);
    refuse(0);
    await flush();
    expect(sent.map((s) => s.to)).toEqual(['b']);
    expect(await p).toMatchObject({ code: 'DEADLINE_INFEASIBLE', details: { refusals: [{ peer: 'b', code: 'OVERLOADED' }] } });
  });
});

describe('RequestHandler: a refusal that names the servers the peer asked in turn', () => {
  it('none of them is asked again from here, and the final error names them all', async () => {
    const { sent, handler, refuse } = setup({ b: 0, c: 50, d: 60 });
    const p = handler.handle(request).catch((e: unknown) => e);
    expect(sent.map((s) => s.to)).toEqual(['b']);
    // b asked c itself before refusing: only d is left to ask.
    handler.onResponse('b', { type: 'error', requestId: sent[0]!.m.requestId!, error: new EparaError('OVERLOADED', 'b: no room', { refusals: [{ peer: 'c', code: 'OVERLOADED', reason: 'c: no room' }, 'junk', { peer: 7 }] }) });
    await flush();
    expect(sent.map((s) => s.to)).toEqual(['b', 'd']);
    expect(sent[1]!.m).toMatchObject({ visited: ['a', 'c', 'b'] });
    refuse(1, 'd: no room');
    await flush();
    expect(await p).toMatchObject({ code: 'OVERLOADED', details: { refusals: [{ peer: 'c' }, { peer: 'b' }, { peer: 'd' }] } });
  });
});
