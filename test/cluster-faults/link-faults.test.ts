import { describe, expect, it } from 'vitest';
import { clusterPerTest, expectSettledOnce, inferGrpc, inferHttp, InferStream, until } from './served-cluster.js';
import type { Outcome } from './served-cluster.js';

/*
 * The mesh link between a served cluster's entry and its only worker cut or stalled (a TCP proxy in front of the
 * worker) while requests and a stream are in flight on it: every request settles once — its own answer, equal to
 * raw onnxruntime's, or a typed refusal — the stream ends OK, and once the link is whole again the entry serves
 * through the worker again.
 */

const { cluster, refs } = clusterPerTest();

/** Sends requests until one is answered (the cluster serves again), returning every outcome. */
async function untilServed(send: (n: number) => Promise<Outcome>, from: number): Promise<Outcome[]> {
  const out: Outcome[] = [];
  let n = from;
  await until(async () => {
    const o = await send(n++);
    out.push(o);
    return 'answer' in o;
  });
  return out;
}

describe('a served cluster, the link to its only worker cut or stalled mid-request', () => {
  it('a cut link: requests and stream requests in flight settle once, right or typed; the cluster serves again', async () => {
    const { workers: [w], entry } = await cluster.start([{ id: 'w1', proxied: true }]);
    const grpc = cluster.client(entry.grpc);
    await until(async () => 'answer' in (await inferHttp(entry.http, 0)));

    const stream = new InferStream(grpc);
    for (let n = 1; n <= 30; n++) stream.write(n);
    const unary = Promise.all([...Array.from({ length: 5 }, (_, i) => inferHttp(entry.http, 100 + i)), ...Array.from({ length: 5 }, (_, i) => inferGrpc(grpc, 200 + i))]);
    // Cut while the requests cross the link: at the next chunk after the first stream answer.
    await stream.answers(1);
    await new Promise<void>((resolve) => w.proxy!.onNextChunk(() => (w.proxy!.cut(), resolve())));
    for (let n = 31; n <= 40; n++) stream.write(n);
    const outcomes = await unary;
    await stream.answers(40);
    stream.end();
    expect(await stream.ended).toBe('OK');
    await expectSettledOnce([...outcomes, ...stream.outcomes], [...outcomes.map((o) => o.n), ...stream.sent], refs);
    // The worker was never gone: the entry dials it again.
    const again = await untilServed((n) => inferGrpc(grpc, n), 1000);
    await expectSettledOnce(again, again.map((o) => o.n), refs);
  }, 120_000);

  it('a stalled link: requests settle by their deadline, typed; once it flows again the cluster serves again', async () => {
    const { workers: [w], entry } = await cluster.start([{ id: 'w1', proxied: true }], { deadlineMs: 3000 });
    const grpc = cluster.client(entry.grpc);
    await until(async () => 'answer' in (await inferHttp(entry.http, 0)));

    w.proxy!.stall();
    const stream = new InferStream(grpc);
    for (let n = 1; n <= 10; n++) stream.write(n);
    const outcomes = await Promise.all([...Array.from({ length: 3 }, (_, i) => inferHttp(entry.http, 100 + i)), ...Array.from({ length: 3 }, (_, i) => inferGrpc(grpc, 200 + i))]);
    await stream.answers(10);
    stream.end();
    expect(await stream.ended).toBe('OK');
    await expectSettledOnce([...outcomes, ...stream.outcomes], [...outcomes.map((o) => o.n), ...stream.sent], refs);
    w.proxy!.resume();
    const again = await untilServed((n) => inferHttp(entry.http, n), 1000);
    await expectSettledOnce(again, again.map((o) => o.n), refs);
  }, 120_000);
});
