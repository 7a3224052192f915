import { describe, expect, it } from 'vitest';
import { EparaError } from '@epara/core';
import type { NamedTensors } from '@epara/core';
import { flush, handlerFixture, peerEntry, x } from './request-handler-fixture.js';
import type { RequestHandler } from './request-handler.js';

/** A handler on `a` whose view holds `peers` (the i-th reporting i ms of wait); `down` lists peers whose link refuses to send. */
function setup(peers: string[], o: { hosted?: boolean; down?: string[]; maxFrame?: number } = {}) {
  return handlerFixture({
    entries: Object.fromEntries(peers.map((p, i) => [p, peerEntry(p, { waitMs: i })])),
    hosted: o.hosted === true,
    refuse: (to) => {
      if (o.down?.includes(to)) return new EparaError('PEER_UNAVAILABLE', 'no link');
      if (o.maxFrame !== undefined) return new EparaError('PROTOCOL_ERROR', `a submit frame of ${o.maxFrame + 1} bytes exceeds maxFrameBytes ${o.maxFrame}`, { frameBytes: o.maxFrame + 1 });
      return undefined;
    },
  });
}

const request = (o: Partial<Parameters<RequestHandler['handle']>[0]> = {}) => ({ serviceId: 's', inputs: x, deadline: 1000, hops: 0, visited: [], ...o });

