import { describe, expect, it } from 'vitest';
import { EparaError } from '@epara/core';
import type { ClusterView, LocalEstimate, LocalExecutor, LocalSubmitOptions, ServerEntry, Timers } from '@epara/core';
import { LocalLateness } from './local-lateness.js';
import type { OffloadMessage } from './offload-messages.js';
import type { Offloader } from './offloader.js';
import { handlerFixture, peerEntry, x } from './request-handler-fixture.js';
import type { PeerEntryOptions } from './request-handler-fixture.js';

/*
 * The request handler's own rules around routing, on a manual clock: what it reports when a retry runs here or
 * goes through an offloader, what the local run is handed, when the measured correction's last resort applies,
 * what a local failure teaches the correction, and which forwards count against a peer's reported wait.
 */

const entry = (id: string, o: PeerEntryOptions = {}): ServerEntry => peerEntry(id, o);

/**
 * A handler on `a` over an executor whose estimate the test sets (`undefined`: nothing hosted) and whose runs
 * settle as `outcome` says: after `ms`, with a result or the given error code.
 */
function setup(o: { entries?: Record<string, ServerEntry>; lateness?: LocalLateness; offloader?: Offloader } = {}) {
  const state: { estimate: LocalEstimate | undefined; outcome: { ms: number; code?: string } } = { estimate: undefined, outcome: { ms: 5 } };
  const submitted: LocalSubmitOptions[] = [];
  const executor = (_clock: unknown, timers: Timers): LocalExecutor => ({
    estimate: () => state.estimate,
    submit: (_s, inputs, options = {}) => {
      submitted.push(options);
      const { ms, code } = state.outcome;
      return new Promise((resolve, reject) => {
        timers.setTimeout(() => (code === undefined ? resolve(inputs) : reject(new EparaError(code as 'INTERNAL', 'failed'))), ms);
      });
    },
    openStream: () => {
      throw new EparaError('INTERNAL', 'no streams here');
    },
    load: () => Promise.reject(new EparaError('INTERNAL', 'no load here')),
    unload: () => Promise.resolve(),
    instances: () => [],
  });
  const f = handlerFixture({ entries: o.entries ?? { b: entry('b') }, executor, config: { guardMs: 1, lateness: o.lateness, offloader: o.offloader } });
  // As this file counts them: how many ran here and how many went out again.
  const events = {
    get local() {
      return f.events.local.length;
    },
    get resent() {
      return f.events.resent.length;
    },
    rejected: f.events.rejected,
  };
  return { clock: f.clock, timers: f.timers, state, submitted, view: f.view, sent: f.sent, events, handler: f.handler };
}

/** A correction of ×4 for service `s`, from four observations settled at 0. */
function correctedFourTimes(): LocalLateness {
  const l = new LocalLateness(10_000);
  for (let i = 0; i < 4; i++) l.observe('s', { decidedAt: -40, estimateAt: -30, settledAt: 0 });
  return l;
}

describe('RequestHandler: a retry that runs here', () => {
  it('is reported as possibly run twice when the forward before it went unanswered; a first local run is not', async () => {
    const { state, submitted, sent, events, handler, timers } = setup();
    // Nothing hosted at first: the request goes to b, whose link then drops without an answer.
    const p = handler.handle({ serviceId: 's', inputs: x, deadline: 1000, hops: 0, visited: [], priority: 3 });
    expect(sent.map((s) => s.to)).toEqual(['b']);
    state.estimate = { ready: true, completionAt: 10 };
    handler.onPeerDown('b');
    expect(events).toMatchObject({ local: 1, resent: 1 });
    expect(submitted.map((s) => s.priority)).toEqual([3]);
    timers.advance(5);
    await expect(p).resolves.toBe(x);
    // A request that runs here on its first routing is not a resend.
    const q = handler.handle({ serviceId: 's', inputs: x, deadline: 1000, hops: 0, visited: [] });
    expect(events).toMatchObject({ local: 2, resent: 1 });
    expect(submitted.map((s) => s.priority)).toEqual([3, 0]);
    timers.advance(5);
    await q;
    handler.close();
  });
});

