import { afterEach, describe, expect, it } from 'vitest';
import type { MeshNode } from '@epara/mesh';
import { aliveIds, ready, until } from './helpers.js';
import { completions, expectInvariants, FaultHarness, submitAll } from './fault-harness.js';
import { MESH_TYPE, meshTypeOf } from './ws-frames.js';

/*
 * Single frames of the mesh protocol rewritten in transit between real processes: every node sits behind its own
 * frame-level TCP proxy (fault-harness.ts, `proxiedPeer`), so a test can corrupt, truncate, duplicate or reorder a
 * WebSocket frame from one given node to another. The observer n0 hosts nothing; n1 and n2 host `echo`. Every
 * submit settles once, with its own right answer (never one made of corrupted bytes) or a typed error, and the
 * cluster serves again once the frames pass unchanged.
 */

const h = new FaultHarness();
afterEach(() => h.close());

const inputs = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

/** n0 (observer) and the echo hosts n1 and n2, each behind its proxy; resolves once n0 sees both instances. */
async function cluster(serviceTimeMs = 20): Promise<MeshNode> {
  const n0 = await h.proxiedObserver();
  const seed = n0.address!;
  await h.proxiedPeer({ id: 'n1', seed, serviceTimeMs, tag: 1 });
  await h.proxiedPeer({ id: 'n2', seed, serviceTimeMs, tag: 2 });
  await until(() => ready(n0, 'n1') && ready(n0, 'n2'), 'n0 sees the instances of n1 and n2', 30_000);
  return n0;
}

/** After the fault: every frame passes again, n0 sees both instances, and new requests are all answered right. */
async function servesAgain(n0: MeshNode): Promise<void> {
  h.frames(undefined);
  await until(() => aliveIds(n0).join() === 'n0,n1,n2' && ready(n0, 'n1') && ready(n0, 'n2'), 'n0 sees n1 and n2 serving again', 30_000);
  const after = await submitAll(n0, inputs(6, 100), 10_000).settled;
  expectInvariants(after, [1, 2]);
  expect(after.every((o) => o.code === undefined)).toBe(true);
}

describe('frames rewritten in transit between real processes', () => {
  it('frames duplicated and reordered on the way: every request is answered once, with its own answer', async () => {
    const n0 = await cluster(40);
    const done = completions(n0);
    // Requests, results, sync tokens and acks between n0 and n1 arrive twice; results from n2 arrive in swapped
    // pairs (one held back until the next).
    const twice = new Set<number>([MESH_TYPE.submit, MESH_TYPE.result, MESH_TYPE.syncToken, MESH_TYPE.syncAck]);
    let held: Buffer | undefined;
    let duplicated = 0;
    let swapped = 0;
    h.frames((frame, link) => {
      const type = meshTypeOf(frame);
      if (type === undefined) return [frame.raw];
      if ([link.from, link.to].sort().join() === 'n0,n1' && twice.has(type)) return (duplicated++, [frame.raw, frame.raw]);
      if (link.from !== 'n2' || link.to !== 'n0' || type !== MESH_TYPE.result) return [frame.raw];
      if (held === undefined) return ((held = frame.raw), []);
      const first = held;
      held = undefined;
      return (swapped++, [frame.raw, first]);
    });
    // An odd count could leave one of n2's results held: the budget lets it settle typed; the rest are paired.
    const outcomes = await submitAll(n0, inputs(32), 5000).settled;
    expectInvariants(outcomes, [1, 2]);
    expect(duplicated).toBeGreaterThan(0);
    expect(swapped).toBeGreaterThan(0);
    await servesAgain(n0);
    done.check();
  });
});
