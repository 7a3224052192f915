import { describe, expect, it } from 'vitest';
import type { Timers } from '@epara/core';
import { handlerFixture, peerEntry, x } from './request-handler-fixture.js';
import { MAX_OWED_CANCELS } from './request-handler.js';

// The cancels a handler owes a peer it took for dead while that peer held its requests (they went elsewhere): sent at
// once over a link still open, again whenever the peer is back, until each request's deadline; at most
// MAX_OWED_CANCELS of them, the expired ones dropped first, then the oldest.

/** A handler on `a` forwarding to `b` (the only server of the service); `linked` says whether b's link is open. */
function setup(o: { linked: boolean }) {
  // No timer fires in these cases (each request settles before its response wait ends): thousands of them, kept
  // by a manual timer list, would cost more than the cases themselves.
  const timers: Timers = { setTimeout: () => ({ cancel: () => undefined }), at: () => ({ cancel: () => undefined }) };
  const { clock, sent, handler } = handlerFixture({ entries: { b: peerEntry('b'), c: peerEntry('c', { services: [] }) }, timers, config: { linked: () => o.linked } });
  const forward = (deadline: number): number => {
    const before = sent.length;
    void handler.handle({ serviceId: 's', inputs: x, deadline, hops: 0, visited: [] }).catch(() => undefined);
    const m = sent.at(-1)!.m;
    // Plain checks: thousands of requests go through here.
    if (sent.length !== before + 1 || m.type !== 'submit') throw new Error('the request was not forwarded');
    return m.requestId!;
  };
  const cancels = (): { to: string; requestId: number | undefined; reason: unknown }[] =>
    sent.filter((s) => s.m.type === 'cancel').map((s) => ({ to: s.to, requestId: s.m.requestId, reason: (s.m as { reason?: unknown }).reason }));
  return { clock, sent, handler, forward, cancels };
}

describe('RequestHandler: cancels owed to a peer taken for dead', () => {
  it('cancels each of its requests at once over a link still open, and owes each a cancel for its return', () => {
    const { handler, forward, cancels } = setup({ linked: true });
    const r1 = forward(500);
    const r2 = forward(800);
    handler.onPeerDown('b');
    expect(cancels().map((c) => [c.to, c.requestId])).toEqual([['b', r1], ['b', r2]]);
    for (const c of cancels()) expect(typeof c.reason === 'string' && c.reason.length > 0).toBe(true);
    expect(handler.owedCancels).toBe(2);
  });

  it('sends nothing at once when no link to the peer is open, and sends each owed cancel when it is back, until its deadline', () => {
    const { clock, handler, forward, cancels } = setup({ linked: false });
    const r1 = forward(500);
    const r2 = forward(800);
    handler.onPeerDown('b');
    expect(cancels()).toEqual([]);
    expect(handler.owedCancels).toBe(2);
    // Another server coming back is owed nothing.
    handler.onPeerBack('c');
    expect(cancels()).toEqual([]);
    handler.onPeerBack('b');
    expect(cancels().map((c) => [c.to, c.requestId])).toEqual([['b', r1], ['b', r2]]);
    for (const c of cancels()) expect(typeof c.reason === 'string' && c.reason.length > 0).toBe(true);
    // Again on every return (a peer back while still cut off loses this copy too), but not past a request's deadline:
    // at exactly 500 the first is dropped unsent.
    clock.set(500);
    handler.onPeerBack('b');
    expect(cancels().slice(2).map((c) => c.requestId)).toEqual([r2]);
    expect(handler.owedCancels).toBe(1);
    clock.set(800);
    handler.onPeerBack('c'); // whichever server comes back, the expired ones go
    expect(handler.owedCancels).toBe(0);
    handler.onPeerBack('b');
    expect(cancels()).toHaveLength(3);
  });

  it(`keeps at most ${MAX_OWED_CANCELS}: at the bound all, past it the expired ones first, then the oldest`, () => {
    const { clock, handler, forward, cancels } = setup({ linked: false });
    // One less than the bound, the second due at 102, the others at 105, owed in rounds of 64: each round's requests
    // go out and the peer is taken for dead with them. No other server serves `s`, so each is only owed its cancel (its
    // retry is refused). In rounds because routing a request reads every request still outstanding: thousands at once
    // cost a time quadratic in the bound. Their refusals' errors are made without stack frames (formatting 4,095 of
    // them through source maps was most of the test's time); nothing here reads a stack.
    const ids: number[] = [];
    const frames = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      for (let i = 0; i < MAX_OWED_CANCELS - 1; i++) {
        ids.push(forward(i === 1 ? 102 : 105));
        if (ids.length % 64 === 0) handler.onPeerDown('b');
      }
      handler.onPeerDown('b');
    } finally {
      Error.stackTraceLimit = frames;
    }
    expect(handler.owedCancels).toBe(MAX_OWED_CANCELS - 1);
    // At 102 the second expires. One more owed brings the count to the bound exactly: all are kept.
    clock.set(101);
    ids.push(forward(120));
    clock.set(102);
    handler.onPeerDown('b');
    expect(handler.owedCancels).toBe(MAX_OWED_CANCELS);
    // One more, past the bound: the one expired (at exactly its deadline) goes, not the oldest.
    ids.push(forward(120));
    handler.onPeerDown('b');
    expect(handler.owedCancels).toBe(MAX_OWED_CANCELS);
    handler.onPeerBack('b');
    let sentIds = cancels().map((c) => c.requestId);
    expect(sentIds).toEqual([ids[0], ...ids.slice(2)]);
    // One more, past the bound with none expired: the oldest goes.
    ids.push(forward(120));
    handler.onPeerDown('b');
    expect(handler.owedCancels).toBe(MAX_OWED_CANCELS);
    const before = cancels().length;
    handler.onPeerBack('b');
    sentIds = cancels().slice(before).map((c) => c.requestId);
    expect(sentIds).toEqual(ids.slice(2));
  });
});
