import { describe, expect, it } from 'vitest';
import { EparaError } from '@epara/core';
import { flush, handlerFixture, peerEntry, x } from './request-handler-fixture.js';

/*
 * A peer that answers a forwarded request `OVERLOADED` (its exact queue had no room, whatever the view said) does
 * not end the request: it goes to another peer that can meet the deadline, within the hop limit and the budget,
 * never twice to the same peer; when none is left the request fails `OVERLOADED` naming each refusal.
 */

function setup(peers: Record<string, number>) {
  const { clock, sent, events, handler } = handlerFixture({ entries: Object.fromEntries(Object.entries(peers).map(([p, waitMs]) => [p, peerEntry(p, { waitMs })])) });
  const refuse = (i: number, reason = 'no room'): void =>
    handler.onResponse(sent[i]!.to, { type: 'error', requestId: sent[i]!.m.requestId!, error: new EparaError('OVERLOADED', reason) });
  return { clock, sent, offloaded: events.offloaded, rejected: events.rejected, handler, refuse };
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
