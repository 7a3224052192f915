import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode, secureConnection } from '@epara/mesh';
import type { Connection, MemoryHub, MeshNode } from '@epara/mesh';
import { decodeFrame, encodeFrame } from '@epara/mesh/wire';
import { aliveIds, ECHO, input, PSK, recordingLogger, serverOf, startCluster, until, watch } from './helpers.js';
import type { ClusterNode } from './helpers.js';
import { TYPED } from './fault-harness.js';

/*
 * Peers that misbehave against a running cluster, in one process over the memory hub (one cluster for every case):
 * n0 hosts nothing, n1 and n2 host `echo` (5 ms a run, at most 64 queued). An authenticated peer floods n1 with
 * forwarded requests, duplicated and out of order; then n2 restarts under its id with another pre-shared key (the
 * last case: it leaves n2 out). Every request settles once, with its own right answer or a typed error, and the
 * nodes keep serving their own clients.
 */

const hub: MemoryHub = createMemoryHub();
let cluster: ClusterNode[] = [];
const closers: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  cluster = await startCluster({ size: 3, kind: 'memory', hub, hosted: [1, 2] });
  await until(() => cluster.every((c) => ['n1', 'n2'].every((id) => c.node.view().entries[id]?.instances.length === 1)), 'every node sees both instances');
}, 30_000);
afterAll(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
  await Promise.all(cluster.map((c) => c.node.close()));
});

const node = (i: number): MeshNode => cluster[i]!.node;

/** One answer a peer got: the value of its output, or the error's code. */
interface Answer {
  readonly value?: number;
  readonly code?: string;
}

/** An authenticated peer `id` linked to `target` over the hub, recording every answer by request id. */
async function rawPeer(id: string, target: string): Promise<{ connection: Connection; answers: Map<number, Answer[]>; answered: () => number }> {
  const transport = createMemoryTransport({ hub, address: id });
  closers.push(() => transport.close());
  const { connection } = await secureConnection(await transport.connect(target), { psk: PSK, selfId: id, role: 'client' });
  const answers = new Map<number, Answer[]>();
  let answered = 0;
  connection.on('frameReceived', ({ frame }) => {
    const m = decodeFrame(frame);
    if (m.type !== 'result' && m.type !== 'error') return;
    const a: Answer = m.type === 'result' ? { value: (m.outputs['x']!.data as Float32Array)[0]! } : { code: m.error.code };
    answers.set(m.requestId, [...(answers.get(m.requestId) ?? []), a]);
    answered++;
  });
  return { connection, answers, answered: () => answered };
}

/** A forwarded `echo` request as a peer sends it: first hop, `budgetMs` left, input `[value]`. */
const submitFrame = (requestId: number, value: number, budgetMs: number): Uint8Array =>
  encodeFrame({ type: 'submit', requestId, serviceId: 'echo', budgetMs, hops: 0, maxHops: 2, visited: [], priority: 0, inputs: input([value]) });

/** Submits `echo` of `v` on `n`: its value, or its error's code. */
const ask = (n: MeshNode, v: number, budgetMs = 2000): Promise<Answer> =>
  n.submit('echo', input([v]), { deadline: Date.now() + budgetMs }).then(
    (out) => ({ value: (out['x']!.data as Float32Array)[0]! }),
    (err: unknown) => ({ code: isEparaError(err) ? err.code : `untyped: ${String(err)}` }),
  );

/** An answer is the request's own (twice its input) or carries a typed code. */
function expectOwnOrTyped(a: Answer, v: number): void {
  if (a.code !== undefined) expect(TYPED).toContain(a.code);
  else expect(a.value).toBe(2 * v);
}

