import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { clusterPerTest, expectSettledOnce, inferGrpc, inferHttp, inputOf, until } from '../cluster-faults/served-cluster.js';
import type { Outcome } from '../cluster-faults/served-cluster.js';

/*
 * Clients of a served cluster's entry that go away mid-request: REST requests whose connection closes before the
 * answer, gRPC unary calls cancelled, and a ModelStreamInfer stream cancelled with requests in flight, all while
 * the requests run on the worker. The clients that stay get their own answers (raw onnxruntime's), the entry's
 * gateway is left with nothing in flight (it drains at once and says it answered every REST request it took), and
 * the cluster keeps serving.
 */

const { cluster, refs } = clusterPerTest();

/** A REST request abandoned once its body is sent: the connection closes before the answer comes. */
async function abandonedHttp(http: string, n: number, afterMs: number): Promise<void> {
  const controller = new AbortController();
  const body = JSON.stringify({ id: `gone-${n}`, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data: Array.from(inputOf(n)) }] });
  const sent = fetch(`${http}/v2/models/cls/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, signal: controller.signal });
  setTimeout(() => controller.abort(), afterMs);
  await sent.then(
    (res) => res.arrayBuffer(), // answered before the abort: fine too
    () => undefined,
  );
}

/** A ModelInfer request for the classifier, input `n`. */
function request(n: number, tag: string): object {
  return { model_name: 'cls', id: `${tag}-${n}`, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], contents: { fp32_contents: Array.from(inputOf(n)) } }] };
}

describe('a served cluster whose clients go away mid-request', () => {
  it('REST connections closed, gRPC calls and a stream cancelled: the others are answered right, nothing stays in flight, the cluster serves on', async () => {
    const { entry } = await cluster.start([{ id: 'w1' }]);
    const grpc = cluster.client(entry.grpc);
    await until(async () => 'answer' in (await inferHttp(entry.http, 0)));

    const outcomes: Outcome[] = [];
    const sent: number[] = [];
    let next = 1;
    const stayed = async (kind: 'http' | 'grpc'): Promise<void> => {
      const n = next++;
      sent.push(n);
      outcomes.push(await (kind === 'http' ? inferHttp(entry.http, n) : inferGrpc(grpc, n)));
    };
    // A stream with requests in flight, cancelled by the client (RST_STREAM CANCEL) while they run.
    const stream = grpc.ModelStreamInfer(new Metadata(), {});
    const streamEnded = new Promise<unknown>((resolve) => (stream.on('error', resolve), stream.on('end', resolve)));
    const firstAnswer = new Promise<void>((resolve) => stream.once('data', () => resolve()));
    for (let i = 0; i < 12; i++) stream.write(request(next++, 's'));
    const gone: Promise<unknown>[] = [];
    for (let i = 0; i < 12; i++) {
      gone.push(abandonedHttp(entry.http, next++, 5 + i * 7));
      // A unary call cancelled by the client mid-request.
      const call = (grpc as unknown as Record<string, (req: object, meta: Metadata, opts: object, cb: (err: unknown) => void) => { cancel(): void }>)['ModelInfer']!(
        request(next++, 'gone'),
        new Metadata(),
        {},
        () => undefined,
      );
      gone.push(new Promise((resolve) => setTimeout(() => resolve(call.cancel()), 5 + i * 5)));
      gone.push(stayed(i % 2 === 0 ? 'http' : 'grpc'));
    }
    await firstAnswer;
    stream.cancel();
    await streamEnded;
    await Promise.all(gone);
    for (let i = 0; i < 4; i++) await stayed(i % 2 === 0 ? 'http' : 'grpc');
    // Every request of a client that stayed is its own answer: nothing here may be lost.
    await expectSettledOnce(outcomes, sent, refs, []);

    // The entry holds nothing for the clients that left: asked to stop, it finds no request in flight and says it
    // answered every REST request it accepted.
    entry.child.kill('SIGTERM');
    expect(await entry.exited).toBe(0);
    const stopped = JSON.parse(entry.output().split('\n').find((l) => l.includes('"event":"stopped"'))!) as { inFlight: number; httpAccepted: number; httpAnswered: number };
    expect(stopped.inFlight).toBe(0);
    expect(stopped.httpAnswered).toBe(stopped.httpAccepted);
    // A hang guard as for the cluster-fault tests: the two processes start within the test (30 s ran out at load 38).
  }, 120_000);
});
