/**
 * `pnpm bench:mesh` — figures of the mesh over loopback WebSocket with PSK authentication:
 *  1. offload overhead: p50 latency of a 100 KB request offloaded one hop minus the p50 of the same request
 *     run locally on the same executor (fake executor, fixed 1 ms service time) — aim ≤ 1 ms. The serving
 *     node runs in a child process (two servers, two event loops), and a raw round trip of the same frames
 *     over the same transport is measured beside it (the floor no node can beat);
 *  2. sustained forwards/s: one node forwarding small requests to the peer process with 64 in flight;
 *  3. ring-sync bytes per server per period (5 nodes, idle steady state and under changing load);
 *  4. convergence: time for a change on one node to reach all 5 views at the default 500 ms period;
 *  5. false deaths: one idle member of a 5-node cluster runs in a child process that is frozen (SIGSTOP)
 *     past the ack wait — once below the suspicion time, once past it so every peer marks it dead — then
 *     resumed (SIGCONT); time until every view has it alive again, against the two-period bound;
 *  6. view completeness under sync loss: share of 10 ms samples at which all 5 views hold all 5 servers
 *     alive, with 10% and 50% of ring messages dropped (no loss: 100%, the baseline), plus false peer-left
 *     events and `NO_INSTANCE` rejections while instances were up at 50%.
 * Last line: one JSON object with the figures.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode, createWebSocketTransport } from '@epara/mesh';
import type { FakeExecutor, MeshNode, NodeOptions } from '@epara/mesh';
import type { NamedTensors } from '@epara/core';

const PSK = 'bench-psk-0123456789abcdef';

interface Member {
  readonly node: MeshNode;
  readonly executor: FakeExecutor;
}

async function cluster(size: number, opts: { hosted: number[]; serviceTimeMs: number; batchSize?: number; node?: Partial<NodeOptions> }): Promise<Member[]> {
  const out: Member[] = [];
  for (let i = 0; i < size; i++) {
    const executor = createFakeExecutor({
      services: { echo: { serviceTimeMs: opts.serviceTimeMs, batchSize: opts.batchSize ?? 1, maxQueue: 100_000, deadlineMs: 10_000 } },
      hosted: opts.hosted.includes(i) ? ['echo'] : [],
      tag: i,
    });
    const node = createNode({
      id: `n${i}`,
      transport: createWebSocketTransport({ host: '127.0.0.1', port: 0 }),
      executor,
      security: { psk: PSK },
      seeds: i === 0 ? [] : [out[0]!.node.address!],
      placement: false,
      ...opts.node,
    });
    await node.start();
    out.push({ node, executor });
  }
  await waitFor(() => out.every((m) => Object.values(m.node.view().entries).filter((e) => e.alive).length === size), 20_000);
  await waitFor(() => out.every((m) => opts.hosted.every((h) => m.node.view().entries[`n${h}`]!.instances.length > 0)), 20_000);
  return out;
}

async function waitFor(check: () => boolean, ms: number): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error('bench setup timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

const floats = (n: number): NamedTensors => ({ x: { type: 'float32', dims: [n], data: new Float32Array(n).fill(1.5) } });
const percentile = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

async function timeSerial(node: MeshNode, input: NamedTensors, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await node.submit('echo', input, { deadline: Date.now() + 10_000 });
    out.push(ms(t0));
  }
  return out;
}

/** The serving peer: a node hosting `echo` (fake executor, 1 ms per batch) in its own process. */
async function peerMain(): Promise<void> {
  const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 1, batchSize: 256, maxQueue: 100_000, deadlineMs: 10_000 } }, hosted: ['echo'] });
  const node = createNode({ id: 'n0', transport: createWebSocketTransport({ host: '127.0.0.1', port: 0 }), executor, security: { psk: PSK }, placement: false });
  await node.start();
  // The floor: the same bytes over a bare connection of the same transport, answered after the same executor
  // wait — no node, no protocol, no authentication.
  const raw = createWebSocketTransport({ host: '127.0.0.1', port: 0 });
  const tiny = floats(1);
  raw.on('connectionAccepted', ({ connection }) =>
    // No handshake on the floor link: lift the transport's pre-authentication byte limit by hand.
    (connection.markAuthenticated?.(), connection).on('frameReceived', ({ frame }) => {
      const reply = frame.slice();
      void executor.submit('echo', tiny).then(() => connection.send(reply));
    }),
  );
  const { address: rawAddress } = await raw.listen();
  process.send!({ address: node.address, rawAddress });
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'local') void timeSerial(node, floats(25_600), 300).then((xs) => process.send!({ local: xs }));
    if (m.cmd === 'exit') void node.close().then(() => process.exit(0));
  });
}

