import { describe, expect, it } from 'vitest';
import { clusterPerTest, expectSettledOnce, inferGrpc, inferHttp, InferStream, until } from './served-cluster.js';
import type { Outcome } from './served-cluster.js';

/*
 * One worker of a served cluster slow to reach (every byte on its mesh link delayed 400 ms each way, a congested
 * or distant peer) beside a fast one, under requests with a 1.5 s deadline over HTTP, gRPC and a stream: every
 * request settles once, right or typed (a deadline missed on the slow peer is DEADLINE_EXCEEDED, never a hang or
 * a late second answer), and the entry keeps answering through the fast worker.
 */

const { cluster, refs } = clusterPerTest();

describe('a served cluster with a slow peer', () => {
  it('settles every request once by its deadline, right or typed, and keeps answering', async () => {
    const { workers: [slow], entry } = await cluster.start([{ id: 'w-slow', proxied: true }, { id: 'w-fast' }]);
    const grpc = cluster.client(entry.grpc);
    await until(async () => 'answer' in (await inferHttp(entry.http, 0)));
    slow.proxy!.latency(400);

    const stream = new InferStream(grpc);
    let next = 1;
    for (; next <= 20; next++) stream.write(next);
    const outcomes: Outcome[] = [];
    const sent: number[] = [];
    const unary = async (kind: 'http' | 'grpc'): Promise<void> => {
      for (let i = 0; i < 10; i++) {
        const n = next++;
        sent.push(n);
        outcomes.push(await (kind === 'http' ? inferHttp(entry.http, n, 1500) : inferGrpc(grpc, n, 1500)));
      }
    };
    await Promise.all([unary('http'), unary('grpc'), stream.answers(20)]);
    stream.end();
    expect(await stream.ended).toBe('OK');
    await expectSettledOnce([...outcomes, ...stream.outcomes], [...sent, ...stream.sent], refs);
    // The fast worker keeps the entry answering.
    expect([...outcomes, ...stream.outcomes].filter((o) => 'answer' in o).length).toBeGreaterThan(0);
  }, 120_000);
});
