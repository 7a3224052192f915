import { describe, expect, it } from 'vitest';
import { EparaError } from '@epara/core';
import type { ClusterView, ServerEntry } from '@epara/core';
import { handlerFixture, peerEntry as peer, x } from './request-handler-fixture.js';

/** A handler on `a` whose view holds `peers`, hosting nothing; its sends return no link id. */
function setup(peers: string[]) {
  const unanswered: [string, string | undefined][] = [];
  const f = handlerFixture({
    entries: Object.fromEntries(peers.map((p) => [p, peer(p)])),
    config: { guardMs: 1, unanswered: (to, via) => void unanswered.push([to, via]) },
  });
  f.links.current = undefined;
  return { clock: f.clock, timers: f.timers, sent: f.sent, handler: f.handler, view: f.view, unanswered };
}

describe('RequestHandler', () => {
  it('counts what it forwarded since a peer wrote its entry: a burst decided on one view spreads', async () => {
    const { clock, sent, handler, view } = setup(['b', 'c']);
    // A new view is a new entries object (routing caches its entry list per object).
    const update = (e: ServerEntry): void => void ((view as { entries: ClusterView['entries'] }).entries = { ...view.entries, [e.serverId]: e });
    // Both entries written at 0; c reports a 25 ms queue. Each request sent adds 1000 / 100 = 10 ms to its peer.
    update({ ...peer('c'), instances: [{ ...peer('c').instances[0]!, waitMs: 25 }] });
    clock.set(10);
    const burst = () => handler.handle({ serviceId: 's', inputs: x, deadline: 200, hops: 0, visited: [] }).catch(() => undefined);
    for (let i = 0; i < 5; i++) void burst();
    // b: 7, 17, 27 ms, then 37 > c's 32: the fourth goes to c, the fifth to b again (37 < 42).
    expect(sent.map((m) => m.to)).toEqual(['b', 'b', 'b', 'c', 'b']);
    // An answer takes its request off the count.
    handler.onResponse('b', { type: 'result', requestId: sent[0]!.m.requestId!, outputs: x });
    void burst();
    expect(sent.at(-1)!.to).toBe('b');
    // A report written after the forwards shows them (or their absence): the count starts again from it.
    // b's new report reads 30 ms (37 in all; with its four unanswered requests counted again, 77); c's, still
    // the old one, 25 + the one sent since = 42.
    update({ ...peer('b'), updatedAt: 20, instances: [{ ...peer('b').instances[0]!, waitMs: 30 }] });
    clock.set(20);
    void burst();
    expect(sent.at(-1)!.to).toBe('b');
    handler.close();
  });

  it('forwards with the remaining budget, hop count and visited list, and resolves with the peer result', async () => {
    const { clock, sent, handler } = setup(['b']);
    clock.set(10);
    const p = handler.handle({ serviceId: 's', inputs: x, deadline: 200, hops: 0, visited: [] });
    expect(sent[0]).toMatchObject({ to: 'b', m: { type: 'submit', budgetMs: 190, hops: 1, visited: ['a'], maxHops: 2 } });
    handler.onResponse('b', { type: 'result', requestId: sent[0]!.m.requestId!, outputs: x });
    await expect(p).resolves.toBe(x);
    expect(handler.outstanding).toBe(0);
  });

  it('a silent peer cannot hold a request past its deadline + grace: DEADLINE_EXCEEDED, a cancel, and its link checked', async () => {
    const { timers, sent, handler, unanswered } = setup(['b']);
    const p = handler.handle({ serviceId: 's', inputs: x, deadline: 200, hops: 0, visited: [] });
    timers.advance(299);
    expect(handler.outstanding).toBe(1);
    expect(unanswered).toEqual([]);
    timers.advance(1);
    await expect(p).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(sent.map((s) => s.m.type)).toEqual(['submit', 'cancel']);
    // The node probes the link (a one-way cut leaves it open): the send returned no link id here.
    expect(unanswered).toEqual([['b', undefined]]);
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
    const entry = (id: string, waitMs: number): ServerEntry => peer(id, { waitMs });
    const route = (network?: { delayMs: Record<string, number> }): string => {
      const { sent, handler } = handlerFixture({ entries: { far: entry('far', 0), near: entry('near', 10) }, config: { guardMs: 1, network: () => network, nextId: () => 1 } });
      void handler.handle({ serviceId: 's', inputs: x, deadline: 200, hops: 0, visited: [] }).catch(() => undefined);
      handler.close();
      return sent[0]!.to;
    };
    // Every peer 1 ms away (the default): the idle one wins. With the links as they are, the near one does.
    expect(route()).toBe('far');
    expect(route({ delayMs: { far: 20, near: 5 } })).toBe('near');
  });
});