interface Peer {
  readonly child: ChildProcess;
  readonly address: string;
  readonly rawAddress: string;
  ask<T>(cmd: string): Promise<T>;
}

async function startPeer(): Promise<Peer> {
  const child = fork(fileURLToPath(import.meta.url), ['--peer'], { execArgv: ['--import', 'tsx'] });
  const first = await new Promise<{ address: string; rawAddress: string }>((r) => child.once('message', r as never));
  return { child, ...first, ask: <T>(cmd: string) => new Promise<T>((r) => (child.once('message', r as never), child.send({ cmd }))) };
}

async function client(peer: Peer): Promise<MeshNode> {
  const node = createNode({
    id: 'n1',
    transport: createWebSocketTransport({ host: '127.0.0.1', port: 0 }),
    executor: createFakeExecutor({ services: {} }),
    security: { psk: PSK },
    seeds: [peer.address],
    placement: false,
  });
  await node.start();
  await waitFor(() => node.view().entries['n0']?.instances.some((i) => i.status === 'ready') === true, 20_000);
  return node;
}

async function rawRoundTrip(peer: Peer, bytes: number, n: number): Promise<number[]> {
  const conn = await createWebSocketTransport().connect(peer.rawAddress);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise<void>((r) => (conn.once('frameReceived', () => r()), conn.send(new Uint8Array(bytes))));
    out.push(ms(t0));
  }
  conn.close();
  return out;
}

async function offloadOverhead(peer: Peer, node: MeshNode): Promise<{ local: number; offload: number; overhead: number; raw: number }> {
  const input = floats(25_600); // 100 KB
  await timeSerial(node, input, 100);
  const remote = await timeSerial(node, input, 300);
  const { local } = await peer.ask<{ local: number[] }>('local');
  await rawRoundTrip(peer, 102_400 + 64, 50);
  const raw = percentile(await rawRoundTrip(peer, 102_400 + 64, 300), 0.5);
  const l = percentile(local, 0.5);
  const o = percentile(remote, 0.5);
  console.log(`offload, 100 KB input: local p50 ${l.toFixed(3)} ms, offloaded p50 ${o.toFixed(3)} ms (p99 ${percentile(remote, 0.99).toFixed(3)} ms)`);
  console.log(`  floor: the same bytes over a bare WebSocket connection + the same executor wait (no node, protocol, PSK): p50 ${raw.toFixed(3)} ms`);
  return { local: l, offload: o, overhead: o - l, raw };
}

/** The same offload over the in-memory transport: what the node and the protocol cost without sockets. */
async function memoryOverhead(): Promise<number> {
  const hub = createMemoryHub();
  const make = async (id: string, hosted: string[], seeds: string[]): Promise<MeshNode> => {
    const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 1, deadlineMs: 10_000 } }, hosted });
    const node = createNode({ id, transport: createMemoryTransport({ hub, address: id }), executor, security: { psk: PSK }, seeds, placement: false });
    await node.start();
    return node;
  };
  const server = await make('m0', ['echo'], []);
  const edge = await make('m1', [], ['m0']);
  await waitFor(() => edge.view().entries['m0']?.instances.length === 1, 20_000);
  const input = floats(25_600);
  await timeSerial(server, input, 50);
  await timeSerial(edge, input, 50);
  const local = percentile(await timeSerial(server, input, 300), 0.5);
  const remote = percentile(await timeSerial(edge, input, 300), 0.5);
  await Promise.all([edge.close(), server.close()]);
  console.log(`  same offload over the in-memory transport (node + protocol, no sockets): +${(remote - local).toFixed(3)} ms p50`);
  return remote - local;
}

async function forwardsPerSec(node: MeshNode): Promise<number> {
  const input = floats(16);
  const run = async (durationMs: number): Promise<number> => {
    let done = 0;
    const end = Date.now() + durationMs;
    const worker = async (): Promise<void> => {
      while (Date.now() < end) {
        await node.submit('echo', input, { deadline: Date.now() + 10_000 });
        done++;
      }
    };
    const t0 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: 64 }, worker));
    return done / (ms(t0) / 1000);
  };
  await run(300);
  const rate = await run(2000);
  console.log(`sustained forwards: ${rate.toFixed(0)}/s over loopback WebSocket (64 in flight, ${node.stats().offloaded} forwarded in total)`);
  return rate;
}

