import { describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import type { NamedTensors } from '@epara/core';
import { InboundRequests } from './inbound-requests.js';
import type { OffloadMessage } from './offload-messages.js';
import type { HandledRequest } from './request-handler.js';

const x: NamedTensors = { x: { type: 'float32', dims: [1], data: Float32Array.of(1) } };
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Inbound requests that start 2 a turn and let a sender hold 3 waiting; the test settles the handler by hand. */
function setup(maxWaitingBytesPerSender?: number) {
  const clock = createManualClock(1000);
  const handled: { r: HandledRequest; resolve: (v: NamedTensors) => void }[] = [];
  const replies: { linkId: string; m: OffloadMessage }[] = [];
  const inbound = new InboundRequests({
    clock,
    handle: (r) => new Promise((resolve) => handled.push({ r, resolve })),
    reply: (linkId, m) => void replies.push({ linkId, m }),
    maxBudgetMs: 500,
    hopLimit: 3,
    startsPerTurn: 2,
    maxWaitingPerSender: 3,
    ...(maxWaitingBytesPerSender === undefined ? {} : { maxWaitingBytesPerSender }),
  });
  return { clock, inbound, handled, replies };
}

const submit = (requestId: number): Extract<OffloadMessage, { type: 'submit' }> => ({
  type: 'submit', requestId, serviceId: 's', inputs: x, budgetMs: 200, hops: 1, maxHops: 3, visited: [], priority: 0,
});

describe('InboundRequests under a flood', () => {
  it('starts a burst a few per turn, its deadlines counted from the arrival, and refuses a sender past its waiting bound OVERLOADED at once', async () => {
    const { clock, inbound, handled, replies } = setup();
    for (let id = 1; id <= 6; id++) inbound.onSubmit('L1', 'b', submit(id));
    // Two started, three wait, the sixth is refused at once; another sender still gets its turn.
    expect(handled.map((h) => h.r.deadline)).toEqual([1200, 1200]);
    expect(replies).toEqual([{ linkId: 'L1', m: { type: 'error', requestId: 6, error: expect.objectContaining({ code: 'OVERLOADED' }) } }]);
    inbound.onSubmit('L2', 'c', submit(1));
    expect(inbound.size).toBe(6);
    clock.advance(50);
    await nextTurn();
    expect(handled).toHaveLength(4);
    // Waited a turn, 50 ms on the clock: their deadlines still count from their arrival.
    expect(handled[2]!.r.deadline).toBe(1200);
    await nextTurn();
    expect(handled).toHaveLength(6);
    // A duplicate of a request that waited (now running) or was refused is not run again.
    inbound.onSubmit('L1', 'b', submit(5));
    inbound.onSubmit('L1', 'b', submit(6));
    await nextTurn();
    expect(handled).toHaveLength(6);
  });

  it('a waiting request that its sender cancels is answered ABORTED when its turn comes, never run', async () => {
    const { inbound, handled, replies } = setup();
    for (let id = 1; id <= 3; id++) inbound.onSubmit('L1', 'b', submit(id));
    inbound.onCancel('L1', 3, 'b');
    await nextTurn();
    expect(handled.map((h) => h.r.inputs)).toHaveLength(2);
    expect(replies).toEqual([{ linkId: 'L1', m: { type: 'error', requestId: 3, error: expect.objectContaining({ code: 'ABORTED' }) } }]);
  });

  it('the requests waiting on a link that closes are dropped, and idle waits for the waiting ones too', async () => {
    const { inbound, handled } = setup();
    for (let id = 1; id <= 4; id++) inbound.onSubmit('L1', 'b', submit(id));
    inbound.onSubmit('L2', 'c', submit(9));
    let idle = false;
    void inbound.idle().then(() => (idle = true));
    for (const h of handled) h.resolve(x);
    await nextTurn();
    // L1's 3 and 4 and L2's 9 waited; 3 and 4 started this turn.
    expect(idle).toBe(false);
    expect(handled.map((h) => h.r.visited)).toEqual([['b'], ['b'], ['b'], ['b']]);
    inbound.onLinkClosed('L2');
    for (const h of handled) h.resolve(x);
    await nextTurn();
    expect(handled).toHaveLength(4);
    expect(idle).toBe(true);
    expect(inbound.size).toBe(0);
  });

  it('bounds the input bytes a sender holds waiting too', async () => {
    // Each input is 4 bytes: two fit 8 bytes waiting, the third is refused; another sender has its own bound.
    const { inbound, handled, replies } = setup(8);
    for (let id = 1; id <= 5; id++) inbound.onSubmit('L1', 'b', submit(id));
    inbound.onSubmit('L2', 'c', submit(1));
    expect(replies.map((r) => [r.linkId, r.m.requestId, r.m.type === 'error' && r.m.error.code])).toEqual([['L1', 5, 'OVERLOADED']]);
    await nextTurn();
    await nextTurn();
    expect(handled).toHaveLength(5);
    // Once started, they no longer count: the sender may have two waiting again (6 takes the turn's last start).
    for (let id = 6; id <= 8; id++) inbound.onSubmit('L1', 'b', submit(id));
    expect(replies).toHaveLength(1);
    expect(handled).toHaveLength(6);
  });

  it('close answers the waiting requests CLOSED', () => {
    const { inbound, replies } = setup();
    for (let id = 1; id <= 3; id++) inbound.onSubmit('L1', 'b', submit(id));
    inbound.close();
    expect(replies.map((r) => [r.m.requestId, r.m.type === 'error' && r.m.error.code])).toEqual([
      [3, 'CLOSED'],
      [1, 'CLOSED'],
      [2, 'CLOSED'],
    ]);
    expect(inbound.size).toBe(0);
  });
});