describe('RequestHandler: the last resort of a measured correction', () => {
  it('runs here when the raw estimate lands exactly at deadline − guardMs, and refuses one landing later', async () => {
    // b's queue is 200 ms long: no forward fits. The raw estimate says 10 ms, the corrected one 40 ms.
    const { clock, state, events, handler, timers, sent } = setup({ entries: { b: entry('b', { waitMs: 200 }) }, lateness: correctedFourTimes() });
    state.estimate = { ready: true, completionAt: 10 };
    const p = handler.handle({ serviceId: 's', inputs: x, deadline: 11, hops: 0, visited: [] });
    expect(events.local).toBe(1);
    timers.advance(5);
    await expect(p).resolves.toBe(x);
    state.estimate = { ready: true, completionAt: clock.now() + 10 };
    await expect(handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 10, hops: 0, visited: [] })).rejects.toMatchObject({ code: 'OVERLOADED' });
    expect(events.local).toBe(1);
    expect(sent).toEqual([]);
    handler.close();
  });

  it('does not override DEADLINE_INFEASIBLE: an idle instance here (as the view reports it) could not finish in time', async () => {
    // This server's own entry reports a run of 50 ms; the executor's raw estimate says 10 ms, the corrected 40 ms.
    const { state, events, handler } = setup({ entries: { a: entry('a', { runMs: 50 }) }, lateness: correctedFourTimes() });
    state.estimate = { ready: true, completionAt: 10 };
    await expect(handler.handle({ serviceId: 's', inputs: x, deadline: 30, hops: 0, visited: [] })).rejects.toMatchObject({ code: 'DEADLINE_INFEASIBLE' });
    expect(events).toMatchObject({ local: 0, rejected: ['DEADLINE_INFEASIBLE'] });
    handler.close();
  });
});

describe('RequestHandler: what a local run teaches the correction', () => {
  it('a local run failing other than DEADLINE_EXCEEDED teaches nothing', async () => {
    const lateness = new LocalLateness(10_000);
    const { state, handler, timers } = setup({ entries: {}, lateness });
    state.outcome = { ms: 40, code: 'INTERNAL' };
    for (let i = 0; i < 4; i++) {
      state.estimate = { ready: true, completionAt: timers.clock.now() + 10 };
      const p = handler.handle({ serviceId: 's', inputs: x, deadline: timers.clock.now() + 100, hops: 0, visited: [] });
      timers.advance(40);
      await expect(p).rejects.toMatchObject({ code: 'INTERNAL' });
    }
    expect(lateness.ratio('s', timers.clock.now())).toBe(1);
    handler.close();
  });

  it('a local run dropped DEADLINE_EXCEEDED before its deadline counts as having waited until the deadline', async () => {
    const lateness = new LocalLateness(10_000);
    const { state, handler, timers } = setup({ entries: {}, lateness });
    // Dropped 5 ms after it was routed, 30 ms before its deadline: it would have waited at least 35 ms, not 5.
    state.outcome = { ms: 5, code: 'DEADLINE_EXCEEDED' };
    for (let i = 0; i < 4; i++) {
      const now = timers.clock.now();
      state.estimate = { ready: true, completionAt: now + 10 };
      const p = handler.handle({ serviceId: 's', inputs: x, deadline: now + 35, hops: 0, visited: [] });
      timers.advance(5);
      await expect(p).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
      timers.advance(30);
    }
    expect(lateness.ratio('s', timers.clock.now())).toBeCloseTo(3.5);
    handler.close();
  });
});

describe('RequestHandler: forwards counted against a peer’s report', () => {
  it('counts a forward of this service only, not the other services sent to the same peer', () => {
    // b hosts s and t and reports no queue; c hosts s and reports 15 ms. Each forward adds 1000 / 100 = 10 ms.
    const { handler, sent } = setup({ entries: { b: entry('b', { services: ['s', 't'] }), c: entry('c', { waitMs: 15 }) } });
    for (let i = 0; i < 3; i++) void handler.handle({ serviceId: 't', inputs: x, deadline: 1000, hops: 0, visited: [] }).catch(() => undefined);
    void handler.handle({ serviceId: 's', inputs: x, deadline: 1000, hops: 0, visited: [] }).catch(() => undefined);
    expect(sent.map((s) => `${s.m.type === 'submit' ? s.m.serviceId : '?'}→${s.to}`)).toEqual(['t→b', 't→b', 't→b', 's→b']);
    handler.close();
  });

  it('counts a forward sent in the same millisecond as the peer wrote its entry (the entry cannot show it)', () => {
    // Both entries written at 0, the clock at 0; c reports 5 ms. The first goes to b, which then counts 10 ms.
    const { handler, sent } = setup({ entries: { b: entry('b'), c: entry('c', { waitMs: 5 }) } });
    for (let i = 0; i < 2; i++) void handler.handle({ serviceId: 's', inputs: x, deadline: 1000, hops: 0, visited: [] }).catch(() => undefined);
    expect(sent.map((s) => s.to)).toEqual(['b', 'c']);
    handler.close();
  });
});

