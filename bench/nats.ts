/**
 * `pnpm bench:nats` — NATS as transport, offload path and view sync, measured beside the WebSocket mesh in
 * the same run (a local nats-server with JetStream: EPARA_NATS_URL, else one spawned here):
 *  1. transport echo round trip of a 100 KB frame: NATS transport vs WebSocket transport;
 *  2. offload overhead (p50 of a 100 KB request sent one hop minus p50 of the same request run locally on the
 *     same fake executor, 1 ms service time): NATS queue-group offloader, createNode over the NATS transport,
 *     createNode over WebSocket (the ring-mode baseline);
 *  3. view convergence: time for a change on one server to reach all 5 node views, nodes whose view comes
 *     from NATS KV (`viewSync`) vs ring nodes over WebSocket, both at the default 500 ms period (change made
 *     at a varying point of the period).
 * Last line: one JSON object.
 */
import { createFakeExecutor, createNode, createWebSocketTransport } from '@epara/mesh';
import { connectNats, createNatsOffloader, createNatsTransport, createNatsViewSync } from '@epara/mesh-nats';
import type { Connection, FakeExecutor, MeshNode, Transport } from '@epara/mesh';
import type { NamedTensors } from '@epara/core';
import { natsUnavailableReason, useNatsServer } from '../test/nats/nats-server.js';

const PSK = 'bench-psk-0123456789abcdef';
type Nc = Awaited<ReturnType<typeof connectNats>>;

const floats = (n: number): NamedTensors => ({ x: { type: 'float32', dims: [n], data: new Float32Array(n).fill(1.5) } });
const percentile = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
const round = (x: number): number => Math.round(x * 1000) / 1000;
const INPUT = floats(25_600); // 100 KB

async function waitFor(check: () => boolean, limitMs: number): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > limitMs) throw new Error('bench setup timed out');
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function timeSerial(run: () => Promise<unknown>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await run();
    out.push(ms(t0));
  }
  return out;
}

/** Interleaves local and remote measurements so machine noise hits both alike; returns p50s. */
async function compare(local: () => Promise<unknown>, remote: () => Promise<unknown>): Promise<{ local: number; remote: number; p99: number }> {
  await timeSerial(local, 30);
  await timeSerial(remote, 30);
  const l: number[] = [];
  const r: number[] = [];
  for (let k = 0; k < 5; k++) {
    l.push(...(await timeSerial(local, 40)));
    r.push(...(await timeSerial(remote, 40)));
  }
  return { local: percentile(l, 0.5), remote: percentile(r, 0.5), p99: percentile(r, 0.99) };
}

async function echoRtt(make: () => Transport): Promise<number> {
  const server = make();
  const client = make();
  server.on('connectionAccepted', ({ connection }) => connection.on('frameReceived', ({ frame }) => connection.send(frame)));
  const { address } = await server.listen();
  const conn: Connection = await client.connect(address);
  const frame = new Uint8Array(100 * 1024).fill(7);
  const once = (): Promise<void> =>
    new Promise((resolve) => {
      conn.once('frameReceived', () => resolve());
      conn.send(frame);
    });
  await timeSerial(once, 50);
  const times = await timeSerial(once, 300);
  await Promise.all([client.close(), server.close()]);
  return percentile(times, 0.5);
}

const executorFor = (tag: number, hosted: boolean): FakeExecutor =>
  createFakeExecutor({ services: { echo: { serviceTimeMs: 1, maxQueue: 100_000, deadlineMs: 10_000 } }, hosted: hosted ? ['echo'] : [], tag });

async function nodePair(transport: () => Transport): Promise<MeshNode[]> {
  const nodes: MeshNode[] = [];
  for (let i = 0; i < 2; i++) {
    const node = createNode({ id: `n${i}`, transport: transport(), executor: executorFor(i, i === 0), security: { psk: PSK }, seeds: i === 0 ? [] : [nodes[0]!.address!], placement: false });
    await node.start();
    nodes.push(node);
  }
  await waitFor(() => nodes.every((n) => (n.view().entries['n0']?.instances.length ?? 0) > 0 && n.view().entries['n1']?.alive === true), 20_000);
  return nodes;
}