describe('a flood of forwarded requests to one node', () => {
  it('answers each request once (duplicates and reordering included), sheds the excess OVERLOADED, and serves its own clients between slices', async () => {
    const n1 = node(1);
    const flood = await rawPeer('r9', 'n1');
    const N = 2000;
    // How many requests n1 started (ran or refused by its executor) in each turn of the event loop.
    let ticking = true;
    const perTurn: number[] = [];
    let last = n1.stats().ranLocally;
    const tick = (): void => {
      const now = n1.stats().ranLocally;
      perTurn.push(now - last);
      last = now;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    // Request ids in a shuffled order (a fixed permutation: reordered on the way), the first 200 sent twice; all
    // of them reach n1 in one read, as a socket's buffer full of frames would.
    const ids = Array.from({ length: N }, (_, i) => ((i * 7919) % N) + 1);
    const before = n1.stats().received;
    for (const id of ids) flood.connection.send(submitFrame(id, id, 1500));
    for (const id of ids.slice(0, 200)) flood.connection.send(submitFrame(id, id, 1500));
    // n1's own clients, during the flood: answered right (a budget no slice of the flood comes near).
    const own = await Promise.all(Array.from({ length: 20 }, (_, i) => ask(n1, 10_000 + i, 10_000)));
    expect(own).toEqual(Array.from({ length: 20 }, (_, i) => ({ value: 2 * (10_000 + i) })));
    await until(() => flood.answers.size === N, 'every flooded request is answered', 30_000);
    ticking = false;
    for (const [id, list] of flood.answers) {
      expect(list).toHaveLength(1);
      expectOwnOrTyped(list[0]!, id);
    }
    // The flood was started in slices (at most 64 a turn, and what was left of the turn before): never in one go.
    expect(Math.max(...perTurn)).toBeLessThanOrEqual(2 * 64 + 20);
    // The excess was refused at once, typed, not queued: of the flood (one read), 64 start, 1 024 wait their turns
    // and the rest is refused OVERLOADED on arrival (more may be refused by the queue, or expire in it).
    const codes = [...flood.answers.values()].map((l) => l[0]!.code);
    expect(codes.filter((c) => c === 'OVERLOADED').length).toBeGreaterThanOrEqual(N - 64 - 1024);
    // Every frame reached n1 (the duplicates too, answered once above), and nothing is left waiting.
    expect(n1.stats().received - before).toBe(N + 200);
    await until(() => n1.stats().inFlightForwards === 0, 'n1 has no forward left in flight');
    // After the flood, n1 serves its clients right, and the cluster is whole.
    expect(await ask(n1, 7)).toEqual({ value: 14 });
    // (A busy n1 may have been suspected meanwhile for acks that came late: it outbids that once it answers.)
    await until(() => aliveIds(node(0)).join() === 'n0,n1,n2', 'n0 sees the whole cluster');
    flood.connection.close();
  }, 60_000); // a hang guard only: every wait above is on an event
});

describe('a server restarted under its id with another pre-shared key', () => {
  it('is refused by its peers both ways, typed, and stays out: they keep it dead and serve without it, and it serves alone', async () => {
    const [n0, n1] = [node(0), node(1)];
    await cluster[2]!.node.close();
    await until(() => n0.view().entries['n2']?.alive === false && n1.view().entries['n2']?.alive === false, 'n0 and n1 mark n2 dead');
    const logger = recordingLogger();
    const restarted = createNode({
      id: 'n2',
      transport: createMemoryTransport({ hub, address: 'n2' }),
      executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 5 } }, hosted: ['echo'], tag: 9 }),
      security: { psk: 'another-psk-0123456789abcdef' },
      seeds: [n0.address!],
      services: [ECHO],
      syncPeriodMs: 50,
      syncAckTimeoutMs: 400,
      placement: false,
      logger,
    });
    watch(restarted);
    closers.push(() => restarted.close());
    await restarted.start();
    // Its dial to n0 fails authentication (n0 holds another key): logged, held back, never a crash.
    await until(() => logger.messages.includes('peer handshake failed'), 'the restarted n2 fails its handshake with n0');
    // No link came of it: its view holds itself alone; n0 and n1 hold n2 dead, as before (no split view).
    expect(restarted.stats().connectedPeers).toBe(0);
    expect(aliveIds(restarted)).toEqual(['n2']);
    // n0 and n1 still hold n2 dead (no split view): death is monotonic per epoch, so no live copy of the closed n2's
    // entry still going round brings it back (CI once read it alive here, before that rule), and nothing
    // authenticated with the new key reaches them (framesRejected below, no link).
    for (const n of [n0, n1]) expect(n.view().entries['n2']?.alive).toBe(false);
    // n0's requests are answered right, by n1 only; the restarted run serves its own clients alone.
    const outs = await Promise.all([1, 2, 3, 4, 5, 6].map((v) => n0.submit('echo', input([v]), { deadline: Date.now() + 5000 })));
    expect(outs.map((o) => [(o['x']!.data as Float32Array)[0], serverOf(o)])).toEqual([1, 2, 3, 4, 5, 6].map((v) => [2 * v, 1]));
    expect(await ask(restarted, 4)).toEqual({ value: 8 });
    expect(restarted.stats()).toMatchObject({ offloaded: 0, received: 0, alivePeers: 0 });
    expect(n0.stats().framesRejected + n1.stats().framesRejected).toBe(0);
  }, 60_000); // a hang guard only: every wait above is on an event
});
