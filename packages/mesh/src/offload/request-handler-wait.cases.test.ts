import { describe, expect, it } from 'vitest';
import { handlerFixture, peerEntry, x } from './request-handler-fixture.js';

// A forwarded request whose peer stays silent settles DEADLINE_EXCEEDED at its deadline plus the response grace,
// counted from when it was sent — on a clock that does not start at 0.

describe('RequestHandler: a peer that never answers', () => {
  it('settles the request DEADLINE_EXCEEDED at its deadline plus the grace, cancels it there and reports the link', async () => {
    const unanswered: string[] = [];
    const { timers, sent, handler } = handlerFixture({ now: 5000, entries: { b: peerEntry('b', { updatedAt: 5000 }) }, config: { nextId: () => 1, unanswered: (peer) => void unanswered.push(peer) } });
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