async function nodeOverhead(label: string, transport: () => Transport): Promise<{ local: number; remote: number; overhead: number }> {
  const [host, origin] = await nodePair(transport);
  const submit = (n: MeshNode) => () => n.submit('echo', INPUT, { deadline: Date.now() + 10_000 });
  const r = await compare(submit(host!), submit(origin!));
  await Promise.all([host!.close(), origin!.close()]);
  console.log(`  ${label}: local p50 ${r.local.toFixed(3)} ms, offloaded p50 ${r.remote.toFixed(3)} ms (p99 ${r.p99.toFixed(3)}) → overhead ${(r.remote - r.local).toFixed(3)} ms`);
  return { ...r, overhead: r.remote - r.local };
}

async function queueGroupOverhead(url: string): Promise<{ local: number; remote: number; overhead: number }> {
  const [ncA, ncB] = await Promise.all([connectNats({ servers: url }), connectNats({ servers: url })]);
  const hostExec = executorFor(1, true);
  const a = createNatsOffloader({ connection: ncA, selfId: 'a', executor: executorFor(0, false), subjectPrefix: 'bench' });
  const b = createNatsOffloader({ connection: ncB, selfId: 'b', executor: hostExec, subjectPrefix: 'bench' });
  await b.serve(['echo']);
  const r = await compare(
    () => hostExec.submit('echo', INPUT, { deadline: Date.now() + 10_000 }),
    () => a.forward('echo', INPUT, { deadline: Date.now() + 10_000 }),
  );
  a.close();
  b.close();
  await Promise.all([ncA.close(), ncB.close()]);
  console.log(`  NATS queue group: local p50 ${r.local.toFixed(3)} ms, offloaded p50 ${r.remote.toFixed(3)} ms (p99 ${r.p99.toFixed(3)}) → overhead ${(r.remote - r.local).toFixed(3)} ms`);
  return { ...r, overhead: r.remote - r.local };
}

/** Runs 5 trials: load an instance on server 4 at a random point of the period; time until all 5 views show it. */
async function convergenceTrials(executor: FakeExecutor, views: (() => { entries: Readonly<Record<string, { instances: readonly { instanceId: string }[] }>> })[]): Promise<number[]> {
  const times: number[] = [];
  for (let trial = 0; trial < 5; trial++) {
    const id = `probe-${trial}`;
    await new Promise((r) => setTimeout(r, 100 + ((trial * 137) % 400)));
    const t0 = process.hrtime.bigint();
    await executor.load({ serviceId: 'echo' } as never, { instanceId: id });
    await waitFor(() => views.every((v) => v().entries['n4']?.instances.some((i) => i.instanceId === id) ?? false), 10_000);
    times.push(ms(t0));
  }
  return times;
}

async function kvConvergence(url: string): Promise<number> {
  // Five nodes whose view comes from NATS KV (createNode({ viewSync })), over the NATS transport.
  const conns: Nc[] = [];
  const nodes: MeshNode[] = [];
  const execs: FakeExecutor[] = [];
  const bucket = `bench${Date.now().toString(36)}`;
  for (let i = 0; i < 5; i++) {
    const nc = await connectNats({ servers: url });
    const executor = executorFor(i, false);
    const node = createNode({
      id: `n${i}`,
      transport: createNatsTransport({ connection: nc, name: `kv${i}` }),
      executor,
      security: { psk: PSK },
      placement: false,
      viewSync: (ctx) => createNatsViewSync({ ...ctx, connection: nc, bucket, periodMs: 500 }),
    });
    await node.start();
    conns.push(nc);
    nodes.push(node);
    execs.push(executor);
  }
  await waitFor(() => nodes.every((n) => Object.values(n.view().entries).filter((e) => e.alive).length === 5), 20_000);
  const times = await convergenceTrials(execs[4]!, nodes.map((n) => () => n.view()));
  await Promise.all(nodes.map((n) => n.close()));
  await Promise.all(conns.map((c) => c.close()));
  const p50 = percentile(times, 0.5);
  console.log(`  KV view sync:  p50 ${p50.toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms (${times.map((t) => t.toFixed(0)).join(', ')})`);
  return p50;
}

