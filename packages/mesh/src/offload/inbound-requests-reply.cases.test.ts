import { describe, expect, it } from 'vitest';
import { createManualClock, EparaError } from '@epara/core';
import type { NamedTensors } from '@epara/core';
import { InboundRequests } from './inbound-requests.js';
import type { OffloadMessage } from './offload-messages.js';
import type { HandledRequest } from './request-handler.js';

const x: NamedTensors = { x: { type: 'float32', dims: [1], data: Float32Array.of(1) } };
const flush = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

/** Inbound requests whose first reply throws `firstReplyError`; every later reply is recorded. */
function setup(firstReplyError: unknown) {
  const handled: { r: HandledRequest; resolve: (v: NamedTensors) => void; reject: (e: unknown) => void }[] = [];
  const replies: OffloadMessage[] = [];
  let attempts = 0;
  const inbound = new InboundRequests({
    clock: createManualClock(1000),
    handle: (r) => new Promise((resolve, reject) => handled.push({ r, resolve, reject })),
    reply: (_linkId, m) => {
      attempts++;
      if (attempts === 1) throw firstReplyError;
      replies.push(m);
    },
    maxBudgetMs: 500,
    hopLimit: 3,
  });
  return { inbound, handled, replies, attempts: () => attempts };
}

const submit = (requestId: number): Extract<OffloadMessage, { type: 'submit' }> => ({
  type: 'submit', requestId, serviceId: 's', inputs: x, budgetMs: 200, hops: 1, maxHops: 3, visited: ['a'], priority: 2,
});

describe('InboundRequests: what follows a reply that failed', () => {
  it('a result whose link failed is not answered again on that link: the sender retries or times out', async () => {
    const { inbound, handled, replies, attempts } = setup(new Error('link gone'));
    inbound.onSubmit('L1', 'b', submit(5));
    handled[0]!.resolve(x);
    await flush();
    expect(attempts()).toBe(1);
    expect(replies).toEqual([]);
    expect(inbound.size).toBe(0);
  });

  it('a result refused as PEER_UNAVAILABLE (the link closing) is not answered with an error either', async () => {
    const { inbound, handled, replies, attempts } = setup(new EparaError('PEER_UNAVAILABLE', 'link closed'));
    inbound.onSubmit('L1', 'b', submit(6));
    handled[0]!.resolve(x);
    await flush();
    expect(attempts()).toBe(1);
    expect(replies).toEqual([]);
  });
});