describe('RequestHandler paths', () => {
  it('an already aborted request is rejected ABORTED before routing, and nothing is sent', async () => {
    const { sent, handler } = setup(['b']);
    const c = new AbortController();
    c.abort();
    await expect(handler.handle(request({ signal: c.signal }))).rejects.toMatchObject({ code: 'ABORTED' });
    expect(sent).toEqual([]);
  });

  it('runs locally when the service is hosted here, and reports it', async () => {
    const { events, handler, timers } = setup([], { hosted: true });
    const p = handler.handle(request({ priority: 3 }));
    timers.advance(50);
    await expect(p).resolves.toBeDefined();
    expect(events.local).toEqual(['s']);
  });

  it('a routing rejection is reported to the node and rejects with its code, naming the service and server', async () => {
    const { events, handler } = setup([]);
    await expect(handler.handle(request())).rejects.toMatchObject({ code: 'NO_INSTANCE', details: { serviceId: 's', server: 'a' } });
    expect(events.rejected).toEqual(['NO_INSTANCE']);
  });

  it('malformed inputs reject as INVALID_INPUT instead of throwing', async () => {
    const { handler } = setup(['b']);
    const bad = { x: { type: 'float32', dims: [2], data: 'nope' } } as unknown as NamedTensors;
    await expect(handler.handle(request({ inputs: bad }))).rejects.toBeInstanceOf(EparaError);
  });

  it('a candidate whose link refuses is skipped for the next; the offload is reported once, not as a retry', async () => {
    const { sent, events, handler } = setup(['b', 'c'], { down: ['b'] });
    const p = handler.handle(request());
    expect(sent.map((s) => s.to)).toEqual(['c']);
    expect(events.offloaded).toEqual([{ to: 'c', hops: 1, retry: false }]);
    handler.onResponse('c', { type: 'result', requestId: sent[0]!.m.requestId!, outputs: x });
    await expect(p).resolves.toBe(x);
  });

  it('when no candidate can be reached the request rejects PEER_UNAVAILABLE listing them', async () => {
    const { handler } = setup(['b', 'c'], { down: ['b', 'c'] });
    const err = await handler.handle(request()).catch((e: EparaError) => e);
    expect(err).toMatchObject({ code: 'PEER_UNAVAILABLE' });
    expect([...((err as EparaError).details!['candidates'] as string[])].sort()).toEqual(['b', 'c']);
  });

  it('a response from another peer than the one asked, or for an unknown id, is ignored', async () => {
    const { sent, handler } = setup(['b', 'c']);
    const p = handler.handle(request());
    const first = sent[0]!;
    const other = first.to === 'b' ? 'c' : 'b';
    handler.onResponse(other, { type: 'result', requestId: first.m.requestId!, outputs: x });
    handler.onResponse(first.to, { type: 'result', requestId: 999, outputs: x });
    handler.onResponse(first.to, { type: 'result', outputs: x });
    expect(handler.outstanding).toBe(1);
    handler.onResponse(first.to, { type: 'result', requestId: first.m.requestId!, outputs: x });
    await expect(p).resolves.toBe(x);
  });

  it.each(['PEER_UNAVAILABLE', 'CLOSED', 'UNAUTHENTICATED', 'RATE_LIMITED', 'PROTOCOL_ERROR'])('a peer answering %s is retried on another peer, reported as a retry', async (code) => {
    const { sent, events, handler } = setup(['b', 'c']);
    const p = handler.handle(request());
    const first = sent[0]!;
    handler.onResponse(first.to, { type: 'error', requestId: first.m.requestId!, error: new EparaError(code as 'CLOSED', 'x') });
    await flush();
    expect(sent).toHaveLength(2);
    const second = sent[1]!;
    expect(second.to).not.toBe(first.to);
    expect(second.m).toMatchObject({ type: 'submit', visited: ['a', first.to] });
    expect(events.offloaded.map((e) => e.retry)).toEqual([false, true]);
    handler.onResponse(second.to, { type: 'result', requestId: second.m.requestId!, outputs: x });
    await expect(p).resolves.toBe(x);
  });

  it('a request too large for a frame is refused with the codec\'s error at once, not tried on every candidate and reported PEER_UNAVAILABLE', async () => {
    const { sent, events, handler } = setup(['b', 'c'], { maxFrame: 65_536 });
    await expect(handler.handle(request())).rejects.toMatchObject({ code: 'PROTOCOL_ERROR', details: { frameBytes: 65_537 } });
    expect(sent).toEqual([]);
    expect(events.offloaded).toEqual([]);
  });

  it('a peer answering that the result was too large for a frame is not retried elsewhere (it would be as large there)', async () => {
    const { sent, handler } = setup(['b', 'c']);
    const p = handler.handle(request());
    const error = new EparaError('PROTOCOL_ERROR', 'the result cannot be sent', { frameBytes: 70_000 });
    handler.onResponse(sent[0]!.to, { type: 'error', requestId: sent[0]!.m.requestId!, error });
    await expect(p).rejects.toBe(error);
    expect(sent).toHaveLength(1);
  });

  it('a peer failing with no time left beyond the guard rejects DEADLINE_INFEASIBLE instead of retrying', async () => {
    const { clock, sent, handler } = setup(['b', 'c']);
    const p = handler.handle(request({ deadline: 100 }));
    clock.set(90); // 10 ms left, guard 10 ms
    handler.onPeerDown(sent[0]!.to);
    await expect(p).rejects.toMatchObject({ code: 'DEADLINE_INFEASIBLE', details: { peer: sent[0]!.to } });
    expect(sent).toHaveLength(1);
  });

  it('a retryable answer that comes after the deadline (in the grace period) settles DEADLINE_EXCEEDED, without a retry', async () => {
    const { clock, sent, handler } = setup(['b', 'c']);
    const p = handler.handle(request({ deadline: 100 }));
    clock.set(130); // past the deadline, inside the 100 ms grace: the peer's answer still counts
    handler.onResponse(sent[0]!.to, { type: 'error', requestId: sent[0]!.m.requestId!, error: new EparaError('CLOSED', 'peer closing') });
    await expect(p).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED', details: { peer: sent[0]!.to } });
    expect(sent).toHaveLength(1);
    expect(handler.outstanding).toBe(0);
  });

  it('a peer whose link drops after the deadline settles its requests DEADLINE_EXCEEDED, not DEADLINE_INFEASIBLE', async () => {
    const { clock, sent, handler } = setup(['b', 'c']);
    const p = handler.handle(request({ deadline: 100 }));
    clock.set(100);
    handler.onPeerDown(sent[0]!.to);
    await expect(p).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(sent).toHaveLength(1);
  });

  it('a retry after a forward that reached a link and got no answer is reported as possibly run twice; one after a failed dial or a typed answer is not', async () => {
    const { sent, events, handler, links } = setup(['b', 'c', 'd']);
    // Sent on a link, then the peer dies: the first attempt may have run there.
    const p1 = handler.handle(request());
    handler.onPeerDown(sent[0]!.to);
    expect(events.resent).toEqual(['s']);
    // Sent on a link that closes: likewise.
    links.current = 'L2';
    const p2 = handler.handle(request());
    handler.onLinkDown('L2');
    expect(events.resent).toEqual(['s', 's']);
    // Queued on a dial that failed: the frame never left, the retry runs nothing twice.
    links.current = 'dial-0';
    const p3 = handler.handle(request());
    handler.onLinkDown('dial-0', true, false);
    // A typed answer: the peer says it did not serve it.
    links.current = 'L3';
    const p4 = handler.handle(request());
    const fourth = sent.at(-1)!;
    handler.onResponse(fourth.to, { type: 'error', requestId: fourth.m.requestId!, error: new EparaError('CLOSED', 'closing') });
    await flush();
    expect(events.resent).toEqual(['s', 's']);
    expect(events.offloaded.filter((e) => e.retry)).toHaveLength(4);
    for (const m of sent) handler.onResponse(m.to, { type: 'result', requestId: m.m.requestId!, outputs: x });
    await Promise.all([p1, p2, p3, p4]);
  });

  it('a closed link that was not the last to its peer routes the requests sent on it again, and only those, the peer still a candidate', async () => {
    // One peer: both requests go to it whatever was sent there before, and the retry can only go to it again.
    const { sent, handler, links } = setup(['b']);
    const onFirstLink = handler.handle(request());
    links.current = 'L2';
    const onSecondLink = handler.handle(request());
    const [first, second] = [sent[0]!, sent[1]!];
    expect(second.to).toBe(first.to);
    handler.onLinkDown('L1');
    expect(sent).toHaveLength(3);
    const retry = sent[2]!;
    // The server on the peer's other link never saw it (a new run of the peer) or dropped it: not visited.
    expect(retry.m).toMatchObject({ type: 'submit', visited: ['a'] });
    expect(retry.m.requestId).not.toBe(first.m.requestId);
    expect(handler.outstanding).toBe(2);
    handler.onResponse(first.to, { type: 'result', requestId: second.m.requestId!, outputs: x });
    handler.onResponse(retry.to, { type: 'result', requestId: retry.m.requestId!, outputs: x });
    await expect(onSecondLink).resolves.toBe(x);
    await expect(onFirstLink).resolves.toBe(x);
    handler.onLinkDown('L2'); // nothing outstanding on it any more: no effect
    expect(sent).toHaveLength(3);
  });

  it('a lost dial routes the requests queued on it again at once, the peer visited when it failed and a candidate when it has another link', async () => {
    const { sent, handler, links } = setup(['b', 'c']);
    links.current = 'dial-0';
    const queued = handler.handle(request());
    const first = sent[0]!;
    handler.onLinkDown('dial-0', true);
    const retry = sent[1]!;
    expect(retry.to).not.toBe(first.to);
    expect(retry.m).toMatchObject({ type: 'submit', visited: ['a', first.to] });
    handler.onResponse(retry.to, { type: 'result', requestId: retry.m.requestId!, outputs: x });
    await expect(queued).resolves.toBe(x);

    links.current = 'dial-1';
    const again = handler.handle(request());
    handler.onLinkDown('dial-1', false);
    // The peer's current run linked meanwhile: the retry may go to it.
    expect(sent.at(-1)!.m).toMatchObject({ type: 'submit', visited: ['a'] });
    handler.onResponse(sent.at(-1)!.to, { type: 'result', requestId: sent.at(-1)!.m.requestId!, outputs: x });
    await expect(again).resolves.toBe(x);
  });

  it('a request that fails with its peer and finds no other server names how the peer failed, the link or dial it went on, and the link state', async () => {
    const state = { open: 0, dialing: 2, held: 0, probing: 0, address: 'mem-b', backoffMs: 0 };
    const { sent, handler, links } = handlerFixture({ entries: { b: peerEntry('b') }, config: { linkState: (peer) => ({ ...state, address: `mem-${peer}` }) } });
    links.current = 'dial-0';
    const queued = handler.handle(request());
    expect(sent.map((s) => s.to)).toEqual(['b']);
    handler.onLinkDown('dial-0', true, false);
    await expect(queued).rejects.toMatchObject({
      code: 'PEER_UNAVAILABLE',
      message: 'peer b failed (dial-failed) and no other server can take the request',
      details: { peer: 'b', retry: 'DEADLINE_INFEASIBLE', failure: 'dial-failed', via: 'dial-0', links: state },
    });
    links.current = 'L1';
    const answered = handler.handle(request());
    handler.onResponse('b', { type: 'error', requestId: sent.at(-1)!.m.requestId!, error: new EparaError('CLOSED', 'closing') });
    await expect(answered).rejects.toMatchObject({ details: { failure: 'answered CLOSED', via: 'L1' } });
    const dropped = handler.handle(request());
    handler.onPeerDown('b');
    await expect(dropped).rejects.toMatchObject({ details: { failure: 'peer-down' } });
  });

  it('a peer failing after close rejects CLOSED', async () => {
    const { sent, handler } = setup(['b', 'c']);
    const p = handler.handle(request());
    const first = sent[0]!;
    handler.close();
    await expect(p).rejects.toMatchObject({ code: 'CLOSED' });
    expect(sent.at(-1)).toEqual({ to: first.to, m: { type: 'cancel', requestId: first.m.requestId, reason: 'node closed' } });
    handler.onPeerDown(first.to); // nothing outstanding: no effect
    expect(handler.outstanding).toBe(0);
  });

  it('the caller aborting while offloaded cancels at the peer and rejects ABORTED; the timer no longer fires', async () => {
    const { timers, sent, handler } = setup(['b']);
    const c = new AbortController();
    const p = handler.handle(request({ signal: c.signal }));
    c.abort();
    await expect(p).rejects.toMatchObject({ code: 'ABORTED', details: { peer: 'b' } });
    expect(sent.map((s) => s.m)).toEqual([expect.objectContaining({ type: 'submit' }), { type: 'cancel', requestId: sent[0]!.m.requestId, reason: 'aborted by the caller' }]);
    expect(handler.outstanding).toBe(0);
    timers.advance(5000);
    expect(sent).toHaveLength(2);
  });

  it('a result removes the abort listener: aborting afterwards sends no cancel', async () => {
    const { sent, handler } = setup(['b']);
    const c = new AbortController();
    const p = handler.handle(request({ signal: c.signal }));
    handler.onResponse('b', { type: 'result', requestId: sent[0]!.m.requestId!, outputs: x });
    await expect(p).resolves.toBe(x);
    c.abort();
    expect(sent).toHaveLength(1);
  });

  it('a silent peer is given up at the deadline plus the grace, not before', async () => {
    const { timers, handler, sent } = setup(['b']);
    const p = handler.handle(request({ deadline: 50 }));
    expect(sent).toHaveLength(1);
    timers.advance(149);
    expect(handler.outstanding).toBe(1);
    timers.advance(1);
    await expect(p).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED', details: { peer: 'b' } });
  });
  it('a peer going down retries only the requests sent to it', async () => {
    const { sent, handler } = setup(['b', 'c']);
    const p1 = handler.handle(request());
    const p2 = handler.handle(request({ visited: [sent[0]!.to] }));
    const [toFirst, toSecond] = [sent[0]!, sent[1]!];
    expect(toSecond.to).not.toBe(toFirst.to);
    handler.onPeerDown(toFirst.to);
    await flush();
    expect(sent).toHaveLength(3);
    expect(sent[2]).toMatchObject({ to: toSecond.to, m: { type: 'submit', visited: ['a', toFirst.to] } });
    expect(handler.outstanding).toBe(2);
    handler.onResponse(toSecond.to, { type: 'result', requestId: toSecond.m.requestId!, outputs: x });
    handler.onResponse(toSecond.to, { type: 'result', requestId: sent[2]!.m.requestId!, outputs: x });
    await expect(Promise.all([p1, p2])).resolves.toEqual([x, x]);
  });

  it('close rejects a request in flight with CLOSED naming its peer', async () => {
    const { sent, handler } = setup(['b']);
    const p = handler.handle(request());
    handler.close();
    await expect(p).rejects.toMatchObject({ code: 'CLOSED', details: { peer: sent[0]!.to } });
  });

  it('a failed peer that leaves nowhere to go rejects PEER_UNAVAILABLE keeping the routing code; other retry errors pass as they are', async () => {
    const lone = setup(['b']);
    const p = lone.handler.handle(request());
    lone.handler.onPeerDown('b');
    const lost = await p.catch((e: EparaError) => e);
    expect(lost).toMatchObject({ code: 'PEER_UNAVAILABLE', details: { peer: 'b' } });
    // The routing rejection the retry met (which one is routing's choice) is kept as `retry`.
    expect(['NO_INSTANCE', 'HOP_LIMIT', 'OVERLOADED', 'DEADLINE_INFEASIBLE']).toContain((lost as EparaError).details['retry']);

    const down: string[] = [];
    const two = setup(['b', 'c'], { down });
    const q = two.handler.handle(request());
    const first = two.sent[0]!.to;
    const other = first === 'b' ? 'c' : 'b';
    down.push(other);
    two.handler.onPeerDown(first);
    const err = await q.catch((e: EparaError) => e);
    expect(err).toMatchObject({ code: 'PEER_UNAVAILABLE', details: { candidates: [other] } });
    expect((err as EparaError).details['retry']).toBeUndefined();
  });
});
