import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { models } from '../fixtures/models.js';
import { startServe } from './serve-process.js';
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
});
