import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { models } from '../fixtures/models.js';
import { BIN, liveHttp, startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/*
 * `epara serve` used to run its node and executor with the silent logger: a peer with the wrong PSK, a seed
 * that never answers, a service that runs unbatched, all went unsaid. It now writes JSON lines on stderr.
 */

const dir = mkdtempSync(join(tmpdir(), 'epara-logs-'));
const running: ServeProcess[] = [];

function config(id: string, pskFile: string, o: { seeds?: string[]; level?: string } = {}): string {
  return `node: { id: ${id}, listen: { host: 127.0.0.1, port: 0 }, seeds: ${JSON.stringify(o.seeds ?? [])}, joinTimeoutMs: 500 }
security: { psk: { file: ${JSON.stringify(pskFile)} } }
devices: [ { id: cpu0, threads: 1 } ]
services:
  - { id: cls, model: ${JSON.stringify(models.ocrCls)}, sensitivity: latency, slo: { kind: latency, deadlineMs: 500 }, devices: [], inputs: { x: { dims: [1, 3, 48, 192] } } }
gateway: { http: { host: 127.0.0.1, port: 0 }, grpc: false }
metrics: { enabled: false }
${o.level ? `log: { level: ${o.level} }` : ''}
`;
}

/** Resolves once the process printed a line matching `re` (the test's timeout is the hang guard). */
async function until(p: ServeProcess, re: RegExp): Promise<string> {
  for (;;) {
    const line = p.output().split('\n').find((l) => re.test(l));
    if (line !== undefined) return line;
    await new Promise<void>((resolve) => p.child.stderr!.once('data', () => resolve()));
  }
}

afterAll(async () => {
  for (const p of running) p.child.kill('SIGKILL');
  await Promise.all(running.map((p) => p.exited));
});

describe('epara serve logs', () => {
  it('says on both sides that a peer failed authentication (wrong PSK), as JSON lines on stderr', async () => {
    const good = join(dir, 'good.psk');
    const bad = join(dir, 'bad.psk');
    writeFileSync(good, 'good-psk-0123456789abcdef');
    writeFileSync(bad, 'bad-psk-0123456789abcdef!!');
    const a = await startServe(config('log-a', good));
    running.push(a);
    const mesh = JSON.parse(a.output().split('\n').find((l) => l.includes('"event":"listening"'))!).mesh as string;
    const b = await startServe(config('log-b', bad, { seeds: [mesh] }));
    running.push(b);
    for (const p of [a, b]) {
      const line = await until(p, /peer handshake failed/);
      expect(JSON.parse(line)).toMatchObject({ level: 'warn', code: 'UNAUTHENTICATED' });
    }
    // stdout still carries only the event lines scripts read.
    expect(a.output().split('\n').find((l) => l.includes('"event":"listening"'))).toBeDefined();
  }, 90_000);

  it('is quiet with log.level silent', async () => {
    const psk = join(dir, 'quiet.psk');
    writeFileSync(psk, 'quiet-psk-0123456789abcdef');
    const q = await startServe(config('log-q', psk, { level: 'silent' }));
    running.push(q);
    expect(q.output().trim().split('\n').filter((l) => l.includes('"level"'))).toEqual([]);
  }, 90_000);

  it('writes every stderr line of a run as JSON with a time and a level, signals while the models load included', async () => {
    // A model profiled on a wide sample keeps the server loading while the signal arrives (its gateway is live first).
    const psk = join(dir, 'json.psk');
    writeFileSync(psk, 'json-psk-0123456789abcdef');
    const file = join(dir, 'json.yaml');
    writeFileSync(
      file,
      config('log-j', psk)
        .replace('services:\n', `services:\n  - { id: rec, model: ${JSON.stringify(models.ocrRec)}, sensitivity: latency, slo: { kind: latency, deadlineMs: 5000 }, devices: [cpu0], inputs: { x: { sampleDims: [1, 3, 48, 2048] } } }\n`),
    );
    const child = spawn(process.execPath, [BIN, 'serve', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      const http = await liveHttp(child, () => stdout);
      expect((await fetch(`${http}/v2/health/live`)).status).toBe(200);
      child.kill('SIGTERM');
      // A second signal once the first is said ends it now (at once while loading; once up, the drain closes).
      while (!/SIGTERM while starting|"event":"draining"/.test(`${stderr}${stdout}`)) await new Promise((resolve) => setTimeout(resolve, 50));
      child.kill('SIGTERM');
      await exited;
    } finally {
      child.kill('SIGKILL');
    }
    const lines = stderr.split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      let parsed: unknown;
      expect(() => (parsed = JSON.parse(line)), line).not.toThrow();
      expect(parsed, line).toMatchObject({ time: expect.any(String), level: expect.stringMatching(/^(debug|info|warn|error)$/), msg: expect.any(String) });
    }
    // The signal is said either way: while the models load (a log line), or as the drain's event (stdout).
    expect(`${stderr}${stdout}`).toMatch(/SIGTERM while starting|"event":"draining","signal":"SIGTERM"/);
  }, 120_000);
});
