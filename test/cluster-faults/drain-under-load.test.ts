import { describe, expect, it } from 'vitest';
import { alive, clusterPerTest, expectSettledOnce, inferGrpc, inferHttp, InferStream, until } from './served-cluster.js';
import type { Outcome } from './served-cluster.js';

/*
 * A served cluster drained (SIGTERM) under load from HTTP, gRPC and ModelStreamInfer clients. A worker drained
 * while another serves the model (a rolling restart) loses nothing: every request is answered, right. The entry
 * drained with a stream open: what it took in is answered, what came after is refused typed, the stream ends, and
 * the process exits 0 within its drain bound.
 */

const { cluster, refs } = clusterPerTest();

describe('a served cluster drained under load', () => {
  it('a worker drained while another serves: every request and stream request answered right, none lost', async () => {
    const { workers: [w1, w2], entry } = await cluster.start([{ id: 'w1' }, { id: 'w2' }]);
    const grpc = cluster.client(entry.grpc);
    // Both workers serve before the drain (a request offloaded to each: the entry's view holds both).
    await until(async () => 'answer' in (await inferHttp(w2.serve.http, 0)) && 'answer' in (await inferHttp(entry.http, 0)));

    const outcomes: Outcome[] = [];
    const sent: number[] = [];
    let next = 1;
    const stream = new InferStream(grpc);
    for (let i = 0; i < 30; i++) stream.write(next++);
    let stop = false;
    const unary = async (kind: 'http' | 'grpc'): Promise<void> => {
      while (!stop) {
        const n = next++;
        sent.push(n);
        outcomes.push(await (kind === 'http' ? inferHttp(entry.http, n) : inferGrpc(grpc, n)));
      }
    };
    const clients = [unary('http'), unary('grpc')];
    await stream.answers(2);
    w1.serve.child.kill('SIGTERM');
    for (let i = 0; i < 20; i++) stream.write(next++);
    expect(await w1.serve.exited).toBe(0);
    const afterExit = outcomes.length;
    await until(() => outcomes.length >= afterExit + 4);
    stop = true;
    await Promise.all(clients);
    stream.end();
    expect(await stream.ended).toBe('OK');
    // Nothing lost: a rolling restart with another worker up answers every request.
    await expectSettledOnce([...outcomes, ...stream.outcomes], [...sent, ...stream.sent], refs, []);
  }, 120_000);

  it('the entry drained with a stream and clients in flight: each request answered once, right or typed; the stream ends; exit 0', async () => {
    const { entry } = await cluster.start([{ id: 'w1' }], { drainTimeoutMs: 5000 });
    const grpc = cluster.client(entry.grpc);
    await until(async () => 'answer' in (await inferHttp(entry.http, 0)));

    const outcomes: Outcome[] = [];
    const sent: number[] = [];
    let next = 1;
    const stream = new InferStream(grpc);
    for (let i = 0; i < 30; i++) stream.write(next++);
    let stop = false;
    const unary = async (kind: 'http' | 'grpc'): Promise<void> => {
      while (!stop) {
        const n = next++;
        sent.push(n);
        const o = await (kind === 'http' ? inferHttp(entry.http, n) : inferGrpc(grpc, n));
        outcomes.push(o);
        // Refused at the socket: the gateway has closed its listener; the client stops.
        if ('code' in o && (o.status === 'socket' || o.code?.startsWith('grpc '))) return;
      }
    };
    const clients = [unary('http'), unary('grpc')];
    await stream.answers(2);
    entry.child.kill('SIGTERM');
    // The client keeps writing on its stream while the entry drains.
    let streamOpen = true;
    void stream.ended.then(() => (streamOpen = false));
    for (let i = 0; i < 10 && streamOpen; i++) {
      stream.write(next++);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await entry.exited).toBe(0);
    stop = true;
    await Promise.all(clients);
    // The stream ended with the process: OK, or UNAVAILABLE once the server closed it.
    // The stream ended with the process: OK once every request was answered, else UNAVAILABLE (retryable: the
    // requests it did not answer were never read, so never run).
    const ended = await stream.ended;
    expect(['OK', 14]).toContain(ended);
    const answered = new Set(stream.outcomes.map((o) => o.n));
    if (ended === 'OK') expect(answered.size).toBe(stream.sent.length);
    // Every request answered once, right or typed (the stream's requests read in the drain: CLOSED), except what
    // the closed listener refused at the socket — never answered twice, never wrong.
    const socketRefused = outcomes.filter((o) => 'code' in o && (o.status === 'socket' || o.code?.startsWith('grpc ')));
    expect(socketRefused.length).toBeLessThanOrEqual(2);
    await expectSettledOnce([...outcomes.filter((o) => !socketRefused.includes(o)), ...stream.outcomes], [...sent.filter((n) => !socketRefused.some((o) => o.n === n)), ...stream.sent.filter((n) => answered.has(n))], refs);
    expect(alive(entry.child.pid!)).toBe(false);
  }, 120_000);

  it('the entry drained while its requests wait on a stalled peer: each is answered typed when the drain bound passes, none dropped unanswered', async () => {
    const { workers: [w], entry } = await cluster.start([{ id: 'w1', proxied: true }], { drainTimeoutMs: 1500 });
    const grpc = cluster.client(entry.grpc);
    let warmups = 0;
    await until(async () => (warmups++, 'answer' in (await inferHttp(entry.http, 0))));
    // The gRPC channel is connected before the fault (a call made on it later goes on that connection).
    await until(async () => 'answer' in (await inferGrpc(grpc, 0)));
    const forwarded = new Promise<void>((resolve) => w.proxy!.onNextChunk(resolve));
    w.proxy!.stall();
    const grpcCalls = [inferGrpc(grpc, 200), inferGrpc(grpc, 201)];
    const stream = new InferStream(grpc);
    for (let n = 1; n <= 3; n++) stream.write(n);
    const unary = Promise.all([...grpcCalls, inferHttp(entry.http, 100), inferHttp(entry.http, 101)]);
    // A request reached the peer's link (held there by the stall): the drain begins with requests in flight.
    await forwarded;
    entry.child.kill('SIGTERM');
    expect(await entry.exited).toBe(0);
    const outcomes = await unary;
    const ended = await stream.ended;
    // The gateway answered every HTTP request it took in (a request not yet taken in when its listener closed failed
    // at the socket), and every gRPC call and stream request settled typed: none was dropped unanswered.
    const stopped = JSON.parse(entry.output().split('\n').find((l) => l.includes('"event":"stopped"'))!) as { httpAccepted: number; httpAnswered: number };
    expect(stopped.httpAnswered).toBe(stopped.httpAccepted);
    const taken = outcomes.filter((o) => !('code' in o && o.status === 'socket'));
    expect(taken.length).toBe(2 + stopped.httpAccepted - warmups);
    await expectSettledOnce([...taken, ...stream.outcomes], [...taken.map((o) => o.n), ...stream.sent], refs);
    expect(['OK', 14]).toContain(ended);
  }, 120_000);
});
