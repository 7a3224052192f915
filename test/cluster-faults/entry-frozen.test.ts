import { describe, expect, it } from 'vitest';
import { alive, clusterPerTest, expectSettledOnce, inferGrpc, inferHttp, InferStream, until } from './served-cluster.js';
import type { Outcome } from './served-cluster.js';

/*
 * The entry server of a served cluster frozen (SIGSTOP: a stalled VM, a debugger, a host swapping) with requests in
 * flight through it to the worker, over HTTP/REST, gRPC ModelInfer and a ModelStreamInfer stream, for longer than the
 * requests' deadlines and the mesh's dead-peer bound; then thawed (SIGCONT). Every request settles once — its own
 * answer, or a typed refusal — within its deadline plus a bound counted from the thaw, the stream ends OK, and the
 * entry serves through the worker again.
 */

const { cluster, refs } = clusterPerTest();

/** How long the entry stays frozen: past the requests' 2 s deadline and the links' dead-peer timeout. */
const FROZEN_MS = 6000;

describe('a served cluster, its entry frozen (SIGSTOP) mid-request and thawed', () => {
  it('settles every request once, right or typed, soon after the thaw; the stream goes on; the entry serves again', async () => {
    const { workers: [w], entry } = await cluster.start([{ id: 'w1' }]);
    const grpc = cluster.client(entry.grpc);
    await until(async () => 'answer' in (await inferHttp(entry.http, 0)));

    const outcomes: Outcome[] = [];
    const sent: number[] = [];
    const settledAt = new Map<number, number>();
    let next = 1;
    const stream = new InferStream(grpc);
    for (let i = 0; i < 20; i++) stream.write(next++);
    let stop = false;
    const unary = async (kind: 'http' | 'grpc'): Promise<void> => {
      while (!stop) {
        const n = next++;
        sent.push(n);
        const o = await (kind === 'http' ? inferHttp(entry.http, n, 2000) : inferGrpc(grpc, n));
        settledAt.set(n, Date.now());
        outcomes.push(o);
      }
    };
    const clients = [unary('http'), unary('http'), unary('grpc')];
    await stream.answers(2);
    await until(() => outcomes.length >= 2);
    entry.child.kill('SIGSTOP');
    try {
      for (let i = 0; i < 10; i++) stream.write(next++);
      await new Promise((resolve) => setTimeout(resolve, FROZEN_MS));
    } finally {
      entry.child.kill('SIGCONT');
    }
    const thawedAt = Date.now();
    const afterThaw = outcomes.length;
    // The entry serves through the worker again: answers keep coming after the thaw.
    await until(() => outcomes.slice(afterThaw).filter((o) => 'answer' in o).length >= 4);
    stop = true;
    await Promise.all(clients);
    stream.end();
    expect(await stream.ended).toBe('OK');
    await expectSettledOnce([...outcomes, ...stream.outcomes], [...sent, ...stream.sent], refs);
    // Nothing waited on: a request in flight at the freeze settled within a bound of the thaw (its 2 s deadline
    // long passed), not at the client's own 60 s.
    const late = [...settledAt.entries()].filter(([, at]) => at - thawedAt > 10_000);
    expect(late).toEqual([]);

    entry.child.kill('SIGTERM');
    w.serve.child.kill('SIGTERM');
    expect(await entry.exited).toBe(0);
    expect(await w.serve.exited).toBe(0);
    for (const p of cluster.processes) expect(alive(p.child.pid!)).toBe(false);
  }, 120_000);
});
