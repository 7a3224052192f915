import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import type { Connection, MeshNode, Transport } from '@epara/mesh';
import { readFrameHeader } from '@epara/mesh/wire';
import { ECHO, input, PSK, ready, until, watch } from './helpers.js';

/*
 * A link that reorders and duplicates frames: a custom transport (the memory transport, its connections' `send`
 * wrapped) that holds every other request, result, stream frame and stream result back until the next one has
 * gone, and sends every third one twice. n0 hosts nothing, n1 hosts `echo`; both send through it. Every request
 * is answered once with its own answer; a stream's results come in push order, each its frame's own answer or
 * a typed error for a frame that came after a later one.
 */

const REORDERED = new Set(['submit', 'result', 'stream-frame', 'stream-result']);

/** Wraps `c.send`: frames of the reordered types swap pairwise and every third is sent twice; a held one goes out on the next turn at the latest. */
function reorder(c: Connection, count: { swapped: number; doubled: number }): Connection {
  const send = c.send.bind(c);
  let held: Uint8Array | undefined;
  let n = 0;
  const release = (): void => {
    const h = held;
    held = undefined;
    if (h !== undefined && !c.isClosed) send(h);
  };
  c.send = (frame: Uint8Array): void => {
    let type: string | undefined;
    try {
      type = readFrameHeader(frame).type;
    } catch {
      type = undefined; // a handshake frame: as is
    }
    if (type === undefined || !REORDERED.has(type)) return send(frame);
    n++;
    if (n % 3 === 0) {
      send(frame.slice());
      count.doubled++;
    }
    if (held === undefined) {
      held = frame;
      setImmediate(release);
      return;
    }
    send(frame);
    count.swapped++;
    release();
  };
  return c;
}

/** A memory transport whose every connection reorders (see {@link reorder}). */
function reorderingTransport(hub: ReturnType<typeof createMemoryHub>, address: string, count: { swapped: number; doubled: number }): Transport {
  const t = createMemoryTransport({ hub, address });
  const connect = t.connect.bind(t);
  t.connect = async (a, o) => reorder(await connect(a, o), count);
  t.on('connectionAccepted', ({ connection }) => void reorder(connection, count));
  return t;
}

const hub = createMemoryHub();
const count = { swapped: 0, doubled: 0 };
let n0!: MeshNode;
const nodes: MeshNode[] = [];
beforeAll(async () => {
  for (const [id, hosted] of [['n0', false], ['n1', true]] as const) {
    const node = createNode({
      id,
      transport: reorderingTransport(hub, id, count),
      executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 2, maxQueue: 256 } }, hosted: hosted ? ['echo'] : [], tag: hosted ? 1 : 0 }),
      security: { psk: PSK },
      seeds: id === 'n0' ? [] : ['n0'],
      services: [ECHO],
      syncPeriodMs: 50,
      syncAckTimeoutMs: 400,
      placement: false,
    });
    watch(node);
    nodes.push(node);
    await node.start();
  }
  n0 = nodes[0]!;
  await until(() => ready(n0, 'n1'), 'n0 sees the instance of n1');
}, 30_000);
afterAll(() => Promise.all(nodes.map((n) => n.close())));

describe('a link that reorders and duplicates frames', () => {
  it('answers every request once, with its own answer', async () => {
    let completed = 0;
    const onCompleted = (): void => void (completed += 1);
    n0.on('requestCompleted', onCompleted);
    const before = { swapped: count.swapped, doubled: count.doubled };
    const values = Array.from({ length: 40 }, (_, i) => i + 1);
    const outs = await Promise.all(values.map((v) => n0.submit('echo', input([v]), { deadline: Date.now() + 10_000 })));
    expect(outs.map((o) => (o['x']!.data as Float32Array)[0])).toEqual(values.map((v) => 2 * v));
    expect(completed).toBe(40);
    n0.off('requestCompleted', onCompleted);
    expect(count.swapped - before.swapped).toBeGreaterThan(0);
    expect(count.doubled - before.doubled).toBeGreaterThan(0);
  });

  it('gives a stream its results in push order, each its own answer or typed', async () => {
    const stream = await n0.openStream('echo', { rateHz: 50, stalenessMs: 5000 });
    const pushed = Array.from({ length: 20 }, (_, i) => 100 + i);
    for (const v of pushed) stream.push(input([v]));
    const summary = stream.close();
    const results: (number | string)[] = [];
    for await (const r of stream) results.push(r.ok ? (r.outputs['x']!.data as Float32Array)[0]! : r.error.code);
    expect(results).toHaveLength(20);
    results.forEach((r, i) => (typeof r === 'number' ? expect(r).toBe(2 * pushed[i]!) : expect(['PEER_UNAVAILABLE', 'DEADLINE_EXCEEDED']).toContain(r)));
    // Both kinds came: frames swapped on the way (the later one dropped, answered typed) and frames in order.
    expect(results.filter((r) => typeof r === 'number').length).toBeGreaterThan(0);
    expect(results.filter((r) => typeof r === 'string').length).toBeGreaterThan(0);
    expect(await summary).toMatchObject({ pushed: 20 });
  });
});