async function syncBytes(): Promise<{ idle: number; busy: number }> {
  const periodMs = 100;
  const c = await cluster(5, { hosted: [0, 1, 2, 3, 4], serviceTimeMs: 1, node: { syncPeriodMs: periodMs } });
  const measure = async (windowMs: number, load: boolean): Promise<number> => {
    const before = c.map((m) => m.node.stats().syncBytesSent);
    const end = Date.now() + windowMs;
    // Under load every server's waits and arrival rates change, so entries travel in full more often.
    while (Date.now() < end) {
      if (load) await Promise.all(c.map((m) => m.node.submit('echo', floats(4), { deadline: Date.now() + 10_000 })));
      else await new Promise((r) => setTimeout(r, 20));
    }
    const bytes = c.map((m, i) => m.node.stats().syncBytesSent - before[i]!);
    return bytes.reduce((a, b) => a + b, 0) / c.length / (windowMs / periodMs);
  };
  await measure(500, false);
  const idle = await measure(2000, false);
  const busy = await measure(2000, true);
  await Promise.all(c.map((m) => m.node.close()));
  console.log(`ring sync, 5 servers: ${idle.toFixed(0)} B per server per period idle, ${busy.toFixed(0)} B under changing load`);
  return { idle, busy };
}

async function convergence(): Promise<number> {
  const c = await cluster(5, { hosted: [], serviceTimeMs: 1, node: { syncPeriodMs: 500 } });
  const times: number[] = [];
  for (let trial = 0; trial < 5; trial++) {
    const id = `probe-${trial}`;
    // Wait a random part of a period so the change lands anywhere in the ring's cycle.
    await new Promise((r) => setTimeout(r, 100 + ((trial * 137) % 400)));
    const t0 = process.hrtime.bigint();
    await c[4]!.executor.load({ serviceId: 'echo' } as never, { instanceId: id });
    await waitFor(() => c.every((m) => m.node.view().entries['n4']!.instances.some((i) => i.instanceId === id)), 10_000);
    times.push(ms(t0));
  }
  await Promise.all(c.map((m) => m.node.close()));
  const p50 = percentile(times, 0.5);
  console.log(`convergence, 5 servers, 500 ms period: p50 ${p50.toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms (${times.map((t) => t.toFixed(0)).join(', ')})`);
  return p50;
}

/** A ring member in its own process (so it can be frozen with SIGSTOP): idle, default sync settings. */
async function memberMain(): Promise<void> {
  const [id, seed] = process.argv.slice(process.argv.indexOf('--member') + 1);
  const node = createNode({ id: id!, transport: createWebSocketTransport({ host: '127.0.0.1', port: 0 }), executor: createFakeExecutor({ services: {} }), security: { psk: PSK }, seeds: [seed!], placement: false });
  await node.start();
  process.send!({ address: node.address });
  process.on('message', (m: { cmd: string }) => m.cmd === 'exit' && void node.close().then(() => process.exit(0)));
}

const aliveEverywhere = (nodes: MeshNode[], id: string): boolean => nodes.every((n) => n.view().entries[id]?.alive === true);

async function falseDeath(): Promise<{ shortFreezeDeaths: number; recoveryMs: number; longFreezeDeaths: number }> {
  const periodMs = 500;
  const inProc: MeshNode[] = [];
  const make = async (id: string): Promise<void> => {
    const node = createNode({ id, transport: createWebSocketTransport({ host: '127.0.0.1', port: 0 }), executor: createFakeExecutor({ services: {} }), security: { psk: PSK }, seeds: inProc.length ? [inProc[0]!.address!] : [], placement: false, syncPeriodMs: periodMs });
    await node.start();
    inProc.push(node);
  };
  await make('n0');
  await make('n1');
  const child = fork(fileURLToPath(import.meta.url), ['--member', 'n2', inProc[0]!.address!], { execArgv: ['--import', 'tsx'] });
  await new Promise((r) => child.once('message', r));
  await make('n3');
  await make('n4');
  await waitFor(() => inProc.every((n) => Object.values(n.view().entries).filter((e) => e.alive).length === 5), 20_000);
  let deaths = 0;
  for (const n of inProc) n.on('peerLeft', (e) => void (e.serverId === 'n2' && deaths++));
  const freeze = async (ms: number): Promise<void> => {
    child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, ms));
    child.kill('SIGCONT');
  };
  // 1.5 s: past the ack wait (2 × 250 ms), below the suspicion time (1.5 s counted from its last stamp).
  await freeze(1500);
  await new Promise((r) => setTimeout(r, 3 * periodMs));
  const shortFreezeDeaths = deaths;
  deaths = 0;
  await freeze(3500);
  const longFreezeDeaths = deaths;
  const t0 = process.hrtime.bigint();
  await waitFor(() => aliveEverywhere(inProc, 'n2'), 30_000);
  const recoveryMs = ms(t0);
  child.send({ cmd: 'exit' });
  await Promise.all(inProc.map((n) => n.close()));
  console.log(`false death: a 1.5 s freeze caused ${shortFreezeDeaths} peer-left events; a 3.5 s freeze ${longFreezeDeaths} (of 4 peers), and the resumed node was back in every view ${recoveryMs.toFixed(0)} ms after SIGCONT (bound: 2 periods = ${2 * periodMs} ms)`);
  return { shortFreezeDeaths, recoveryMs, longFreezeDeaths };
}

