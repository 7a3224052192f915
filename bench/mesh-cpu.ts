/**
 * `tsx bench/mesh-cpu.ts` — the CPU a mesh node's main thread spends per request it serves: one node (this
 * process) takes bursts of submits, half of a service it hosts (run locally on the fake executor, 1 ms) and half
 * of a service only its peer hosts (offloaded over loopback WebSocket with PSK authentication to a peer in
 * a child process). Reports this process's user+system CPU µs per request over the measured window (the fake
 * executor's own cost included: the same in every build). `MESH_DIST=<path to a built @epara/mesh index.js>` runs
 * another build (A/B in one session); `--cpu-prof` on the node command line profiles the window's process.
 * Options: `BURST` requests per burst (default 8), `BURSTS` measured (default 1000), `IDLE` idle servers in the
 * peer's process that only fill the view (default 0). Last line: one JSON object.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { NamedTensors } from '@epara/core';

type Mesh = typeof import('@epara/mesh');
const PSK = 'bench-psk-0123456789abcdef';
const mesh = (await import(process.env['MESH_DIST'] ?? '@epara/mesh')) as Mesh;

const input = (i: number): NamedTensors => ({ x: { type: 'float32', dims: [1, 64], data: new Float32Array(64).fill(i) } });

function executor(hosted: string[]): ReturnType<Mesh['createFakeExecutor']> {
  const svc = { serviceTimeMs: 1, batchSize: 8, maxQueue: 100_000, deadlineMs: 10_000 };
  return mesh.createFakeExecutor({ services: { near: svc, far: svc }, hosted, tag: 0 });
}

function node(id: string, hosted: string[], seeds: string[]): ReturnType<Mesh['createNode']> {
  return mesh.createNode({
    id,
    transport: mesh.createWebSocketTransport({ host: '127.0.0.1', port: 0 }),
    executor: executor(hosted),
    security: { psk: PSK },
    seeds,
    placement: false,
  });
}

async function peerMain(): Promise<void> {
  const p = node('p', ['far'], []);
  await p.start();
  // Idle servers that only fill the view (a cluster's size, not its load).
  const idle = Array.from({ length: Number(process.env['IDLE'] ?? 0) }, (_, i) => node(`q${i}`, [], [p.address!]));
  await Promise.all(idle.map((n) => n.start()));
  process.send!({ address: p.address });
  process.on('message', () => void Promise.all([p, ...idle].map((n) => n.close())).then(() => process.exit(0)));
}

async function waitFor(check: () => boolean): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > 30_000) throw new Error('bench setup timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function main(): Promise<void> {
  const burstSize = Number(process.env['BURST'] ?? 8);
  const bursts = Number(process.env['BURSTS'] ?? 1000);
  const child = fork(fileURLToPath(import.meta.url), ['--peer'], { execArgv: ['--import', 'tsx'], env: process.env });
  const { address } = await new Promise<{ address: string }>((r) => child.once('message', r as never));
  const a = node('a', ['near'], [address]);
  await a.start();
  const servers = 2 + Number(process.env['IDLE'] ?? 0);
  await waitFor(() => a.view().entries['p']?.instances.some((i) => i.serviceId === 'far' && i.status === 'ready') === true && Object.values(a.view().entries).filter((e) => e.alive).length === servers);

  // A closed loop: a burst of requests (half local, half offloaded), all settled before the next. The same work
  // whatever the machine's speed, so two builds compare on CPU per request, not on what rate a loaded machine let
  // a timer reach.
  let failed = 0;
  let sent = 0;
  const burst = async (): Promise<void> => {
    const all: Promise<unknown>[] = [];
    for (let k = 0; k < burstSize / 2; k++) {
      for (const service of ['near', 'far']) all.push(a.submit(service, input(sent++), { deadline: Date.now() + 5000 }).catch(() => void failed++));
    }
    await Promise.all(all);
  };
  // Warm-up: the JIT, the links, the executor's estimates.
  for (let i = 0; i < bursts / 4; i++) await burst();
  const from = sent;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < bursts; i++) await burst();
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  const count = sent - from;
  const stats = a.stats();
  const out = {
    build: process.env['MESH_DIST'] ?? 'current',
    requests: count,
    ratePerSec: Math.round(count / (wallMs / 1000)),
    cpuUsPerRequest: Math.round((cpu.user + cpu.system) / count),
    userUsPerRequest: Math.round(cpu.user / count),
    ranLocally: stats.ranLocally,
    offloaded: stats.offloaded,
    failed,
  };
  child.send({ cmd: 'exit' });
  await a.close();
  console.log(JSON.stringify(out));
}

await (process.argv.includes('--peer') ? peerMain() : main());
