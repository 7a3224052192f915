import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import { createFakeExecutor, createNode, createWebSocketTransport } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { aliveIds, ECHO, input, PSK, serverOf, until, watch } from './helpers.js';

/*
 * Faults in a running cluster of real processes on 127.0.0.1: peers stopped (SIGSTOP: the sockets stay open and
 * nothing answers), killed (SIGKILL) or restarted under the same id while requests are offloaded to them. The
 * node under test runs in this process and hosts nothing, so every request it takes goes to a peer. Every
 * submit must settle — the right answer or a typed error — by its deadline plus the response grace plus a
 * bound, and the view must converge afterwards.
 */

const PEER = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'echo-peer.mjs');
/** The node's default response grace (`responseGraceMs`) plus a generous bound for a loaded machine. */
const SETTLE_BOUND_MS = 1000 + 10_000;
const children: ChildProcess[] = [];
const nodes: MeshNode[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    c.kill('SIGCONT');
    c.kill('SIGKILL');
  }
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

async function startHub(): Promise<MeshNode> {
  const node = createNode({
    id: 'n0',
    transport: createWebSocketTransport({ host: '127.0.0.1', port: 0 }),
    executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 5 } }, hosted: [] }),
    security: { psk: PSK },
    services: [ECHO],
    syncPeriodMs: 100,
    syncAckTimeoutMs: 300,
    placement: false,
  });
  watch(node);
  nodes.push(node);
  await node.start();
  return node;
}

/** Starts a peer process hosting `echo` and resolves once it listens. */
function startPeer(id: string, seed: string, serviceTimeMs: number, later = false): Promise<ChildProcess> {
  const child = spawn(process.execPath, [PEER, id, seed, String(serviceTimeMs), PSK, later ? 'later' : ''], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('"address"')) resolve(child);
    });
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (code) => reject(new Error(`peer ${id} exited with ${code}: ${out}`)));
  });
}

const ready = (n: MeshNode, id: string): boolean => n.view().entries[id]?.alive === true && n.view().entries[id]!.instances.some((i) => i.status === 'ready');

/** Submits `count` requests; resolves with each one's outcome and how long after its deadline it settled. */
function submitAll(n: MeshNode, count: number, budgetMs: number): { offloaded: () => number; settled: Promise<{ value?: number; server?: number; code?: string; lateMs: number }[]> } {
  let offloaded = 0;
  const onOffloaded = (): void => void (offloaded += 1);
  n.on('requestOffloaded', onOffloaded);
  const settled = Promise.all(
    Array.from({ length: count }, (_, i) => {
      const deadline = Date.now() + budgetMs;
      return n.submit('echo', input([i]), { deadline }).then(
        (out) => ({ value: (out['x']!.data as Float32Array)[0]!, server: serverOf(out), lateMs: Date.now() - deadline }),
        (err: unknown) => ({ code: isEparaError(err) ? err.code : `untyped: ${String(err)}`, lateMs: Date.now() - deadline }),
      );
    }),
  ).finally(() => n.off('requestOffloaded', onOffloaded));
  return { offloaded: () => offloaded, settled };
}

const TYPED = ['DEADLINE_EXCEEDED', 'PEER_UNAVAILABLE', 'DEADLINE_INFEASIBLE', 'OVERLOADED', 'NO_INSTANCE', 'CLOSED', 'HOP_LIMIT'];

describe('faults in a cluster of real processes', () => {
  it('a peer that hangs (stopped, its sockets open) mid-offload: every submit settles typed, and it rejoins when it resumes', async () => {
    const n0 = await startHub();
    // A second per request: n1 still holds most of them when it stops, however loaded this machine is.
    const p1 = await startPeer('n1', n0.address!, 1000);
    await until(() => ready(n0, 'n1'), 'n0 sees the instance of n1');
    const run = submitAll(n0, 6, 8000);
    await until(() => run.offloaded() >= 6, 'all six offloaded to n1');
    p1.kill('SIGSTOP');
    const results = await run.settled;
    for (const r of results) {
      if (r.code !== undefined) expect(TYPED).toContain(r.code);
      else expect(r.server).toBe(1);
      expect(r.lateMs).toBeLessThan(SETTLE_BOUND_MS);
    }
    expect(results.some((r) => r.code !== undefined)).toBe(true);
    await until(() => n0.view().entries['n1']?.alive === false, 'n0 marks the hung n1 dead', 30_000);
    // While n1 hangs, a new request is refused at once (nobody else hosts echo), not left waiting.
    const refused = await n0.submit('echo', input([1]), { deadline: Date.now() + 2000 }).catch((e: unknown) => e);
    expect(isEparaError(refused) && TYPED.includes(refused.code)).toBe(true);
    p1.kill('SIGCONT');
    await until(() => ready(n0, 'n1'), 'n1 is back in the view of n0 after it resumes', 30_000);
    // n1 still works through the requests it held when it stopped (their senders gave up): a generous deadline.
    const out = await n0.submit('echo', input([21]), { deadline: Date.now() + 30_000 });
    expect((out['x']!.data as Float32Array)[0]).toBe(42);
  });

  it('a peer killed mid-offload: its requests are retried on the other peer or typed; the view drops it', async () => {
    const n0 = await startHub();
    // Only n1 hosts echo while the requests are sent, so every one goes there; n2 loads its instance before n1
    // dies. n1 takes a second per request, so it still holds most of them when it is killed.
    const p1 = await startPeer('n1', n0.address!, 1000);
    const p2 = await startPeer('n2', n0.address!, 20, true);
    await until(() => ready(n0, 'n1') && n0.view().entries['n2']?.alive === true, 'n0 sees the instance of n1, and n2');
    const run = submitAll(n0, 12, 20_000);
    await until(() => run.offloaded() >= 12, 'n1 holds the forwarded requests');
    p2.kill('SIGUSR2');
    await until(() => ready(n0, 'n2'), 'n0 sees the instance of n2');
    p1.kill('SIGKILL');
    const results = await run.settled;
    results.forEach((r, i) => {
      if (r.code !== undefined) expect(TYPED).toContain(r.code);
      else expect(r.value).toBe(2 * i);
      expect(r.lateMs).toBeLessThan(SETTLE_BOUND_MS);
    });
    expect(n0.stats().retried).toBeGreaterThan(0);
    await until(() => n0.view().entries['n1']?.alive === false && aliveIds(n0).join() === 'n0,n2', 'n0 sees n1 dead and n2 alive');
  });

  it('a peer restarted under the same id rejoins with a new epoch and serves again', async () => {
    const n0 = await startHub();
    const first = await startPeer('n1', n0.address!, 20);
    await until(() => ready(n0, 'n1'), 'n0 sees n1');
    const epoch = n0.view().entries['n1']!.epoch;
    const address = n0.view().entries['n1']!.address;
    first.kill('SIGKILL');
    await until(() => n0.view().entries['n1']?.alive === false, 'n0 sees n1 dead');
    await startPeer('n1', n0.address!, 20);
    await until(() => ready(n0, 'n1') && n0.view().entries['n1']!.epoch > epoch, 'n1 back with a newer epoch', 30_000);
    expect(n0.view().entries['n1']!.address).not.toBe(address);
    const out = await n0.submit('echo', input([4]), { deadline: Date.now() + 5000 });
    expect(serverOf(out)).toBe(1);
    expect((out['x']!.data as Float32Array)[0]).toBe(8);
  });
});
