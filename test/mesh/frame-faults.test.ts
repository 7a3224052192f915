import { afterEach, describe, expect, it } from 'vitest';
import type { MeshNode } from '@epara/mesh';
import { aliveIds, ready, until } from './helpers.js';
import { completions, expectInvariants, FaultHarness, submitAll } from './fault-harness.js';
import { MESH_TYPE, meshTypeOf, payloadOf, withPayload } from './ws-frames.js';
import type { WsFrame } from './ws-frames.js';

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

/** The body (tensor bytes) of a mesh frame's payload starts after the header and the 8-aligned metadata. */
const bodyStart = (payload: Buffer): number => 24 + Math.ceil(payload.readUInt32LE(12) / 8) * 8;

/**
 * Rewrites the first frame of `type` from each of `from` to `to` with `rewrite` (one hook: it replaces any other);
 * resolves once each sender's was.
 */
function rewriteFirst(o: { from: readonly string[]; to: string; type: number; rewrite: (f: WsFrame) => Buffer[] }): Promise<void> {
  const left = new Set(o.from);
  return new Promise((resolve) =>
    h.frames((frame, link) => {
      if (!left.has(link.from) || link.to !== o.to || meshTypeOf(frame) !== o.type) return [frame.raw];
      left.delete(link.from);
      if (left.size === 0) resolve();
      return o.rewrite(frame);
    }),
  );
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
  it('a result whose tensor bytes were flipped on the way is never taken for an answer', async () => {
    const n0 = await cluster();
    const done = completions(n0);
    const rejected: string[] = [];
    n0.on('frameRejected', (e) => rejected.push(`${e.peerId}:${e.code}`));
    // One result from each host arrives with its first tensor byte flipped (bit errors the transport let through).
    const corrupt = (f: WsFrame): Buffer[] => {
      const p = payloadOf(f);
      p[bodyStart(p)]! ^= 0xff;
      return [withPayload(f, p)];
    };
    const corrupted = rewriteFirst({ from: ['n1', 'n2'], to: 'n0', type: MESH_TYPE.result, rewrite: corrupt });
    // Sent at once, the burst spills over from one host to the other: both answer some.
    const run = submitAll(n0, inputs(24), 10_000);
    await corrupted;
    expectInvariants(await run.settled, [1, 2]);
    expect(rejected).toEqual(expect.arrayContaining(['n1:PROTOCOL_ERROR', 'n2:PROTOCOL_ERROR']));
    // The requests whose answers were refused were routed again as their links closed, not left to time out.
    expect(n0.stats().retried).toBeGreaterThanOrEqual(2);
    await servesAgain(n0);
    done.check();
  }, 90_000); // a hang guard only

  it('a result cut short on the way: the request is answered right or fails typed, and the link recovers', async () => {
    const n0 = await cluster();
    const done = completions(n0);
    const cut = rewriteFirst({ from: ['n1'], to: 'n0', type: MESH_TYPE.result, rewrite: (f) => [withPayload(f, payloadOf(f).subarray(0, 30))] });
    const run = submitAll(n0, inputs(24), 10_000);
    await cut;
    expectInvariants(await run.settled, [1, 2]);
    // The request whose answer was cut short was routed again as the link closed, not left to time out.
    expect(n0.stats().retried).toBeGreaterThanOrEqual(1);
    await servesAgain(n0);
    done.check();
  }, 90_000); // a hang guard only

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
  }, 90_000); // a hang guard only
});
