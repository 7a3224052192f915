import { afterEach, describe, expect, it } from 'vitest';
import type { MeshNode } from '@epara/mesh';
import { input, until, untilReady } from './helpers.js';
import { FaultHarness, TYPED } from './fault-harness.js';
import { MESH_TYPE, meshTypeOf, payloadOf } from './ws-frames.js';
import type { WsFrame } from './ws-frames.js';

/*
 * Single stream messages rewritten in transit between real processes: the observer n0 (hosting nothing) pins a
 * stream to n1, both behind their frame-level proxies (fault-harness.ts), and a test drops, duplicates or drops
 * the answer of one frame on the way. Every frame pushed gets exactly one result, in push order, with its own
 * answer (twice its input: never another frame's) or a typed error, and the stream's iteration ends once it is
 * closed.
 */

const h = new FaultHarness();
afterEach(() => h.close());

/** The `seq` field of a `stream-frame` or `stream-result` message: the u32 after the 24-byte header. */
const seqOf = (f: WsFrame): number => payloadOf(f).readUInt32LE(24);

interface FrameOutcome {
  readonly seq: number;
  readonly value?: number;
  readonly code?: string;
}

/** n0 and n1 (serving `echo`), each behind its proxy; a stream from n0 pinned to n1. */
async function pinnedStream(): Promise<{ n0: MeshNode; stream: Awaited<ReturnType<MeshNode['openStream']>> }> {
  const n0 = await h.proxiedObserver();
  await h.proxiedPeer({ id: 'n1', seed: n0.address!, serviceTimeMs: 20, tag: 1 });
  await untilReady(n0, 'n1', 30_000);
  const stream = await n0.openStream('echo', { rateHz: 1, stalenessMs: 60_000 });
  expect(stream.pinnedTo).toBe('n1');
  return { n0, stream };
}

/** Pushes frames 10, 11, … (`count` of them), closes the stream and reads every result until the iteration ends. */
async function pushAndRead(stream: Awaited<ReturnType<MeshNode['openStream']>>, count: number): Promise<FrameOutcome[]> {
  for (let k = 0; k < count; k++) stream.push(input([10 + k]));
  const summary = stream.close();
  const results: FrameOutcome[] = [];
  for await (const r of stream) results.push(r.ok ? { seq: r.seq, value: (r.outputs['x']!.data as Float32Array)[0]! } : { seq: r.seq, code: r.error.code });
  await summary;
  return results;
}

/** One result per frame, in order, each its own answer or a typed error. */
function expectOwnAnswers(results: readonly FrameOutcome[], count: number): void {
  expect(results.map((r) => r.seq)).toEqual(Array.from({ length: count }, (_, k) => k));
  for (const r of results) {
    if (r.code !== undefined) expect([...TYPED, 'STALE_FRAME']).toContain(r.code);
    else expect(r.value).toBe(2 * (10 + r.seq));
  }
}

describe('stream messages rewritten in transit between real processes', () => {
  it('a frame delivered twice: every later frame still gets its own answer', async () => {
    const { stream } = await pinnedStream();
    let duplicated = 0;
    h.frames((frame, link) => {
      if (link.from !== 'n0' || link.to !== 'n1' || meshTypeOf(frame) !== MESH_TYPE.streamFrame || seqOf(frame) !== 1) return [frame.raw];
      duplicated++;
      return [frame.raw, frame.raw];
    });
    const results = await pushAndRead(stream, 6);
    expect(duplicated).toBe(1);
    expectOwnAnswers(results, 6);
    // Nothing was lost: the repeat is dropped, the frames around it are all answered.
    expect(results.every((r) => r.code === undefined)).toBe(true);
  }, 60_000); // a hang guard only

  it('a frame lost on the way: it fails typed, and every other frame gets its own answer', async () => {
    const { stream } = await pinnedStream();
    let dropped = 0;
    h.frames((frame, link) => {
      if (link.from !== 'n0' || link.to !== 'n1' || meshTypeOf(frame) !== MESH_TYPE.streamFrame || seqOf(frame) !== 1) return [frame.raw];
      dropped++;
      return [];
    });
    const results = await pushAndRead(stream, 6);
    expect(dropped).toBe(1);
    expectOwnAnswers(results, 6);
    expect(results[1]!.code).toBe('PEER_UNAVAILABLE');
    expect(results.filter((r) => r.code === undefined)).toHaveLength(5);
  }, 60_000); // a hang guard only

  it('a result lost on the way back: that frame fails typed, the later ones are still delivered', async () => {
    const { stream } = await pinnedStream();
    let dropped = 0;
    h.frames((frame, link) => {
      if (link.from !== 'n1' || link.to !== 'n0' || meshTypeOf(frame) !== MESH_TYPE.streamResult || seqOf(frame) !== 2) return [frame.raw];
      dropped++;
      return [];
    });
    const results = await pushAndRead(stream, 6);
    expect(dropped).toBe(1);
    expectOwnAnswers(results, 6);
    expect(results[2]!.code).toBe('PEER_UNAVAILABLE');
    expect(results.filter((r) => r.code === undefined)).toHaveLength(5);
  }, 60_000); // a hang guard only

  it('the last result lost on the way back: the frame settles typed once the stream closes', async () => {
    const { stream } = await pinnedStream();
    h.frames((frame, link) => (link.from === 'n1' && link.to === 'n0' && meshTypeOf(frame) === MESH_TYPE.streamResult && seqOf(frame) === 3 ? [] : [frame.raw]));
    const results = await pushAndRead(stream, 4);
    expectOwnAnswers(results, 4);
    expect(results[3]!.code).toBe('PEER_UNAVAILABLE');
  }, 60_000); // a hang guard only
});

