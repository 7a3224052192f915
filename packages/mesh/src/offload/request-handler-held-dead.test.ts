import { describe, expect, it } from 'vitest';
import type { ServerEntry } from '@epara/core';
import { flush, handlerFixture, peerEntry, x } from './request-handler-fixture.js';

/*
 * A peer the ring took for dead (it missed its sync acks: a process starved of CPU or paused for a second) while
 * its link to this server stays open. When it is the only server left with a ready instance of the service — this
 * one just unloaded its own, its view entry possibly still showing it ready for a round — a request is sent to it
 * rather than refused at once: its link closing, or its silence past the deadline, still ends the request typed.
 * A request already waiting on it is left there (not cancelled and failed) while nothing else can take it.
 */

const dead = (e: ServerEntry): ServerEntry => ({ ...e, alive: false });
const request = { serviceId: 's', inputs: x, deadline: 1000, hops: 0, visited: [] };

describe('RequestHandler: the only host is held dead over an open link', () => {
  it('a request with no ready instance here goes to it, not refused (this server\'s own entry still shows its unloaded instance ready)', async () => {
    const { sent, handler } = handlerFixture({ entries: { a: peerEntry('a'), b: dead(peerEntry('b')) }, config: { linked: (p) => p === 'b' } });
    const p = handler.handle(request);
    expect(sent.map((s) => [s.to, s.m.type])).toEqual([['b', 'submit']]);
    expect(sent[0]!.m).toMatchObject({ hops: 1, visited: ['a'] });
    handler.onResponse('b', { type: 'result', requestId: sent[0]!.m.requestId!, outputs: x });
    await expect(p).resolves.toBe(x);
  });

  it('not when its link is closed, nor when the request visited it, nor past the hop limit: refused as routing says', async () => {
    const closed = handlerFixture({ entries: { b: dead(peerEntry('b')) }, config: { linked: () => false } });
    await expect(closed.handler.handle(request)).rejects.toMatchObject({ code: 'NO_INSTANCE' });
    const visited = handlerFixture({ entries: { b: dead(peerEntry('b')) }, config: { linked: () => true } });
    await expect(visited.handler.handle({ ...request, hops: 1, visited: ['b'] })).rejects.toMatchObject({ code: 'NO_INSTANCE' });
    const hops = handlerFixture({ entries: { b: dead(peerEntry('b')) }, config: { linked: () => true } });
    await expect(hops.handler.handle({ ...request, hops: 2, visited: ['z'] })).rejects.toMatchObject({ code: 'NO_INSTANCE' });
    expect([closed, visited, hops].flatMap((f) => f.sent)).toEqual([]);
  });

  it('an alive host is preferred: the held-dead one is a last resort only', async () => {
    const { sent, handler } = handlerFixture({ entries: { b: dead(peerEntry('b')), c: peerEntry('c', { waitMs: 500 }) }, config: { linked: () => true } });
    void handler.handle(request);
    expect(sent.map((s) => s.to)).toEqual(['c']);
  });

  it('a request waiting on a peer then taken for dead stays there when nothing else can take it, and its answer settles it', async () => {
    const { sent, handler, view } = handlerFixture({ entries: { b: peerEntry('b') }, config: { linked: () => true } });
    const p = handler.handle(request);
    (view as { entries: Record<string, ServerEntry> }).entries = { ...view.entries, b: dead(peerEntry('b')) };
    handler.onPeerDown('b');
    await flush();
    expect(sent.map((s) => [s.to, s.m.type])).toEqual([['b', 'submit']]);
    expect(handler.outstanding).toBe(1);
    handler.onResponse('b', { type: 'result', requestId: sent[0]!.m.requestId!, outputs: x });
    await expect(p).resolves.toBe(x);
  });

  it('while another alive host can take it, the request goes there and the held-dead peer is told to drop it (as before)', async () => {
    const { sent, handler, view } = handlerFixture({ entries: { b: peerEntry('b'), c: peerEntry('c', { waitMs: 500 }) }, config: { linked: () => true } });
    void handler.handle(request);
    (view as { entries: Record<string, ServerEntry> }).entries = { ...view.entries, b: dead(peerEntry('b')) };
    handler.onPeerDown('b');
    await flush();
    expect(sent.map((s) => [s.to, s.m.type])).toEqual([['b', 'submit'], ['b', 'cancel'], ['c', 'submit']]);
  });
});
