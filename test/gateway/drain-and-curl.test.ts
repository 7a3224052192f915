import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { classifierConfig, clsInput, startServe } from './serve-process.js';

const here = dirname(fileURLToPath(import.meta.url));
const hasCurl = spawnSync('curl', ['--version']).status === 0;

describe('epara serve from the outside', () => {
  it.skipIf(!hasCurl)('passes the curl smoke script', async () => {
    const serve = await startServe(classifierConfig({ id: 'edge-curl' }));
    try {
      const r = spawnSync('bash', [join(here, 'curl-smoke.sh'), serve.http], { encoding: 'utf8', timeout: 60_000 });
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('all curl checks passed');
      expect(r.status).toBe(0);
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
  }, 120_000);

  it('drains on SIGTERM during load: not ready at once, every request completes or gets a retryable status, exit 0', async () => {
    const serve = await startServe(classifierConfig({ id: 'edge-drain', drainTimeoutMs: 10_000 }));
    const input = clsInput(0.4);
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], parameters: { binary_data_size: input.byteLength } }] }));
    const body = Buffer.concat([header, Buffer.from(input.buffer)]);
    const outcomes: string[] = [];
    // The signal comes once the load is really flowing: after the 30th successful answer.
    let served = 0;
    let loadRunning!: () => void;
    const flowing = new Promise<void>((resolve) => (loadRunning = resolve));
    // A server that dies first fails the checks below (no answer before the signal) instead of a silent wait.
    void serve.exited.then(() => loadRunning());
    let stop = false;
    let sentAfterSignal = 0;
    let signalled = false;
    const one = async (): Promise<void> => {
      try {
        const res = await fetch(`${serve.http}/v2/models/cls/infer`, { method: 'POST', body, headers: { 'inference-header-content-length': String(header.length) } });
        await res.arrayBuffer();
        // 503 is temporary by definition (HTTP semantics); a 429 must say when to come back.
        const retryable = res.status === 503 || (res.status === 429 && res.headers.get('retry-after') !== null);
        outcomes.push(res.status === 200 ? 'ok' : retryable ? 'retryable' : `lost:${res.status}`);
        if (res.status === 200 && ++served === 30) loadRunning();
      } catch (err) {
        // No response at all: the connection was refused or reset. Whether the server had taken that request in is
        // checked below against its own count of accepted and answered requests.
        outcomes.push(`socket:${((err as { cause?: { code?: string } }).cause?.code ?? String(err)) as string}`);
      }
    };
    const worker = async (): Promise<void> => {
      while (!stop) {
        if (signalled) sentAfterSignal++;
        await one();
      }
    };
    const workers = Array.from({ length: 6 }, worker);
    await flowing;
    const okBefore = outcomes.filter((o) => o === 'ok').length;
    signalled = true;
    serve.child.kill('SIGTERM');
    // Health turns not-ready while the process drains (or the listener is already gone).
    await serve.untilOutput('"event":"draining"');
    const ready = await fetch(`${serve.http}/v2/health/ready`).then((r) => r.status, () => 'refused');
    const code = await serve.exited;
    stop = true;
    await Promise.all(workers);
    const lost = outcomes.filter((o) => o.startsWith('lost'));
    const responded = outcomes.filter((o) => o === 'ok' || o === 'retryable').length;
    const stopped = JSON.parse(serve.output().split('\n').find((l) => l.includes('"event":"stopped"')) ?? '{}') as { httpAccepted?: number; httpAnswered?: number };
    expect(okBefore).toBeGreaterThan(0);
    expect(sentAfterSignal).toBeGreaterThan(0);
    expect([503, 'refused']).toContain(ready);
    expect(lost).toEqual([]);
    // Every request the server took in was answered, and the client received each answer: a request that failed
    // at the socket never reached the gateway, so retrying it elsewhere is safe.
    expect(stopped.httpAnswered).toBe(stopped.httpAccepted);
    expect(responded).toBeGreaterThanOrEqual(stopped.httpAccepted ?? Number.NaN);
    expect(code).toBe(0);
    expect(serve.output()).toContain('"event":"stopped"');
  }, 120_000);
});