describe('RequestHandler with an offloader: resends', () => {
  it('reports a resend only for an attempt after one that went unanswered', async () => {
    const attempts: { hops: number; retry: boolean; unanswered?: boolean }[][] = [
      [{ hops: 1, retry: false }],
      [{ hops: 1, retry: false }, { hops: 1, retry: true, unanswered: false }],
      [{ hops: 1, retry: false }, { hops: 1, retry: true, unanswered: true }],
    ];
    let call = 0;
    const offloader: Offloader = {
      serve: async () => undefined,
      unserve: () => undefined,
      forward: async (_s, inputs, o) => {
        for (const a of attempts[call++]!) o.onAttempt?.(a);
        return inputs;
      },
      close: () => undefined,
    };
    const { events, handler } = setup({ offloader });
    for (let i = 0; i < 2; i++) await handler.handle({ serviceId: 's', inputs: x, deadline: 1000, hops: 0, visited: [] });
    expect(events.resent).toBe(0);
    await handler.handle({ serviceId: 's', inputs: x, deadline: 1000, hops: 0, visited: [] });
    expect(events.resent).toBe(1);
    handler.close();
  });
});

describe('RequestHandler: a retry that routing refuses', () => {
  it.each([
    // Nothing hosted here, and the one peer failed and left the view.
    { name: 'no instance left', estimate: undefined, leaves: true, code: 'NO_INSTANCE' },
    // Hosted here but the queue misses the deadline, and the one peer failed.
    { name: 'no room left', estimate: { ready: true, completionAt: 5000 }, leaves: false, code: 'OVERLOADED' },
  ])('$name: rejects PEER_UNAVAILABLE naming the peer, with routing’s code as `retry`', async ({ estimate, leaves, code }) => {
    const { state, sent, handler, view } = setup();
    state.estimate = undefined;
    const p = handler.handle({ serviceId: 's', inputs: x, deadline: 1000, hops: 0, visited: [] });
    expect(sent.map((s) => s.to)).toEqual(['b']);
    state.estimate = estimate;
    // A new view is a new entries object (routing caches its entry list per object).
    if (leaves) (view as { entries: ClusterView['entries'] }).entries = {};
    handler.onPeerDown('b');
    await expect(p).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE', details: { peer: 'b', retry: code } });
    handler.close();
  });
});

describe('RequestHandler: the caller’s signal', () => {
  it('holds the handler’s abort listener only while the request is out at a peer', async () => {
    const listeners = new Set<unknown>();
    const signal = {
      aborted: false,
      reason: undefined,
      addEventListener: (_type: string, l: unknown) => void listeners.add(l),
      removeEventListener: (_type: string, l: unknown) => void listeners.delete(l),
    };
    const { sent, handler } = setup();
    const p = handler.handle({ serviceId: 's', inputs: x, deadline: 1000, hops: 0, visited: [], signal: signal as unknown as AbortSignal });
    expect(listeners.size).toBe(1);
    handler.onResponse('b', { type: 'result', requestId: sent[0]!.m.requestId!, outputs: x });
    await expect(p).resolves.toBe(x);
    expect(listeners.size).toBe(0);
    handler.close();
  });
});

describe('RequestHandler: close', () => {
  it('leaves nothing outstanding and sends nothing new when a link drops while close() cancels on it', async () => {
    const { sent, handler } = setup({ entries: { b: entry('b'), c: entry('c', { waitMs: 50 }) } });
    const first = handler.handle({ serviceId: 's', inputs: x, deadline: 1000, hops: 0, visited: [] });
    const second = handler.handle({ serviceId: 's', inputs: x, deadline: 1000, hops: 0, visited: [] });
    expect(handler.outstanding).toBe(2);
    const before = sent.length;
    // The first cancel close() sends finds the link gone, which the node reports at once.
    let dropped = false;
    sent.push = ((m: { to: string; m: OffloadMessage }) => {
      if (m.m.type === 'cancel' && !dropped) {
        dropped = true;
        handler.onLinkDown('L1');
      }
      return Array.prototype.push.call(sent, m);
    }) as typeof sent.push;
    handler.close();
    await expect(first).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(second).rejects.toMatchObject({ code: 'CLOSED' });
    expect(handler.outstanding).toBe(0);
    expect(sent.slice(before).filter((m) => m.m.type === 'submit')).toEqual([]);
  });
});
