import { describe, expect, it } from 'vitest';
import { EparaError } from '@epara/core';
import type { ServerEntry } from '@epara/core';
import { flush, handlerFixture, peerEntry, x } from './request-handler-fixture.js';
import type { HandlerFixtureOptions } from './request-handler-fixture.js';

/*
 * What a request forwarded from `a` ends with when its peers refuse it, fail, or cannot take its frame: each case
 * reads the error the caller gets (its code and details) or where the request goes next.
 */

const request = (deadline: number, serviceId = 's') => ({ serviceId, inputs: x, deadline, hops: 0, visited: [] });

function setup(entries: Record<string, ServerEntry>, o: Omit<HandlerFixtureOptions, 'entries'> = {}) {
  const f = handlerFixture({ entries, ...o });
  const refuse = (i: number, details: Record<string, unknown> = {}, code: 'OVERLOADED' = 'OVERLOADED'): void =>
    f.handler.onResponse(f.sent[i]!.to, { type: 'error', requestId: f.sent[i]!.m.requestId!, error: new EparaError(code, 'no room', details) });
  const outcome = (deadline: number, serviceId = 's') => f.handler.handle(request(deadline, serviceId)).then((v) => v, (e: unknown) => e as EparaError);
  return { ...f, refuse, outcome };
}

describe('RequestHandler: a request every peer refused', () => {
  it('ends OVERLOADED naming the refusals and what routing then said', async () => {
    const { refuse, outcome } = setup({ b: peerEntry('b') });
    const result = outcome(1000);
    refuse(0);
    await flush();
    expect(await result).toMatchObject({ code: 'OVERLOADED', details: { serviceId: 's', retry: 'DEADLINE_INFEASIBLE', refusals: [{ peer: 'b', code: 'OVERLOADED', reason: 'no room' }] } });
  });

  it('a refusal that comes at the deadline ends DEADLINE_EXCEEDED; with only the guard left, DEADLINE_INFEASIBLE', async () => {
    const late = setup({ b: peerEntry('b'), c: peerEntry('c', { waitMs: 100 }) });
    const lateResult = late.outcome(1000);
    late.clock.set(1000);
    late.refuse(0);
    await flush();
    expect(await lateResult).toMatchObject({ code: 'DEADLINE_EXCEEDED', details: { serviceId: 's', refusals: [{ peer: 'b' }] } });
    // guardMs is 10: at 990 no time is left to ask c.
    const tight = setup({ b: peerEntry('b'), c: peerEntry('c', { waitMs: 100 }) });
    const tightResult = tight.outcome(1000);
    tight.clock.set(990);
    tight.refuse(0);
    await flush();
    expect(await tightResult).toMatchObject({ code: 'DEADLINE_INFEASIBLE', details: { serviceId: 's', refusals: [{ peer: 'b' }] } });
    expect(tight.sent.map((s) => s.to)).toEqual(['b']);
  });

  it('a next peer that cannot be reached ends the request PEER_UNAVAILABLE, still naming the refusals', async () => {
    const { refuse, outcome } = setup({ b: peerEntry('b'), c: peerEntry('c', { waitMs: 100 }) }, {
      refuse: (to) => (to === 'c' ? new EparaError('PEER_UNAVAILABLE', 'no link') : undefined),
    });
    const result = outcome(1000);
    refuse(0);
    await flush();
    expect(await result).toMatchObject({ code: 'PEER_UNAVAILABLE', details: { candidates: ['c'], refusals: [{ peer: 'b', code: 'OVERLOADED' }] } });
  });

  it('takes the servers a refusal names (its own asks) as visited, each once, and reads their items leniently', async () => {
    const { sent, refuse, outcome } = setup({ b: peerEntry('b'), c: peerEntry('c', { waitMs: 100 }), d: peerEntry('d', { waitMs: 200 }) });
    const result = outcome(1000);
    refuse(0, { refusals: [null, 5, { peer: '' }, { peer: 'a', code: 'OVERLOADED', reason: 'full' }, { peer: 'd', code: 7, reason: 9 }, { peer: 'd' }] });
    await flush();
    // d and a (this server) are visited: c is asked, and told of each server once.
    expect(sent.map((s) => s.to)).toEqual(['b', 'c']);
    const retry = sent[1]!.m;
    expect(retry.type === 'submit' && retry.visited).toEqual(['a', 'd', 'b']);
    refuse(1);
    await flush();
    expect(await result).toMatchObject({
      code: 'OVERLOADED',
      details: {
        refusals: [
          { peer: 'a', code: 'OVERLOADED', reason: 'full' },
          { peer: 'd', code: 'OVERLOADED', reason: '' },
          { peer: 'd', code: 'OVERLOADED', reason: '' },
          { peer: 'b', code: 'OVERLOADED', reason: 'no room' },
          { peer: 'c', code: 'OVERLOADED', reason: 'no room' },
        ],
      },
    });
  });
});

