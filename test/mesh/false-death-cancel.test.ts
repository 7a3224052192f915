import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import type { FakeExecutor, MemoryHub, MeshNode } from '@epara/mesh';
import { aliveIds, ECHO, input, PSK, ready, serverOf, until, watch } from './helpers.js';

/*
 * A peer taken for dead while it still holds requests forwarded to it (its acks lost one way, or the peer cut off
 * and back): the sender retries them elsewhere, and the caller gets exactly one answer, the retry's. The peer gets a
 * `cancel` for each — at once over a link still open, and again once it is back in the view — so what it has not
 * run yet is dropped there instead of run a second time. n1's executor runs on manual timers: what it queued runs
 * only when the test lets it, after the retries were answered, so what it then runs is exactly what no cancel
 * reached.
 */

const nodes: MeshNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

/** n0 (hosts nothing), n1 (hosts echo; its executor's clock moves only on `n1Timers.advance`), n2 (no echo yet). */
async function cluster(hub: MemoryHub): Promise<{ n0: MeshNode; n1: MeshNode; n2: MeshNode; n1Executor: FakeExecutor; n2Executor: FakeExecutor; advanceN1: (ms: number) => void }> {
  const n1Clock = createManualClock(Date.now());
  const n1Timers = createManualTimers(n1Clock);
  const executors = [
    createFakeExecutor({ services: { echo: { serviceTimeMs: 5 } }, hosted: [], tag: 0 }),
    createFakeExecutor({ services: { echo: { serviceTimeMs: 5 } }, hosted: ['echo'], tag: 1, clock: n1Clock, timers: n1Timers }),
    createFakeExecutor({ services: { echo: { serviceTimeMs: 5 } }, hosted: [], tag: 2 }),
  ];
  for (const [i, executor] of executors.entries()) {
    const node = createNode({
      id: `n${i}`,
      transport: createMemoryTransport({ hub, address: `n${i}` }),
      executor,
      security: { psk: PSK },
      seeds: i === 0 ? [] : ['n0'],
      services: [ECHO],
      syncPeriodMs: 50,
      syncAckTimeoutMs: 100,
      placement: false,
    });
    watch(node);
    nodes.push(node);
    await node.start();
  }
  const [n0, n1, n2] = nodes as [MeshNode, MeshNode, MeshNode];
  await until(() => nodes.every((n) => aliveIds(n).join() === 'n0,n1,n2') && ready(n0, 'n1'), 'n0 sees n1 serving');
  return { n0, n1, n2, n1Executor: executors[1]!, n2Executor: executors[2]!, advanceN1: (ms) => n1Timers.advance(ms) };
}

/** Four requests from n0, all queued at n1 (the only server of echo); then n2 serves echo too. */
async function queuedAtN1(c: Awaited<ReturnType<typeof cluster>>): Promise<{ answers: Promise<number[]> }> {
  const answers = Promise.all([0, 1, 2, 3].map((v) => c.n0.submit('echo', input([v]), { deadline: Date.now() + 60_000 }).then(serverOf)));
  await until(() => c.n1.stats().received === 4, 'n1 holds the four requests');
  await c.n2Executor.load({ serviceId: 'echo' } as never, { instanceId: 'late' });
  await until(() => ready(c.n0, 'n2'), 'n0 sees n2 serving');
  return { answers };
}

/**
 * Waits until n1's executor holds only the request it started (a batch of one): its wait is then one service time
 * (5 ms; with three more queued, 20 ms) — the cancels landed and dropped the others. Re-checked on the nodes' events.
 */
async function cancelsLanded(c: Awaited<ReturnType<typeof cluster>>): Promise<void> {
  await until(() => c.n1Executor.instances()[0]!.waitMs <= 5, 'n1 dropped what it queued');
}

describe('a peer wrongly taken for dead with forwarded requests', () => {
  it('mute (nothing it sends arrives, it hears everything): the retries answer from n2, and a cancel over the open link drops what n1 queued', async () => {
    const hub = createMemoryHub();
    const c = await cluster(hub);
    const { answers } = await queuedAtN1(c);
    hub.setFaults({ drop: (link) => link.from === 'n1' });
    // Each caller gets one answer, from n2: the retry's.
    expect(await answers).toEqual([2, 2, 2, 2]);
    expect(c.n0.stats().retriedUnanswered).toBe(4);
    // The cancels went out on the link n1 still hears, before its return: n1's executor then runs the request it
    // had started (a batch of one) at most, none of those still queued.
    await cancelsLanded(c);
    for (let k = 0; k < 20; k++) c.advanceN1(5);
    expect(c.n1Executor.stats().executed).toBeLessThanOrEqual(1);
    hub.setFaults({});
    await until(() => aliveIds(c.n0).join() === 'n0,n1,n2', 'n0 sees n1 alive again');
    for (let k = 0; k < 20; k++) c.advanceN1(5);
    expect(c.n1Executor.stats().executed).toBeLessThanOrEqual(1);
  });

  it('cut off both ways (as if stopped), then healed: the cancels lost in the cut go again once n1 is back, and n1 drops what it queued', async () => {
    const hub = createMemoryHub();
    const c = await cluster(hub);
    const { answers } = await queuedAtN1(c);
    hub.setFaults({ drop: (link) => link.from === 'n1' || link.to === 'n1' });
    expect(await answers).toEqual([2, 2, 2, 2]);
    expect(c.n0.stats().retriedUnanswered).toBe(4);
    expect(c.n1Executor.instances()[0]!.waitMs).toBe(20);
    hub.setFaults({});
    await cancelsLanded(c);
    for (let k = 0; k < 20; k++) c.advanceN1(5);
    expect(c.n1Executor.stats().executed).toBeLessThanOrEqual(1);
  });
});
