import { describe, expect, it } from 'vitest';
import { alive, clusterPerTest, expectSettledOnce, inferGrpc, inferHttp, InferStream, until } from './served-cluster.js';
import type { Outcome } from './served-cluster.js';

/*
 * A worker of a served cluster killed with SIGKILL while the entry's clients have requests in flight on it, over
 * HTTP/REST, gRPC ModelInfer and a gRPC ModelStreamInfer stream: every request settles once — its own answer,
 * equal to raw onnxruntime's, or a typed refusal that says it was lost — the stream ends OK, the entry keeps
 * serving through the other worker, and the killed worker serves again once restarted on its address.
 */

const { cluster, refs } = clusterPerTest();

describe('a served cluster, one worker killed (SIGKILL) mid-request and mid-stream', () => {
  it('settles every request once, right or typed; serves through the other worker; serves again after the restart', async () => {
    const { workers: [w1, w2], entry } = await cluster.start([{ id: 'w1' }, { id: 'w2' }]);
    const grpc = cluster.client(entry.grpc);
    await until(async () => 'answer' in (await inferHttp(entry.http, 0)));

    const outcomes: Outcome[] = [];
    const sent: number[] = [];
    let next = 1;
    // One stream with many requests written at once: most are still in flight when the worker dies.
    const stream = new InferStream(grpc);
    for (let i = 0; i < 40; i++) stream.write(next++);
    // Unary clients keep submitting until told to stop.
    let stop = false;
    const unary = async (kind: 'http' | 'grpc'): Promise<void> => {
      while (!stop) {
        const n = next++;
        sent.push(n);
        outcomes.push(await (kind === 'http' ? inferHttp(entry.http, n) : inferGrpc(grpc, n)));
      }
    };
    const clients = [unary('http'), unary('grpc'), unary('grpc')];
    await stream.answers(3);
    w1.serve.kill();
    await w1.serve.exited;
    for (let i = 0; i < 20; i++) stream.write(next++);
    // The entry serves through w2: answers keep coming after the kill.
    const afterKill = outcomes.length;
    await until(() => outcomes.slice(afterKill).filter((o) => 'answer' in o).length >= 6);
    stop = true;
    await Promise.all(clients);
    stream.end();
    expect(await stream.ended).toBe('OK');
    await expectSettledOnce([...outcomes, ...stream.outcomes], [...sent, ...stream.sent], refs);

    // w1 restarted on its address, w2 killed: the entry serves through w1 again.
    await cluster.restart(w1, [w2.address]);
    w2.serve.kill();
    await w2.serve.exited;
    const again: Outcome[] = [];
    await until(async () => {
      const o = await inferGrpc(grpc, next++);
      again.push(o);
      return 'answer' in o;
    });
    await expectSettledOnce(again, again.map((o) => o.n), refs);

    // Drained, the processes exit 0 and leave none behind.
    entry.child.kill('SIGTERM');
    w1.serve.child.kill('SIGTERM');
    expect(await entry.exited).toBe(0);
    expect(await w1.serve.exited).toBe(0);
    for (const p of cluster.processes) expect(alive(p.child.pid!)).toBe(false);
  }, 120_000);
});

describe('a served cluster, its only worker killed (SIGKILL) and restarted under one open stream', () => {
  it('the stream outlives the fault: requests in flight settle once, typed or right, and later ones are answered after the restart', async () => {
    const { workers: [w], entry } = await cluster.start([{ id: 'w1' }]);
    const grpc = cluster.client(entry.grpc);
    await until(async () => 'answer' in (await inferHttp(entry.http, 0)));

    const stream = new InferStream(grpc);
    let next = 1;
    for (; next <= 30; next++) stream.write(next);
    await stream.answers(2);
    w.serve.kill();
    await w.serve.exited;
    // Every request written so far settles (answered before the kill, or refused typed: the worker is gone).
    await stream.answers(30);
    // Started again on its address, the worker serves the same open stream's requests.
    await cluster.restart(w);
    for (;;) {
      const n = next++;
      stream.write(n);
      await stream.answers(stream.sent.length);
      if (stream.outcomes.some((o) => o.n === n && 'answer' in o)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    stream.end();
    expect(await stream.ended).toBe('OK');
    await expectSettledOnce(stream.outcomes, stream.sent, refs);
  }, 120_000);
});
