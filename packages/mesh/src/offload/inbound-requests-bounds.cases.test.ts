import { describe, expect, it } from 'vitest';
import { createManualClock, EparaError } from '@epara/core';
import type { NamedTensors } from '@epara/core';
import { ANSWERED_KEPT_PER_LINK, EARLY_CANCELS_KEPT_PER_LINK, InboundRequests, type InboundConfig } from './inbound-requests.js';
import type { OffloadMessage } from './offload-messages.js';
import type { HandledRequest } from './request-handler.js';

const x: NamedTensors = { x: { type: 'float32', dims: [1], data: Float32Array.of(1) } }; // 4 bytes
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Inbound requests whose handler the test settles by hand. */
function setup(extra: Partial<InboundConfig> = {}) {
  const clock = createManualClock(1000);
  const handled: { r: HandledRequest; resolve: (v: NamedTensors) => void; reject: (e: unknown) => void }[] = [];
  const replies: { linkId: string; m: OffloadMessage }[] = [];
  const inbound = new InboundRequests({
    clock,
    handle: (r) => new Promise((resolve, reject) => handled.push({ r, resolve, reject })),
    reply: (linkId, m) => void replies.push({ linkId, m }),
    maxBudgetMs: 500,
    hopLimit: 3,
    ...extra,
  });
  return { clock, inbound, handled, replies };
}
const submit = (requestId: number): Extract<OffloadMessage, { type: 'submit' }> => ({
  type: 'submit', requestId, serviceId: 's', inputs: x, budgetMs: 200, hops: 1, maxHops: 3, visited: [], priority: 0,
});
const codes = (replies: { linkId: string; m: OffloadMessage }[]) => replies.map((r) => [r.linkId, r.m.requestId, r.m.type === 'error' ? r.m.error.code : r.m.type]);

describe('InboundRequests: a link that closes with requests waiting', () => {
  it('drops its waiting requests at once (size), keeps the other links’, and frees its sender’s waiting bound', async () => {
    const { inbound, handled, replies } = setup({ startsPerTurn: 1, maxWaitingPerSender: 2 });
    inbound.onSubmit('L1', 'b', submit(1)); // starts
    inbound.onSubmit('L2', 'c', submit(1)); // waits
    inbound.onSubmit('L2', 'c', submit(2)); // waits: c holds 2, its bound
    inbound.onSubmit('L1', 'b', submit(2)); // waits
    expect(inbound.size).toBe(4);
    inbound.onLinkClosed('L2');
    expect(inbound.size).toBe(2);
    // c waits for nothing now: two more of its requests on its new link wait (none refused).
    inbound.onSubmit('L3', 'c', submit(1));
    inbound.onSubmit('L3', 'c', submit(2));
    expect(replies).toEqual([]);
    // b's waiting request is still known as waiting: a duplicate of it is not queued again.
    inbound.onSubmit('L1', 'b', submit(2));
    for (let turn = 0; turn < 4; turn++) await nextTurn();
    expect(handled.map((h) => [h.r.visited[0], h.r.deadline])).toHaveLength(4);
    expect(handled.map((h) => h.r.visited[0])).toEqual(['b', 'b', 'c', 'c']);
  });

  it('drops them when every waiting request is on that link', () => {
    const { inbound } = setup({ startsPerTurn: 1 });
    inbound.onSubmit('L1', 'b', submit(1));
    inbound.onSubmit('L2', 'c', submit(1));
    inbound.onSubmit('L2', 'c', submit(2));
    inbound.onLinkClosed('L2');
    expect(inbound.size).toBe(1);
  });
});

describe('InboundRequests: what a sender holds waiting', () => {
  it('a request that starts leaves its sender’s count and bytes: the sender may fill its bound again', async () => {
    // Three may wait (12 bytes), starts one a turn.
    const { inbound, replies } = setup({ startsPerTurn: 1, maxWaitingPerSender: 3, maxWaitingBytesPerSender: 12 });
    for (let id = 1; id <= 4; id++) inbound.onSubmit('L1', 'b', submit(id)); // 1 starts, 2–4 wait
    await nextTurn(); // 2 starts: 3 and 4 wait (8 bytes)
    inbound.onSubmit('L1', 'b', submit(5)); // 12 bytes: fits
    expect(replies).toEqual([]);
    inbound.onSubmit('L1', 'b', submit(6)); // a fourth waiting: refused
    expect(codes(replies)).toEqual([['L1', 6, 'OVERLOADED']]);
  });

  it('while some of a sender’s requests still wait, the count stays: past the bound it is refused', async () => {
    const { inbound, replies } = setup({ startsPerTurn: 2, maxWaitingPerSender: 3 });
    for (let id = 1; id <= 7; id++) inbound.onSubmit('L1', 'b', submit(id)); // 1, 2 start; 3–5 wait; 6, 7 refused
    await nextTurn(); // 3, 4 start; 5 waits
    for (let id = 8; id <= 10; id++) inbound.onSubmit('L1', 'b', submit(id)); // 8, 9 wait; 10 refused
    expect(codes(replies)).toEqual([
      ['L1', 6, 'OVERLOADED'],
      ['L1', 7, 'OVERLOADED'],
      ['L1', 10, 'OVERLOADED'],
    ]);
  });

  it('the refusal names the bounds the sender met', () => {
    const { inbound, replies } = setup({ startsPerTurn: 1, maxWaitingPerSender: 1, maxWaitingBytesPerSender: 64 });
    for (let id = 1; id <= 3; id++) inbound.onSubmit('L1', 'b', submit(id));
    const refusal = replies[0]!.m;
    expect(refusal.type === 'error' && refusal.error).toMatchObject({ code: 'OVERLOADED', details: { maxWaiting: 1, maxWaitingBytes: 64 } });
  });

  it('idle resolves when the last waiting request was cancelled before its turn and nothing else runs', async () => {
    const { inbound, handled, replies } = setup({ startsPerTurn: 1 });
    inbound.onSubmit('L1', 'b', submit(1)); // starts
    inbound.onSubmit('L1', 'b', submit(2)); // waits
    inbound.onCancel('L1', 2, 'b');
    let idle = false;
    void inbound.idle().then(() => (idle = true));
    handled[0]!.resolve(x);
    for (let turn = 0; turn < 4; turn++) await nextTurn();
    expect(codes(replies)).toEqual([
      ['L1', 1, 'result'],
      ['L1', 2, 'ABORTED'],
    ]);
    expect(inbound.size).toBe(0);
    expect(idle).toBe(true);
  });
});

