import { describe, expect, it } from 'vitest';
import { freePort } from '../gateway/serve-process.js';
import { alive, clusterPerTest, expectSettledOnce, inferGrpc, inferHttp, InferStream, memberConfig, until } from './served-cluster.js';
import type { Outcome } from './served-cluster.js';

/*
 * A worker killed (SIGKILL) while the requests it batches came from two entries at once (HTTP, gRPC, a
 * ModelStreamInfer stream on each): every request of either entry settles once — its own answer, equal to raw
 * onnxruntime's, or a typed refusal that says it was lost — each entry serves on through the other worker, both
 * streams end OK, and every process exits 0 after a drain, leaving none behind.
 */

const { cluster, refs } = clusterPerTest();

describe('a served cluster with two entries, a worker killed (SIGKILL) with both entries\' requests in flight on it', () => {
  it('settles every request of each entry once, right or typed, and both serve on through the other worker', async () => {
    const { workers: [w1, w2], entry } = await cluster.start([{ id: 'w1' }, { id: 'w2' }]);
    const entry2 = await cluster.serve(memberConfig({ id: 'entry2', meshPort: await freePort(), seeds: [w1.address, w2.address], devices: [] }));
    const entries = [entry, entry2];
    const grpcs = entries.map((e) => cluster.client(e.grpc));
    await until(async () => (await Promise.all(entries.map((e) => inferHttp(e.http, 0)))).every((o) => 'answer' in o));

    const outcomes: Outcome[] = [];
    const sent: number[] = [];
    let next = 1;
    const streams = grpcs.map((g) => new InferStream(g));
    // Each stream's requests written at once: queued on the workers, batched with the other entry's.
    for (const s of streams) for (let i = 0; i < 20; i++) s.write(next++);
    let stop = false;
    const unary = async (send: (n: number) => Promise<Outcome>): Promise<void> => {
      while (!stop) {
        const n = next++;
        sent.push(n);
        outcomes.push(await send(n));
      }
    };
    const clients = entries.flatMap((e, i) => [unary((n) => inferHttp(e.http, n)), unary((n) => inferGrpc(grpcs[i]!, n))]);
    await Promise.all(streams.map((s) => s.answers(2)));
    w1.serve.kill();
    await w1.serve.exited;
    for (const s of streams) for (let i = 0; i < 10; i++) s.write(next++);
    // Each entry serves through w2 after the kill.
    const afterKill = outcomes.length;
    await until(() => {
      const later = outcomes.slice(afterKill);
      return later.filter((o) => 'answer' in o).length >= 8;
    });
    stop = true;
    await Promise.all(clients);
    for (const s of streams) {
      await s.answers(s.sent.length);
      s.end();
      expect(await s.ended).toBe('OK');
    }
    await expectSettledOnce([...outcomes, ...streams.flatMap((s) => s.outcomes)], [...sent, ...streams.flatMap((s) => s.sent)], refs);

    // Drained, every process left exits 0.
    for (const p of [entry, entry2, w2.serve]) p.child.kill('SIGTERM');
    expect(await Promise.all([entry, entry2, w2.serve].map((p) => p.exited))).toEqual([0, 0, 0]);
    for (const p of cluster.processes) expect(alive(p.child.pid!)).toBe(false);
  }, 120_000);
});
