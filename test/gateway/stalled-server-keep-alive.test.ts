import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGraphBuilder } from '@epara/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelFilesConfig, startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/*
 * An `epara serve` process stalled (SIGSTOP: a paused VM, a host swapping) for longer than the HTTP keep-alive timeout
 * (5 s, and the 1 s node:http adds) while clients keep sending requests on their kept-alive connections, then resumed
 * (SIGCONT). Once resumed, a process runs its due timers before it reads what arrived meanwhile: node:http's
 * keep-alive timer destroyed an idle connection on which a client had already sent its next request, and that request
 * was reset (ECONNRESET) instead of answered. Every request must be answered.
 */

let serve: ServeProcess;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'epara-stalled-'));
  const g = createGraphBuilder({ name: 'neg' });
  g.input('x', 'float32', ['b', 2]);
  g.node('Neg', ['x'], ['y']);
  g.output('y', 'float32', ['b', 2]);
  writeFileSync(join(dir, 'neg.onnx'), g.toBytes());
  serve = await startServe(modelFilesConfig('stalled-1', { neg: join(dir, 'neg.onnx') }, 'log: { level: error }\n'), 120_000);
}, 150_000);
afterAll(async () => {
  serve?.child.kill('SIGCONT');
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

/** One infer request (fetch's pooled keep-alive connections): the status and the answer, or the connection's error. */
async function infer(value: number): Promise<string> {
  const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [value, 1] }] });
  try {
    const res = await fetch(`${serve.http}/v2/models/neg/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const json = (await res.json()) as { outputs?: { data: number[] }[] };
    return `${res.status} ${JSON.stringify(json.outputs?.[0]?.data)}`;
  } catch (err) {
    return `error ${String((err as { cause?: { code?: string } }).cause?.code ?? err)}`;
  }
}

describe('a server stalled past the keep-alive timeout while clients send on their kept-alive connections', () => {
  it('answers every request once it runs again', async () => {
    const outcomes: { sent: number; got: string }[] = [];
    let stop = false;
    let next = 1;
    const client = async (): Promise<void> => {
      while (!stop) {
        const sent = next++;
        outcomes.push({ sent, got: await infer(sent) });
      }
    };
    const clients = [client(), client()];
    try {
      while (outcomes.length < 4) await new Promise((resolve) => setTimeout(resolve, 20));
      serve.child.kill('SIGSTOP');
      // Longer than node:http's keep-alive timeout: its timers are due when the server runs again.
      await new Promise((resolve) => setTimeout(resolve, 6500));
    } finally {
      serve.child.kill('SIGCONT');
    }
    const thawed = outcomes.length;
    while (outcomes.length < thawed + 6) await new Promise((resolve) => setTimeout(resolve, 20));
    stop = true;
    await Promise.all(clients);
    expect(outcomes.filter((o) => o.got !== `200 [${-o.sent},-1]`)).toEqual([]);
  }, 60_000);
});
