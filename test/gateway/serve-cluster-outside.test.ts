import { afterAll, describe, expect, it } from 'vitest';
import { models } from '../fixtures/models.js';
import { clsInput, startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/*
 * Two `epara serve` processes form a mesh from their configs (seeds, a shared PSK): the entry node has no
 * device for the model and offloads every request to the node that has one. That node is killed with SIGKILL
 * while clients submit at the entry: every request settles (200, or a typed, retryable error), the entry keeps
 * answering, and once the node is started again it rejoins and the entry serves through it again.
 */

const running: ServeProcess[] = [];

/** A member's config: every listener on port 0 (a port picked free beforehand may be taken before it binds), seeding the `seeds` mesh addresses its peers said. */
function config(id: string, seeds: readonly string[], devices: readonly string[]): string {
  return `node:
  id: ${id}
  listen: { host: 127.0.0.1, port: 0 }
  seeds: ${JSON.stringify(seeds)}
  joinTimeoutMs: 60000
  syncPeriodMs: 200
security:
  psk: { env: EPARA_TEST_PSK }
devices:
  - { id: cpu0, threads: 1 }
executor: { profiling: { warmup: 0, repetitions: 1, warmShapesMs: 0 } }
services:
  - id: cls
    model: ${JSON.stringify(models.ocrCls)}
    sensitivity: latency
    slo: { kind: latency, deadlineMs: 20000 }
    devices: ${JSON.stringify(devices)}
    inputs:
      x: { dims: [1, 3, 48, 192] }
gateway:
  http: { host: 127.0.0.1, port: 0 }
  grpc: false
metrics: { enabled: true }
drainTimeoutMs: 2000
`;
}

const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data: Array.from(clsInput(0.5)) }] });

/** One infer request at `http`: its status and error code (none on a 200). */
async function infer(http: string): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${http}/v2/models/cls/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const json = (await res.json()) as { code?: string };
  return { status: res.status, ...(res.status !== 200 ? { code: json.code } : {}) };
}

/** Asks again after each answer until `check` holds (the test's timeout is the hang guard). */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check().catch(() => false))) await new Promise((resolve) => setTimeout(resolve, 100));
}

afterAll(async () => {
  for (const p of running) p.kill();
  await Promise.all(running.map((p) => p.exited));
});

describe('epara serve: a two-node mesh from configs, one node killed and restarted', () => {
  it('keeps the entry answering, settles every request typed, and serves again after the restart', async () => {
    const start = async (text: string): Promise<ServeProcess> => {
      const p = await startServe(text, 120_000);
      running.push(p);
      return p;
    };
    let worker = await start(config('worker', [], ['cpu0']));
    const entry = await start(config('entry', [worker.mesh], []));
    // The entry is ready once it has seen its peer; the model is then served through it (offloaded).
    await until(async () => (await fetch(`${entry.http}/v2/health/ready`)).status === 200);
    await until(async () => (await infer(entry.http)).status === 200);

    // Clients keep submitting at the entry while the worker dies.
    let stop = false;
    const outcomes: { status: number; code?: string }[] = [];
    const client = async (): Promise<void> => {
      while (!stop) outcomes.push(await infer(entry.http));
    };
    const clients = [client(), client(), client()];
    await until(async () => outcomes.length >= 3);
    worker.kill();
    await worker.exited;
    // The entry finds the worker gone: a request then answers at once with a typed, retryable refusal.
    await until(async () => (await infer(entry.http)).code === 'NO_INSTANCE');
    stop = true;
    await Promise.all(clients);
    for (const o of outcomes) {
      if (o.status === 200) continue;
      expect(o.status).toBe(503);
      expect(['NO_INSTANCE', 'PEER_UNAVAILABLE', 'CLOSED', 'OVERLOADED', 'DEADLINE_INFEASIBLE']).toContain(o.code);
    }
    expect((await fetch(`${entry.http}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${entry.http}/metrics`)).status).toBe(200);

    // Started again (on a port of its own: the entry learns its new address from it), the worker rejoins through
    // the entry and the entry serves through it again.
    worker = await start(config('worker', [entry.mesh], ['cpu0']));
    await until(async () => (await infer(entry.http)).status === 200);
    expect((await fetch(`${worker.http}/v2/health/ready`)).status).toBe(200);

    entry.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    await expect(entry.exited).resolves.toBe(0);
    await expect(worker.exited).resolves.toBe(0);
  }, 300_000);
});

describe('epara serve: a three-node mesh, its workers frozen (SIGSTOP) under load', () => {
  it('retries on the other worker while one is frozen, and settles every request typed once both are, never hanging', async () => {
    const start = async (text: string): Promise<ServeProcess> => {
      const p = await startServe(text, 120_000);
      running.push(p);
      return p;
    };
    // A short deadline: a request whose worker froze settles by it at the latest.
    const short = (text: string): string => text.replace('deadlineMs: 20000', 'deadlineMs: 4000');
    const a = await start(short(config('worker-a', [], ['cpu0'])));
    const b = await start(short(config('worker-b', [a.mesh], ['cpu0'])));
    const entry = await start(short(config('entry3', [a.mesh, b.mesh], [])));
    await until(async () => (await infer(entry.http)).status === 200);

    let stop = false;
    const outcomes: { status: number; code?: string }[] = [];
    const client = async (): Promise<void> => {
      while (!stop) outcomes.push(await infer(entry.http));
    };
    const clients = [client(), client(), client()];
    try {
      await until(async () => outcomes.length >= 3);
      // One worker frozen: a process that holds its sockets open and answers nothing (a stalled VM, a debugger).
      a.child.kill('SIGSTOP');
      const frozenAt = outcomes.length;
      // The entry keeps serving through the other worker.
      await until(async () => outcomes.slice(frozenAt).filter((o) => o.status === 200).length >= 5);
      // Both frozen: every request still settles, typed.
      b.child.kill('SIGSTOP');
      const bothAt = outcomes.length;
      await until(async () => outcomes.length >= bothAt + 6);
      stop = true;
      await Promise.all(clients);
      for (const o of outcomes) {
        if (o.status === 200) continue;
        expect([503, 504]).toContain(o.status);
        expect(['NO_INSTANCE', 'PEER_UNAVAILABLE', 'CLOSED', 'OVERLOADED', 'DEADLINE_INFEASIBLE', 'DEADLINE_EXCEEDED']).toContain(o.code);
      }
      expect((await fetch(`${entry.http}/v2/health/live`)).status).toBe(200);
    } finally {
      stop = true;
      for (const p of [a, b]) p.child.kill('SIGCONT');
    }
    // Thawed, the workers answer again and every process drains on SIGTERM with 0.
    await until(async () => (await infer(entry.http)).status === 200);
    for (const p of [entry, a, b]) p.child.kill('SIGTERM');
    for (const p of [entry, a, b]) await expect(p.exited).resolves.toBe(0);
  }, 300_000);
});