async function ringConvergence(): Promise<number> {
  const nodes: MeshNode[] = [];
  const execs: FakeExecutor[] = [];
  for (let i = 0; i < 5; i++) {
    const executor = executorFor(i, false);
    const node = createNode({ id: `n${i}`, transport: createWebSocketTransport({ host: '127.0.0.1', port: 0 }), executor, security: { psk: PSK }, seeds: i === 0 ? [] : [nodes[0]!.address!], placement: false, syncPeriodMs: 500 });
    await node.start();
    nodes.push(node);
    execs.push(executor);
  }
  await waitFor(() => nodes.every((n) => Object.values(n.view().entries).filter((e) => e.alive).length === 5), 20_000);
  const times = await convergenceTrials(execs[4]!, nodes.map((n) => () => n.view()));
  await Promise.all(nodes.map((n) => n.close()));
  const p50 = percentile(times, 0.5);
  console.log(`  ring (WS):     p50 ${p50.toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms (${times.map((t) => t.toFixed(0)).join(', ')})`);
  return p50;
}

async function main(): Promise<void> {
  const reason = natsUnavailableReason();
  if (reason !== undefined) throw new Error(reason);
  const server = await useNatsServer();
  const url = server.url;
  try {
    console.log('1. transport echo round trip, 100 KB frame (p50):');
    const rttNats = await echoRtt(() => createNatsTransport({ servers: url }));
    const rttWs = await echoRtt(() => createWebSocketTransport({ host: '127.0.0.1', port: 0 }));
    console.log(`  NATS ${rttNats.toFixed(3)} ms, WebSocket ${rttWs.toFixed(3)} ms → NATS/WS ${(rttNats / rttWs).toFixed(2)}×`);
    console.log('2. offload overhead, 100 KB input, 1 ms fake service time:');
    const qg = await queueGroupOverhead(url);
    const nodeNats = await nodeOverhead('node over NATS transport (ring mode)', () => createNatsTransport({ servers: url }));
    const nodeWs = await nodeOverhead('node over WebSocket (baseline)', () => createWebSocketTransport({ host: '127.0.0.1', port: 0 }));
    console.log('3. view convergence, 5 servers, 500 ms period:');
    const kv = await kvConvergence(url);
    const ring = await ringConvergence();
    console.log('');
    console.log(`offload overhead p50: queue group ${qg.overhead.toFixed(3)} ms = ${(qg.overhead / nodeWs.overhead).toFixed(2)}× the WebSocket ring's ${nodeWs.overhead.toFixed(3)} ms; node over NATS ${(nodeNats.overhead / nodeWs.overhead).toFixed(2)}×`);
    console.log(`view convergence p50: KV ${kv.toFixed(0)} ms = ${(kv / ring).toFixed(2)}× the ring's ${ring.toFixed(0)} ms`);
    console.log(
      JSON.stringify({
        offloadOverheadMsP50: round(qg.overhead),
        viewConvergenceMs5Nodes: round(kv),
        wsOffloadOverheadMsP50: round(nodeWs.overhead),
        natsTransportNodeOffloadOverheadMsP50: round(nodeNats.overhead),
        ringConvergenceMs5Nodes: round(ring),
        echoRtt100KbMsNats: round(rttNats),
        echoRtt100KbMsWs: round(rttWs),
      }),
    );
  } finally {
    await server.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
