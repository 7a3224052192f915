import { describe, expect, it } from 'vitest';
import { createManualClock, EparaError } from '@epara/core';
import type { NamedTensors } from '@epara/core';
import { ANSWERED_KEPT_PER_LINK, EARLY_CANCELS_KEPT_PER_LINK, InboundRequests } from './inbound-requests.js';
import type { OffloadMessage } from './offload-messages.js';
import type { HandledRequest } from './request-handler.js';

const x: NamedTensors = { x: { type: 'float32', dims: [1], data: Float32Array.of(1) } };
const flush = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

/** Inbound requests whose handler the test settles by hand. */
function setup(o: { hopLimit?: number; failReply?: boolean; resultTooLarge?: boolean } = {}) {
  const clock = createManualClock(1000);
  const handled: { r: HandledRequest; resolve: (v: NamedTensors) => void; reject: (e: unknown) => void }[] = [];
  const replies: { linkId: string; m: OffloadMessage }[] = [];
  const inbound = new InboundRequests({
    clock,
    handle: (r) => new Promise((resolve, reject) => handled.push({ r, resolve, reject })),
    reply: (linkId, m) => {
      if (o.failReply) throw new Error('link gone');
      if (o.resultTooLarge && m.type === 'result') throw new EparaError('PROTOCOL_ERROR', 'a result frame of 70000 bytes exceeds maxFrameBytes 65536', { frameBytes: 70_000 });
      replies.push({ linkId, m });
    },
    maxBudgetMs: 500,
    hopLimit: o.hopLimit ?? 3,
  });
  return { clock, inbound, handled, replies };
}

const submit = (requestId: number, o: Partial<Extract<OffloadMessage, { type: 'submit' }>> = {}): Extract<OffloadMessage, { type: 'submit' }> => ({
  type: 'submit', requestId, serviceId: 's', inputs: x, budgetMs: 200, hops: 1, maxHops: 3, visited: ['a'], priority: 2, ...o,
});