describe('RequestHandler: a peer read at its refusal', () => {
  const entries = () => ({ b: peerEntry('b', { services: ['s', 't'] }), c: peerEntry('c', { waitMs: 300, services: ['s', 't'] }) });

  it('a refusal quoting a negative estimate is read as no estimate: at the budget the request was sent with', async () => {
    const { clock, sent, refuse, outcome } = setup(entries());
    void outcome(1000);
    clock.set(20);
    refuse(0, { estimateMs: -50 });
    await flush();
    void outcome(1020);
    expect(sent.map((s) => s.to)).toEqual(['b', 'c', 'c']);
  });

  it('a refusal quoting 0 ms is read at 0: the peer is still asked', async () => {
    const { clock, sent, refuse, outcome } = setup(entries());
    void outcome(1000);
    clock.set(20);
    refuse(0, { estimateMs: 0 });
    await flush();
    void outcome(1020);
    expect(sent.map((s) => s.to)).toEqual(['b', 'c', 'b']);
  });

  it('a refusal of one service says nothing of the peer’s other services', async () => {
    const { clock, sent, refuse, outcome } = setup(entries());
    void outcome(1000, 't');
    clock.set(20);
    refuse(0, { estimateMs: 900 });
    await flush();
    void outcome(1020, 's');
    expect(sent.map((s) => [s.to, s.m.type === 'submit' && s.m.serviceId])).toEqual([['b', 't'], ['c', 't'], ['b', 's']]);
  });

  it('each service keeps its own refusal by one peer', async () => {
    const { clock, sent, refuse, outcome } = setup(entries());
    void outcome(1000, 's');
    clock.set(20);
    refuse(0, { estimateMs: 900 });
    await flush();
    void outcome(1020, 't');
    refuse(2, { estimateMs: 900 });
    await flush();
    // Both services read b at 900 ms now: the next of each goes to c.
    void outcome(1030, 's');
    void outcome(1030, 't');
    expect(sent.map((s) => s.to)).toEqual(['b', 'c', 'b', 'c', 'c', 'c']);
  });

  it('an entry the peer wrote at the very time of its refusal has seen that queue: the refusal is dropped', async () => {
    const { clock, sent, view, refuse, outcome } = setup(entries());
    void outcome(1000);
    clock.set(20);
    refuse(0, { estimateMs: 900 });
    await flush();
    (view.entries as Record<string, ServerEntry>)['b'] = peerEntry('b', { updatedAt: 20, services: ['s', 't'] });
    void outcome(1020);
    expect(sent.map((s) => s.to)).toEqual(['b', 'c', 'b']);
  });
});

describe('RequestHandler: a frame over one peer’s own limit', () => {
  const overLimit = (peer: string) => new EparaError('PROTOCOL_ERROR', 'frame over the peer’s limit', { frameBytes: 5000, maxFrameBytes: 4096, peerMaxFrameBytes: 4096, peer });

  it('is sent to the next candidate, whose limit may be larger', async () => {
    const { sent, events, outcome } = setup({ b: peerEntry('b'), c: peerEntry('c', { waitMs: 100 }) }, { refuse: (to) => (to === 'b' ? overLimit('b') : undefined) });
    void outcome(1000);
    await flush();
    expect(sent.map((s) => s.to)).toEqual(['c']);
    expect(events.offloaded.map((e) => e.to)).toEqual(['c']);
  });

  it('when no candidate takes it, the request ends with the first peer’s refusal', async () => {
    const { outcome } = setup({ b: peerEntry('b'), c: peerEntry('c', { waitMs: 100 }) }, { refuse: (to) => overLimit(to) });
    expect(await outcome(1000)).toMatchObject({ code: 'PROTOCOL_ERROR', details: { peerMaxFrameBytes: 4096, peer: 'b' } });
  });
});

describe('RequestHandler: a link that closes under a forward', () => {
  it('with the peer failed and nowhere else to go, the request ends PEER_UNAVAILABLE naming the closed link', async () => {
    const { view, handler, outcome } = setup({ b: peerEntry('b') });
    const result = outcome(1000);
    delete (view.entries as Record<string, ServerEntry>)['b'];
    handler.onLinkDown('L1', true);
    await flush();
    expect(await result).toMatchObject({ code: 'PEER_UNAVAILABLE', details: { peer: 'b', failure: 'link-closed', via: 'L1' } });
  });
});

describe('RequestHandler: its own refusal', () => {
  it('names an estimate only when it refuses for want of room (OVERLOADED), not at the hop limit', async () => {
    // Hosted, 50 ms a request: a 20 ms deadline is missed here; the idle peer b could meet it, but the request has
    // taken both its hops.
    const { handler } = setup({ b: peerEntry('b') }, { hosted: true, serviceTimeMs: 50 });
    const err = (await handler.handle({ serviceId: 's', inputs: x, deadline: 20, hops: 2, visited: ['q', 'r'] }).catch((e: unknown) => e)) as EparaError;
    expect(err).toMatchObject({ code: 'HOP_LIMIT', details: { serviceId: 's', server: 'a' } });
    expect(err.details['estimateMs']).toBeUndefined();
  });
});