async function lossyViews(loss: number, windowMs: number): Promise<{ complete: number; peerLeft: number; noInstance: number; submits: number }> {
  const c = await cluster(5, { hosted: [3, 4], serviceTimeMs: 1, node: { syncFaults: { lossProbability: loss } } });
  let peerLeft = 0;
  for (const m of c) m.node.on('peerLeft', () => peerLeft++);
  let complete = 0;
  let samples = 0;
  let noInstance = 0;
  let submits = 0;
  const end = Date.now() + windowMs;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 10));
    samples++;
    if (c.every((m) => Object.values(m.node.view().entries).filter((e) => e.alive).length === 5)) complete++;
    // Light traffic from a node without the service: instances on n3 and n4 are up the whole time.
    submits++;
    c[samples % 3]!.node.submit('echo', floats(4), { deadline: Date.now() + 1000 }).catch((err: { code?: string }) => void (err.code === 'NO_INSTANCE' && noInstance++));
  }
  await new Promise((r) => setTimeout(r, 200));
  await Promise.all(c.map((m) => m.node.close()));
  const fraction = complete / samples;
  console.log(`${(loss * 100).toFixed(0)}% sync loss, 5 idle servers: views complete ${(fraction * 100).toFixed(1)}% of ${samples} samples, ${peerLeft} peer-left events, ${noInstance}/${submits} submits NO_INSTANCE (instances up on n3, n4)`);
  return { complete: fraction, peerLeft, noInstance, submits };
}

async function main(): Promise<void> {
  const peer = await startPeer();
  const node = await client(peer);
  const o = await offloadOverhead(peer, node);
  const mem = await memoryOverhead();
  const f = await forwardsPerSec(node);
  await node.close();
  peer.child.send({ cmd: 'exit' });
  const s = await syncBytes();
  const conv = await convergence();
  const fd = await falseDeath();
  const clean = await lossyViews(0, 5000);
  const l10 = await lossyViews(0.1, 20_000);
  const l50 = await lossyViews(0.5, 20_000);
  console.log('');
  console.log(`offload overhead p50 ${o.overhead.toFixed(3)} ms vs aim 1 ms: ${(o.overhead / 1).toFixed(2)}× the aim; offloaded/local p50 ratio ${(o.offload / o.local).toFixed(2)}`);
  const transport = o.raw - o.local;
  console.log(`  the bare transport round trip accounts for ${transport.toFixed(3)} ms (${((100 * transport) / Math.max(1e-9, o.overhead)).toFixed(0)}%); node, protocol and PSK link add ${(o.offload - o.raw).toFixed(3)} ms (node + protocol alone, in memory: ${mem.toFixed(3)} ms)`);
  console.log(`sync: ${s.idle.toFixed(0)} B/server/period idle (design aim: hundreds of bytes per server), ${(s.busy / Math.max(1, s.idle)).toFixed(2)}× that under load`);
  console.log(`convergence ${conv.toFixed(0)} ms = ${(conv / 500).toFixed(2)} sync periods (bound: one period + one rotation)`);
  console.log(`false-death recovery ${fd.recoveryMs.toFixed(0)} ms = ${(fd.recoveryMs / 500).toFixed(2)} sync periods (bound: 2)`);
  console.log(`complete views: ${(clean.complete * 100).toFixed(1)}% without loss (baseline), ${(l10.complete * 100).toFixed(1)}% at 10% loss (aim ≥ 99%), ${(l50.complete * 100).toFixed(1)}% at 50%`);
  console.log(
    JSON.stringify({
      offloadOverheadMsP50: round(o.overhead),
      floorRoundTripMsP50: round(o.raw),
      memoryTransportOverheadMsP50: round(mem),
      forwardsPerSec: Math.round(f),
      syncBytesPerServer: Math.round(s.idle),
      syncBytesPerServerUnderLoad: Math.round(s.busy),
      convergenceMs5Nodes: round(conv),
      falseDeathRecoveryMs: round(fd.recoveryMs),
      falseDeathsAfter1500msFreeze: fd.shortFreezeDeaths,
      viewCompleteFractionNoLoss: round(clean.complete),
      viewCompleteFractionAt10PctLoss: round(l10.complete),
      viewCompleteFractionAt50PctLoss: round(l50.complete),
      peerLeftEventsAt50PctLoss: l50.peerLeft,
      noInstanceFractionAt50PctLoss: round(l50.noInstance / Math.max(1, l50.submits)),
    }),
  );
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

const child = process.argv.includes('--peer') || process.argv.includes('--member');
const run = process.argv.includes('--peer') ? peerMain : process.argv.includes('--member') ? memberMain : main;
run().then(
  () => child || process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
