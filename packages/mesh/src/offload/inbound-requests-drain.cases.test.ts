import { describe, expect, it } from 'vitest';
import { createManualClock, EparaError } from '@epara/core';
import type { NamedTensors } from '@epara/core';
import { InboundRequests } from './inbound-requests.js';
import type { OffloadMessage } from './offload-messages.js';
import type { HandledRequest } from './request-handler.js';

// Forwarded requests while the node drains (refuse, idle), the answered ids of a link across requests, cancels
// without a sender, and what the indexes and the per-link memory hold.

const x: NamedTensors = { x: { type: 'float32', dims: [1], data: Float32Array.of(1) } };
const flush = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

function setup(o: { failReply?: boolean } = {}) {
  const handled: { r: HandledRequest; resolve: (v: NamedTensors) => void; reject: (e: unknown) => void }[] = [];
  const replies: { linkId: string; m: OffloadMessage }[] = [];
  const inbound = new InboundRequests({
    clock: createManualClock(1000),
    handle: (r) => new Promise((resolve, reject) => handled.push({ r, resolve, reject })),
    reply: (linkId, m) => {
      if (o.failReply) throw new Error('link gone');
      replies.push({ linkId, m });
    },
    maxBudgetMs: 500,
    hopLimit: 3,
  });
  return { inbound, handled, replies };
}

const submit = (requestId: number): Extract<OffloadMessage, { type: 'submit' }> => ({
  type: 'submit', requestId, serviceId: 's', inputs: x, budgetMs: 200, hops: 1, maxHops: 3, visited: ['a'], priority: 2,
});

describe('InboundRequests while the node drains', () => {
  it('answers new requests CLOSED (retryable) at once, once each, while the running ones finish and are answered', async () => {
    const { inbound, handled, replies } = setup();
    inbound.onSubmit('L1', 'b', submit(1));
    inbound.refuse();
    inbound.onSubmit('L1', 'b', submit(2));
    inbound.onSubmit('L2', 'c', submit(3));
    expect(handled).toHaveLength(1);
    expect(replies).toEqual([
      { linkId: 'L1', m: { type: 'error', requestId: 2, error: expect.objectContaining({ code: 'CLOSED', details: { retryable: true } }) } },
      { linkId: 'L2', m: { type: 'error', requestId: 3, error: expect.objectContaining({ code: 'CLOSED', details: { retryable: true } }) } },
    ]);
    // A copy of a refused request on its link is not answered again.
    inbound.onSubmit('L1', 'b', submit(2));
    expect(replies).toHaveLength(2);
    handled[0]!.resolve(x);
    await flush();
    expect(replies[2]).toEqual({ linkId: 'L1', m: { type: 'result', requestId: 1, outputs: x } });
    expect(inbound.size).toBe(0);
  });

  it('a refusal whose link is gone does not throw, and nothing runs for it', () => {
    const { inbound, handled } = setup({ failReply: true });
    inbound.refuse();
    expect(() => inbound.onSubmit('L1', 'b', submit(1))).not.toThrow();
    expect(handled).toHaveLength(0);
    expect(inbound.size).toBe(0);
  });

  it('idle resolves at once when nothing runs, else once the last running request settled', async () => {
    const { inbound, handled } = setup();
    let idle = false;
    await inbound.idle();
    inbound.onSubmit('L1', 'b', submit(1));
    inbound.onSubmit('L1', 'b', submit(2));
    void inbound.idle().then(() => (idle = true));
    handled[0]!.resolve(x);
    await flush();
    expect(idle).toBe(false);
    handled[1]!.reject(new EparaError('INTERNAL', 'failed'));
    await flush();
    expect(idle).toBe(true);
  });
});

describe('InboundRequests: per-link memory and indexes', () => {
  it("remembers every id answered on a link, whichever request came after it", async () => {
    const { inbound, handled } = setup();
    inbound.onSubmit('L1', 'b', submit(5));
    handled[0]!.resolve(x);
    await flush();
    // Another request on the same link, then a copy of the first: the first is still known as answered.
    inbound.onSubmit('L1', 'b', submit(7));
    inbound.onSubmit('L1', 'b', submit(5));
    expect(handled.map((h) => h.r.deadline)).toHaveLength(2);
    expect(inbound.linksRemembered).toBe(1);
  });

  it('indexes a running request once by sender and id and once per link', () => {
    const { inbound } = setup();
    inbound.onSubmit('L1', 'b', submit(1));
    inbound.onSubmit('L1', 'b', submit(2));
    expect(inbound.indexed).toBe(3); // b#1, b#2; L1
    inbound.onSubmit('L2', 'c', submit(1));
    expect(inbound.indexed).toBe(5); // c#1; L2
  });

  it('a cancel that found its request over another link keeps nothing for its own link', () => {
    const { inbound, handled } = setup();
    inbound.onSubmit('L2', 'b', submit(5));
    expect(inbound.linksRemembered).toBe(1);
    inbound.onCancel('L1', 5, 'b');
    expect(handled[0]!.r.signal?.aborted).toBe(true);
    expect(inbound.linksRemembered).toBe(1);
  });

  it('a cancel without a sender that overtook its request on its link refuses it when it comes, on a link that ran requests before', async () => {
    const { inbound, handled, replies } = setup();
    inbound.onSubmit('L1', 'b', submit(1));
    handled[0]!.resolve(x);
    await flush();
    inbound.onCancel('L1', 9);
    inbound.onSubmit('L1', 'b', submit(9));
    expect(handled).toHaveLength(1);
    expect(replies.at(-1)).toEqual({ linkId: 'L1', m: { type: 'error', requestId: 9, error: expect.objectContaining({ code: 'ABORTED' }) } });
  });

  it("a cancel without a sender looks on its own link only: it does not reach a sender's request named like it", () => {
    const { inbound, handled } = setup();
    // A server may be named anything, "undefined" too.
    inbound.onSubmit('L2', 'undefined', submit(4));
    inbound.onCancel('L1', 4);
    expect(handled[0]!.r.signal?.aborted).toBe(false);
  });
  it('a cancel that comes after its request was answered is not kept as an early cancel: a copy over another link runs as before', async () => {
    const { inbound, handled } = setup();
    inbound.onSubmit('L1', 'b', submit(5));
    handled[0]!.resolve(x);
    await flush();
    inbound.onCancel('L1', 5, 'b'); // too late: answered already
    expect(inbound.linksRemembered).toBe(1);
    // A copy on another link is another request here (as without the late cancel): it runs.
    inbound.onSubmit('L2', 'b', submit(5));
    expect(handled).toHaveLength(2);
  });
});
