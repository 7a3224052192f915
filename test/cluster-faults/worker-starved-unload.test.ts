import { describe, expect, it } from 'vitest';
import { clusterPerTest, expectSettledOnce, inferHttp, until } from './served-cluster.js';
import type { Outcome } from './served-cluster.js';

/*
 * One worker of a served cluster unloads the model (the repository API) while the other, the only one left serving
 * it, is starved of CPU past the ring's suspicion time (stopped with SIGSTOP until the unloading worker's ring takes
 * it for dead, then resumed): its link stays open. Requests already waiting on it, and requests sent at the entry
 * and at the unloading worker while it is held dead, are all answered by it once it runs again — none is refused
 * `NO_INSTANCE`, `DEADLINE_INFEASIBLE` or `PEER_UNAVAILABLE` for a worker that still serves the model.
 */

const { cluster, refs } = clusterPerTest();

describe('a served cluster whose only serving worker is starved of CPU while the other has unloaded the model', () => {
  it('answers every request once and right once the starved worker runs again', async () => {
    const { workers: [w1, w2], entry } = await cluster.start([{ id: 'w1' }, { id: 'w2' }]);
    await until(async () => 'answer' in (await inferHttp(w1.serve.http, 0)) && 'answer' in (await inferHttp(w2.serve.http, 0)) && 'answer' in (await inferHttp(entry.http, 0)));
    const unload = await fetch(`${w1.serve.http}/v2/repository/models/cls/unload`, { method: 'POST' });
    expect(unload.status).toBe(200);

    const sent: number[] = [];
    const pending: Promise<Outcome>[] = [];
    let next = 1;
    const send = (http: string): void => {
      const n = next++;
      sent.push(n);
      pending.push(inferHttp(http, n));
    };
    // Waiting on w2 when it stops: one from each front door.
    send(entry.http);
    send(w1.serve.http);
    w2.serve.child.kill('SIGSTOP');
    try {
      // w1 (w2's ring predecessor) takes it for dead once its acks are late past the suspicion time.
      await until(() => w1.serve.output().includes('"peer":"w2","msg":"ring successor did not acknowledge and shows no sign of life; marking it dead"'));
      // Sent while w2 is held dead: w1 has no instance, and no alive server hosts one.
      send(entry.http);
      send(w1.serve.http);
      send(w1.serve.http);
    } finally {
      w2.serve.child.kill('SIGCONT');
    }
    const outcomes = await Promise.all(pending);
    await expectSettledOnce(outcomes, sent, refs, []);
    // The cluster serves as before once w1 loads the model again.
    expect((await fetch(`${w1.serve.http}/v2/repository/models/cls/load`, { method: 'POST' })).status).toBe(200);
    send(w1.serve.http);
    send(entry.http);
    await expectSettledOnce(await Promise.all(pending), sent, refs, []);
  }, 120_000);
});
