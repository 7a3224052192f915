import { describe, expect, it } from 'vitest';
import { clusterPerTest, expectSettledOnce, inferGrpc, inferHttp, InferStream, memberConfig, until } from './served-cluster.js';
import type { Outcome } from './served-cluster.js';

/*
 * The model unloaded and loaded again through the repository API (Triton's model control, as tritonclient's
 * `unload_model` / `load_model` send it) on one worker of a served cluster at a time, while clients keep requests in
 * flight on the entry (HTTP, gRPC, a ModelStreamInfer stream) and on that worker itself; then a worker killed
 * (SIGKILL) and restarted on its address with a different model set (the model no longer on its devices). Another
 * worker serves the model throughout, so nothing may be lost but what was in flight on the killed worker: every
 * request gets its own answer, equal to raw onnxruntime's, exactly once.
 */

const { cluster, refs } = clusterPerTest();

const post = async (url: string): Promise<number> => (await fetch(url, { method: 'POST' })).status;

describe('a served cluster, the model unloaded and reloaded on one worker at a time under load', () => {
  it('answers every request once and right, at the entry and at the worker that unloads, and after a worker restarts without the model', async () => {
    const { workers: [w1, w2], entry } = await cluster.start([{ id: 'w1' }, { id: 'w2' }]);
    const grpc = cluster.client(entry.grpc);
    // Both workers serve, and the entry reaches each.
    await until(async () => 'answer' in (await inferHttp(w1.serve.http, 0)) && 'answer' in (await inferHttp(w2.serve.http, 0)) && 'answer' in (await inferHttp(entry.http, 0)));

    const outcomes: Outcome[] = [];
    const sent: number[] = [];
    let next = 1;
    const stream = new InferStream(grpc);
    let stop = false;
    // Clients at the entry and at w1 (the first to unload): each keeps one request in flight until told to stop.
    const unary = async (send: (n: number) => Promise<Outcome>): Promise<void> => {
      while (!stop) {
        const n = next++;
        sent.push(n);
        outcomes.push(await send(n));
      }
    };
    const clients = [unary((n) => inferHttp(entry.http, n)), unary((n) => inferGrpc(grpc, n)), unary((n) => inferHttp(w1.serve.http, n))];
    /** Writes a few stream requests and waits until `more` unary answers came after this call. */
    const underLoad = async (more: number): Promise<void> => {
      for (let i = 0; i < 6; i++) stream.write(next++);
      const from = outcomes.length;
      await until(() => outcomes.length >= from + more);
    };

    await underLoad(3);
    for (const [w, other] of [[w1, w2], [w2, w1]] as const) {
      const api = `${w.serve.http}/v2/repository/models/cls`;
      expect(await post(`${api}/unload`)).toBe(200);
      await underLoad(4);
      // The other worker still serves; a load brings this one's instance back.
      expect(await post(`${api}/load`)).toBe(200);
      await underLoad(4);
      expect(other.serve.child.exitCode).toBe(null);
    }

    // w2 killed (SIGKILL) and restarted on its address with a different model set: the model is no longer on its
    // devices (w1 serves it), while the entry's view may still show the killed run's instance. A request in flight on
    // w2 when it died may be lost (typed); one sent once the new run listens may not.
    const settledBeforeKill = new Set([...outcomes, ...stream.outcomes].map((o) => o.n));
    w2.serve.kill();
    await w2.serve.exited;
    w2.serve = await cluster.serve(memberConfig({ id: w2.id, meshPort: w2.meshPort, seeds: [w1.address], devices: [] }));
    const back = next;
    await underLoad(4);

    stop = true;
    await Promise.all(clients);
    await stream.answers(stream.sent.length);
    stream.end();
    expect(await stream.ended).toBe('OK');
    const all = [...outcomes, ...stream.outcomes];
    const mayBeLost = (n: number): boolean => !settledBeforeKill.has(n) && n < back;
    await expectSettledOnce(all.filter((o) => !mayBeLost(o.n)), [...sent, ...stream.sent].filter((n) => !mayBeLost(n)), refs, []);
    await expectSettledOnce(all.filter((o) => mayBeLost(o.n)), [...sent, ...stream.sent].filter(mayBeLost), refs);
  }, 180_000);
});