describe('stream messages lost with nothing after them to show it', () => {
  it('the last frame lost on the way, the stream left open: it settles DEADLINE_EXCEEDED after its staleness limit plus the grace', async () => {
    const n0 = await h.proxiedObserver();
    await h.proxiedPeer({ id: 'n1', seed: n0.address!, serviceTimeMs: 20, tag: 1 });
    await untilReady(n0, 'n1', 30_000);
    const stream = await n0.openStream('echo', { rateHz: 1, stalenessMs: 3000 });
    h.frames((frame, link) => (link.from === 'n0' && link.to === 'n1' && meshTypeOf(frame) === MESH_TYPE.streamFrame && seqOf(frame) === 2 ? [] : [frame.raw]));
    for (let k = 0; k < 3; k++) stream.push(input([10 + k]));
    const results: FrameOutcome[] = [];
    for await (const r of stream) {
      results.push(r.ok ? { seq: r.seq, value: (r.outputs['x']!.data as Float32Array)[0]! } : { seq: r.seq, code: r.error.code });
      if (results.length === 3) break;
    }
    expectOwnAnswers(results, 3);
    expect(results[2]!.code).toBe('DEADLINE_EXCEEDED');
    await stream.close();
  }, 60_000); // a hang guard only

  it("the opener's close lost on the way: close() still resolves, every frame settled", async () => {
    const { stream } = await pinnedStream();
    let dropped = 0;
    h.frames((frame, link) => (link.from === 'n0' && link.to === 'n1' && meshTypeOf(frame) === MESH_TYPE.streamClose && dropped++ === 0 ? [] : [frame.raw]));
    const results = await pushAndRead(stream, 3);
    expect(dropped).toBe(1);
    expectOwnAnswers(results, 3);
  }, 60_000); // a hang guard only
});

describe('a stream whose opening is answered too late', () => {
  it('an acceptance lost on the way: the open fails typed, and the peer no longer holds the stream rate', async () => {
    const n0 = await h.proxiedObserver();
    await h.proxiedPeer({ id: 'n1', seed: n0.address!, serviceTimeMs: 20, tag: 1 });
    await untilReady(n0, 'n1', 30_000);
    const load = (): number => n0.view().entries['n1']?.instances.find((i) => i.serviceId === 'echo')?.loadPerSec ?? -1;
    let dropped = 0;
    h.frames((frame, link) => (link.from === 'n1' && link.to === 'n0' && meshTypeOf(frame) === MESH_TYPE.streamAccepted && dropped++ === 0 ? [] : [frame.raw]));
    // n1 opens the stream (its instance now carries 20 Hz), but its acceptance never reaches n0.
    const failed = await n0.openStream('echo', { rateHz: 20, stalenessMs: 60_000 }).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: 'PEER_UNAVAILABLE' });
    expect(dropped).toBe(1);
    // The opener closed what the peer opened: the stream rate leaves n1's instance.
    await until(() => load() >= 0 && load() < 20, 'n0 sees the 20 Hz of the abandoned stream leave n1', 30_000);
    const stream = await n0.openStream('echo', { rateHz: 20, stalenessMs: 60_000 });
    expectOwnAnswers(await pushAndRead(stream, 3), 3);
  }, 60_000); // a hang guard only
});