describe('InboundRequests: the indexes of running requests', () => {
  it('a link with two requests running: when one ends, closing the link still aborts the other', async () => {
    const { inbound, handled } = setup();
    inbound.onSubmit('L1', 'b', submit(1));
    inbound.onSubmit('L1', 'b', submit(2));
    handled[0]!.resolve(x);
    await nextTurn();
    inbound.onLinkClosed('L1');
    expect(handled[1]!.r.signal?.aborted).toBe(true);
  });

  it('one request id of one sender on two links: when one ends, a cancel over a third link still reaches the other', async () => {
    const { inbound, handled } = setup();
    inbound.onSubmit('L1', 'b', submit(7));
    inbound.onSubmit('L2', 'b', submit(7));
    handled[0]!.resolve(x);
    await nextTurn();
    inbound.onCancel('L3', 7, 'b');
    expect(handled[1]!.r.signal?.aborted).toBe(true);
  });
});

describe('InboundRequests: what is remembered per link, and for how long', () => {
  it(`remembers the last ${EARLY_CANCELS_KEPT_PER_LINK} cancels that came before their request`, () => {
    const { inbound, handled, replies } = setup();
    for (let id = 1; id <= EARLY_CANCELS_KEPT_PER_LINK + 1; id++) inbound.onCancel('L1', id, 'b');
    inbound.onSubmit('L1', 'b', submit(1)); // its cancel was forgotten: it runs
    inbound.onSubmit('L1', 'b', submit(2)); // its cancel is kept: refused
    expect(handled).toHaveLength(1);
    expect(codes(replies)).toEqual([['L1', 2, 'ABORTED']]);
  });

  it(`remembers the last ${ANSWERED_KEPT_PER_LINK} answered ids: a duplicate of one is not answered again`, () => {
    // One start a turn and no room to wait: after the first, each request of this turn is refused at once, and
    // remembered as answered.
    const { inbound, replies } = setup({ startsPerTurn: 1, maxWaitingPerSender: 0 });
    for (let id = 0; id <= ANSWERED_KEPT_PER_LINK + 1; id++) inbound.onSubmit('L1', 'b', submit(id));
    expect(replies).toHaveLength(ANSWERED_KEPT_PER_LINK + 1);
    inbound.onSubmit('L1', 'b', submit(2));
    expect(replies).toHaveLength(ANSWERED_KEPT_PER_LINK + 1);
    inbound.onSubmit('L1', 'b', submit(1)); // forgotten: answered again
    expect(replies).toHaveLength(ANSWERED_KEPT_PER_LINK + 2);
  });

  it('a cancel that came over another link is forgotten with that link once its request took it', () => {
    const { inbound, handled, replies } = setup();
    inbound.onCancel('L2', 5, 'b');
    expect(inbound.linksRemembered).toBe(1);
    inbound.onSubmit('L1', 'b', submit(5));
    expect(handled).toHaveLength(0);
    expect(codes(replies)).toEqual([['L1', 5, 'ABORTED']]);
    // L1 remembers 5 as answered; L2 keeps nothing.
    expect(inbound.linksRemembered).toBe(1);
  });
});

describe('InboundRequests: an answer that cannot be sent', () => {
  it('an error answer the codec refuses is not followed by another error', async () => {
    const sent: OffloadMessage[] = [];
    const { inbound, handled } = setup({
      reply: (_link, m) => {
        sent.push(m);
        throw new EparaError('PROTOCOL_ERROR', 'frame too large', { maxFrameBytes: 10 });
      },
    });
    inbound.onSubmit('L1', 'b', submit(1));
    handled[0]!.reject(new EparaError('INTERNAL', 'failed', { big: 'x'.repeat(100) }));
    await nextTurn();
    expect(sent.map((m) => m.type)).toEqual(['error']);
  });
});
