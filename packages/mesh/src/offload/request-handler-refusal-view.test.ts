import { describe, expect, it } from 'vitest';
import { EparaError } from '@epara/core';
import { flush, handlerFixture, peerEntry, x } from './request-handler-fixture.js';

/*
 * A peer's `OVERLOADED` refusal is a fresher reading of its queue than its view entry, which is up to a sync
 * period old: until the peer writes an entry after the refusal, routing reads the peer's wait as the refusal
 * gave it (its own estimate at the request's arrival, `details.estimateMs`; without one, the budget the request
 * had when sent), so a burst decided on one stale entry does not send every request to a peer that is refusing
 * them.
 */

function setup() {
  const { clock, sent, view, handler } = handlerFixture({ entries: { b: peerEntry('b', { waitMs: 0 }), c: peerEntry('c', { waitMs: 300 }) } });
  const refuse = (i: number, details: Record<string, unknown> = {}): void =>
    handler.onResponse(sent[i]!.to, { type: 'error', requestId: sent[i]!.m.requestId!, error: new EparaError('OVERLOADED', 'no room', details) });
  return { clock, sent, view, handler, refuse };
}

const request = (deadline: number) => ({ serviceId: 's', inputs: x, deadline, hops: 0, visited: [] });

describe('RequestHandler: a peer that refused is read at its refusal until it reports again', () => {
  it('the next request goes to the peer the refusal leaves ahead, not again to the one that refused', async () => {
    const { clock, sent, handler, refuse } = setup();
    void handler.handle(request(1000)).catch(() => undefined);
    expect(sent.map((s) => s.to)).toEqual(['b']);
    clock.set(20);
    // b's own estimate on arrival: 900 ms to complete (its view entry, written at 0, said no wait at all).
    refuse(0, { estimateMs: 900 });
    await flush();
    expect(sent.map((s) => s.to)).toEqual(['b', 'c']);
    void handler.handle(request(1020)).catch(() => undefined);
    expect(sent.map((s) => s.to)).toEqual(['b', 'c', 'c']);
  });

  it('the refusal is read no longer once the peer has written an entry after it', async () => {
    const { clock, sent, view, handler, refuse } = setup();
    void handler.handle(request(1000)).catch(() => undefined);
    clock.set(20);
    refuse(0, { estimateMs: 900 });
    await flush();
    clock.set(30);
    (view.entries as Record<string, unknown>)['b'] = peerEntry('b', { waitMs: 0, updatedAt: 25 });
    void handler.handle(request(1030)).catch(() => undefined);
    expect(sent.map((s) => s.to)).toEqual(['b', 'c', 'b']);
  });

  it('a refusal without an estimate reads the peer as unable to finish within the budget the request was sent with', async () => {
    const { clock, sent, handler, refuse } = setup();
    void handler.handle(request(1000)).catch(() => undefined);
    clock.set(20);
    refuse(0);
    await flush();
    expect(sent.map((s) => s.to)).toEqual(['b', 'c']);
    // b read as at least a 1000 ms wait from 20: c (300 ms) is ahead, and a deadline b could meet only idle goes to c too.
    void handler.handle(request(1020)).catch(() => undefined);
    expect(sent.map((s) => s.to)).toEqual(['b', 'c', 'c']);
  });

  it('a refusal read so is only as long as the peer said: a request with budget past it may still go there', async () => {
    const { clock, sent, handler, refuse } = setup();
    void handler.handle(request(1000)).catch(() => undefined);
    clock.set(20);
    refuse(0, { estimateMs: 200 });
    await flush();
    // b's wait read as 200 − 5 ms of run, c's 300: b is still ahead.
    void handler.handle(request(2000)).catch(() => undefined);
    expect(sent.map((s) => s.to)).toEqual(['b', 'c', 'b']);
  });
});

describe('RequestHandler: its own refusal names its estimate', () => {
  it('an OVERLOADED refusal of a server hosting the service carries its estimate to complete, ms from now', async () => {
    const { clock, handler } = handlerFixture({ hosted: true, serviceTimeMs: 2000, now: 100 });
    clock.set(100);
    const err = (await handler.handle(request(1100)).catch((e: unknown) => e)) as EparaError;
    expect(err.code).toBe('OVERLOADED');
    expect(err.details).toMatchObject({ serviceId: 's', server: 'a', estimateMs: 2000 });
  });
});
