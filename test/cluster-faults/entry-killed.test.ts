import { describe, expect, it } from 'vitest';
import { clusterPerTest, expectSettledOnce, inferGrpc, inferHttp, InferStream, until } from './served-cluster.js';
import type { Outcome } from './served-cluster.js';

/*
 * The entry server of a served cluster killed (SIGKILL) with requests and a stream in flight through it to a
 * worker: its clients see the connection fail (nothing else can tell them), the worker — which still runs or
 * has queued what the entry forwarded — keeps serving its own clients right, and an entry started again joins
 * and serves through the worker.
 */

const { cluster, refs } = clusterPerTest();

describe('a served cluster, its entry killed (SIGKILL) mid-request', () => {
  it('the worker keeps serving right; an entry started again serves through it', async () => {
    const started = await cluster.start([{ id: 'w1' }]);
    const [w] = started.workers;
    let entry = started.entry;
    let grpc = cluster.client(entry.grpc);
    await until(async () => 'answer' in (await inferHttp(entry.http, 0)));

    const stream = new InferStream(grpc);
    for (let n = 1; n <= 30; n++) stream.write(n);
    const through = Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? inferHttp(entry.http, 100 + i) : inferGrpc(grpc, 100 + i))));
    await stream.answers(1);
    entry.kill();
    await entry.exited;
    // The entry's own clients: answered before the kill, or failed at the connection; never answered twice.
    expect(await stream.ended).not.toBe('OK');
    const lost = await through;
    const answered = [...lost, ...stream.outcomes].filter((o) => 'answer' in o);
    await expectSettledOnce(answered, answered.map((o) => o.n), refs);
    for (const o of [...lost, ...stream.outcomes]) if (!('answer' in o)) expect(['socket', 14, 'stream']).toContain(o.status);

    // The worker serves its own clients right while it sheds the dead entry's work.
    const direct: Outcome[] = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? inferHttp(w.serve.http, 200 + i) : inferGrpc(cluster.client(w.serve.grpc), 200 + i))));
    await expectSettledOnce(direct, direct.map((o) => o.n), refs, []);

    // An entry started again (a new process) joins and serves through the worker.
    entry = await cluster.entry([w]);
    grpc = cluster.client(entry.grpc);
    const again: Outcome[] = [];
    await until(async () => {
      const o = await inferGrpc(grpc, 300 + again.length);
      again.push(o);
      return 'answer' in o;
    });
    await expectSettledOnce(again, again.map((o) => o.n), refs);
  }, 120_000);
});