describe('InboundRequests', () => {
  it('runs a forwarded request with a deadline rebuilt from the budget, the sender on visited, and answers its result', async () => {
    const { inbound, handled, replies } = setup();
    inbound.onSubmit('L1', 'b', submit(5));
    expect(inbound.size).toBe(1);
    expect(handled[0]!.r).toMatchObject({ serviceId: 's', inputs: x, deadline: 1200, hops: 1, visited: ['a', 'b'], priority: 2 });
    expect(handled[0]!.r.signal?.aborted).toBe(false);
    handled[0]!.resolve(x);
    await flush();
    expect(replies).toEqual([{ linkId: 'L1', m: { type: 'result', requestId: 5, outputs: x } }]);
    expect(inbound.size).toBe(0);
  });

  it('a result too large for a frame is answered with that error, not left for the sender to wait out', async () => {
    const { inbound, handled, replies } = setup({ resultTooLarge: true });
    inbound.onSubmit('L1', 'b', submit(5));
    handled[0]!.resolve(x);
    await flush();
    expect(replies).toHaveLength(1);
    expect(replies[0]!.m).toMatchObject({ type: 'error', requestId: 5, error: { code: 'PROTOCOL_ERROR', details: { frameBytes: 70_000 } } });
  });

  it('a repeated submit of a running request is ignored; the same id on another link is another request', () => {
    const { inbound, handled } = setup();
    inbound.onSubmit('L1', 'b', submit(5));
    inbound.onSubmit('L1', 'b', submit(5));
    inbound.onSubmit('L2', 'c', submit(5));
    expect(handled).toHaveLength(2);
    expect(inbound.size).toBe(2);
  });

  it('a submit repeated on its link after it was answered (or cancelled) is not run again; on another link it is', async () => {
    const { inbound, handled, replies } = setup();
    inbound.onSubmit('L1', 'b', submit(5));
    inbound.onSubmit('L1', 'b', submit(6));
    handled[0]!.resolve(x);
    inbound.onCancel('L1', 6);
    await flush();
    expect(replies).toEqual([{ linkId: 'L1', m: { type: 'result', requestId: 5, outputs: x } }]);
    // Copies arriving late (duplicated in transit): their answer went out on this link already.
    inbound.onSubmit('L1', 'b', submit(5));
    inbound.onSubmit('L1', 'b', submit(6));
    await flush();
    expect(handled).toHaveLength(2);
    expect(replies).toHaveLength(1);
    inbound.onSubmit('L2', 'c', submit(5));
    expect(handled).toHaveLength(3);
  });

  it('the answered ids are bounded per link and forgotten with the link', async () => {
    const { inbound, handled } = setup();
    for (let id = 1; id <= ANSWERED_KEPT_PER_LINK + 1; id++) inbound.onSubmit('L1', 'b', submit(id));
    for (const h of handled) h.resolve(x);
    await flush();
    const ran = handled.length;
    // The oldest id fell out of the window; the newest is still remembered.
    inbound.onSubmit('L1', 'b', submit(ANSWERED_KEPT_PER_LINK + 1));
    expect(handled).toHaveLength(ran);
    inbound.onSubmit('L1', 'b', submit(1));
    expect(handled).toHaveLength(ran + 1);
    // A request answered after its link closed leaves nothing behind for that link.
    inbound.onSubmit('L3', 'b', submit(7));
    inbound.onLinkClosed('L3');
    handled.at(-1)!.resolve(x);
    await flush();
    inbound.onLinkClosed('L1');
    expect(inbound.size).toBe(1);
    expect(inbound.linksRemembered).toBe(0);
  });

  it('clamps the budget to [0, maxBudgetMs] and keeps visited when the sender is on it', () => {
    const { inbound, handled } = setup();
    inbound.onSubmit('L1', 'b', submit(1, { budgetMs: 10_000, visited: ['b'] }));
    inbound.onSubmit('L1', 'b', submit(2, { budgetMs: -50 }));
    expect(handled[0]!.r).toMatchObject({ deadline: 1500, visited: ['b'] });
    expect(handled[1]!.r.deadline).toBe(1000);
  });

  it("the sender's smaller hop limit binds: hops are moved up by the difference; a larger one changes nothing", () => {
    const { inbound, handled } = setup({ hopLimit: 3 });
    inbound.onSubmit('L1', 'b', submit(1, { hops: 1, maxHops: 2 }));
    inbound.onSubmit('L1', 'b', submit(2, { hops: 1, maxHops: 5 }));
    expect(handled.map((h) => h.r.hops)).toEqual([2, 1]);
  });

  it('a failure is answered as a typed error', async () => {
    const { inbound, handled, replies } = setup();
    inbound.onSubmit('L1', 'b', submit(5));
    handled[0]!.reject(new EparaError('OVERLOADED', 'full'));
    await flush();
    expect(replies).toEqual([{ linkId: 'L1', m: { type: 'error', requestId: 5, error: expect.objectContaining({ code: 'OVERLOADED' }) } }]);
  });

  it('cancel aborts the request with ABORTED and its late outcome is not answered', async () => {
    const { inbound, handled, replies } = setup();
    inbound.onSubmit('L1', 'b', submit(5));
    inbound.onSubmit('L1', 'b', submit(6));
    inbound.onCancel('L1', 5);
    inbound.onCancel('L1', 99); // unknown: nothing
    const signal = handled[0]!.r.signal as AbortSignal;
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toMatchObject({ code: 'ABORTED' });
    expect(handled[1]!.r.signal?.aborted).toBe(false);
    handled[0]!.resolve(x);
    await flush();
    expect(replies).toEqual([]);
    expect(inbound.size).toBe(1);
  });

  it("a closed link aborts only that link's requests with PEER_UNAVAILABLE", () => {
    const { inbound, handled } = setup();
    inbound.onSubmit('L1', 'b', submit(1));
    inbound.onSubmit('L10', 'c', submit(2));
    inbound.onLinkClosed('L1');
    expect((handled[0]!.r.signal as AbortSignal).reason).toMatchObject({ code: 'PEER_UNAVAILABLE' });
    expect(handled[1]!.r.signal?.aborted).toBe(false);
  });

  it('close answers every running request with CLOSED on its link, aborts it, and forgets it', async () => {
    const { inbound, handled, replies } = setup();
    inbound.onSubmit('L#1', 'b', submit(1));
    inbound.onSubmit('L2', 'c', submit(2));
    inbound.close();
    expect(inbound.size).toBe(0);
    expect(replies).toEqual([
      { linkId: 'L#1', m: { type: 'error', requestId: 1, error: expect.objectContaining({ code: 'CLOSED' }) } },
      { linkId: 'L2', m: { type: 'error', requestId: 2, error: expect.objectContaining({ code: 'CLOSED' }) } },
    ]);
    expect(handled.every((h) => h.r.signal?.aborted)).toBe(true);
    expect((handled[0]!.r.signal as AbortSignal).reason).toMatchObject({ code: 'CLOSED' });
    handled[0]!.resolve(x);
    await flush();
    expect(replies).toHaveLength(2);
  });

  it('a link that is gone when answering or closing does not throw', async () => {
    const { inbound, handled } = setup({ failReply: true });
    inbound.onSubmit('L1', 'b', submit(1));
    inbound.onSubmit('L1', 'b', submit(2));
    handled[0]!.resolve(x);
    await flush();
    expect(() => inbound.close()).not.toThrow();
    expect(inbound.size).toBe(0);
  });

  it('a cancel from the sender reaches its request when it comes over another of the sender’s links', async () => {
    // Two links to one peer (both dialed at once): the request went out on the link its dial opened (L2), the
    // cancel on the link the sender picks first (L1). Before, the cancel looked on L1 only and the request ran on.
    const { inbound, handled, replies } = setup();
    inbound.onSubmit('L2', 'b', submit(5));
    inbound.onSubmit('L3', 'c', submit(5)); // another sender's request of the same number
    inbound.onCancel('L1', 5, 'b');
    expect(handled[0]!.r.signal?.aborted).toBe(true);
    expect(handled[1]!.r.signal?.aborted).toBe(false);
    // A cancel from a sender that has no such request running aborts nothing.
    inbound.onCancel('L4', 5, 'd');
    expect(handled[1]!.r.signal?.aborted).toBe(false);
    handled[0]!.reject(new EparaError('ABORTED', 'cancelled by the sender'));
    await flush();
    expect(replies).toEqual([]);
    // The cancelled request is remembered on the link it came in on: a copy of it there is not run.
    inbound.onSubmit('L2', 'b', submit(5));
    expect(handled).toHaveLength(2);
  });

  it('cancels over another link find their requests among many running, and nothing stays indexed once they settle', async () => {
    // A sender with many requests in flight on one link cancels them over its other link: each cancel finds its
    // own request by sender and id (before, each scanned every running request: quadratic in a cancel storm).
    const { inbound, handled, replies } = setup();
    const n = 2000;
    for (let id = 1; id <= n; id++) inbound.onSubmit('L2', 'b', submit(id));
    inbound.onSubmit('L3', 'c', submit(7)); // another sender's request of a number b cancels
    for (let id = 1; id <= n; id += 2) inbound.onCancel('L1', id, 'b');
    inbound.onCancel('L1', 7, 'b');
    expect(handled.filter((h) => h.r.signal?.aborted).length).toBe(n / 2);
    expect(handled.at(-1)!.r.signal?.aborted).toBe(false);
    for (const h of handled) h.resolve(x);
    await flush();
    // Only the requests not cancelled are answered, each once, on its own link and with its own id.
    expect(replies.filter((r) => r.linkId === 'L2').map((r) => r.m.requestId)).toEqual(Array.from({ length: n / 2 }, (_, i) => 2 * (i + 1)));
    expect(replies.filter((r) => r.linkId === 'L3').map((r) => r.m.requestId)).toEqual([7]);
    expect(inbound.size).toBe(0);
    expect(inbound.indexed).toBe(0);
    // A link closed with requests running aborts exactly those, and leaves nothing indexed after they settle.
    inbound.onSubmit('L4', 'b', submit(1));
    inbound.onSubmit('L5', 'b', submit(1));
    inbound.onLinkClosed('L4');
    expect(handled.slice(-2).map((h) => h.r.signal?.aborted)).toEqual([true, false]);
    for (const h of handled.slice(-2)) h.reject(new EparaError('ABORTED', 'x'));
    await flush();
    expect(inbound.indexed).toBe(0);
  });

  it('a cancel that overtook its request: the request, when it comes, is not run and is answered ABORTED', async () => {
    // The request waited on a dial while the cancel went over the sender's open link (or the frames were
    // reordered on the way): before, the cancel found nothing and the request then ran to its end for nobody.
    const { inbound, handled, replies } = setup();
    inbound.onCancel('L1', 5, 'b'); // on the link the request will come over
    inbound.onCancel('L1', 6, 'b'); // the request will come over another of the sender's links
    inbound.onSubmit('L1', 'b', submit(5));
    inbound.onSubmit('L2', 'b', submit(6));
    expect(handled).toHaveLength(0);
    expect(replies).toEqual([
      { linkId: 'L1', m: { type: 'error', requestId: 5, error: expect.objectContaining({ code: 'ABORTED' }) } },
      { linkId: 'L2', m: { type: 'error', requestId: 6, error: expect.objectContaining({ code: 'ABORTED' }) } },
    ]);
    // A copy of either is not run either (remembered as answered), and another sender's request of a number b
    // cancelled runs.
    inbound.onSubmit('L1', 'b', submit(5));
    inbound.onSubmit('L3', 'c', submit(6));
    expect(handled.map((h) => h.r.visited)).toEqual([['a', 'c']]);
    // The cancels are used up: nothing is kept for them but the answered ids of open links.
    inbound.onLinkClosed('L1');
    inbound.onLinkClosed('L2');
    inbound.onLinkClosed('L3');
    expect(inbound.linksRemembered).toBe(0);
  });

  it('early cancels are bounded per link and forgotten with their link: a sender that restarted is not refused', () => {
    const { inbound, handled } = setup();
    for (let id = 1; id <= EARLY_CANCELS_KEPT_PER_LINK + 1; id++) inbound.onCancel('L1', id, 'b');
    // The oldest fell out of the window; the newest is still remembered.
    inbound.onSubmit('L1', 'b', submit(1));
    inbound.onSubmit('L1', 'b', submit(EARLY_CANCELS_KEPT_PER_LINK + 1));
    expect(handled).toHaveLength(1);
    // The sender's run ends with its links: its new run numbers its requests afresh, and they run.
    inbound.onCancel('L1', 7, 'b');
    inbound.onLinkClosed('L1');
    expect(inbound.linksRemembered).toBe(0);
    inbound.onSubmit('L4', 'b', submit(7));
    expect(handled).toHaveLength(2);
  });
});
