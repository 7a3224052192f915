import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { models } from '../fixtures/models.js';
import { BIN, startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/** The tests here run `epara serve` processes one after another (30 s was not enough at load 40): a hang guard. */
const SEQUENCE_TIMEOUT_MS = 120_000;

/*
 * The mesh's key (PSK) and the dashboard's token as an operator gets them wrong: a variable not exported, a key
 * shorter than 16 bytes, a file path relative to the config's folder that is not there, a folder, a device file,
 * a key file of raw random bytes. `epara serve --check` used to pass every one of them (only the start failed,
 * or did not); and a raw binary key was read as UTF-8 text, so two different keys could authenticate each other.
 */

const STACK = /\n\s+at /;
const running: ServeProcess[] = [];

function config(o: { security: string; id?: string; seeds?: readonly string[]; devices?: readonly string[]; extra?: string }): string {
  return `node: { id: ${o.id ?? 'sec-a'}, listen: { host: 127.0.0.1, port: 0 }, seeds: ${JSON.stringify(o.seeds ?? [])}, joinTimeoutMs: 60000, syncPeriodMs: 200 }
security: ${o.security}
devices: [ { id: cpu0, threads: 1 } ]
executor: { profiling: { warmup: 0, repetitions: 1, warmShapesMs: 0 } }
services:
  - { id: cls, model: ${JSON.stringify(models.ocrCls)}, sensitivity: latency, slo: { kind: latency, deadlineMs: 1000 }, devices: ${JSON.stringify(o.devices ?? [])}, inputs: { x: { dims: [1, 3, 48, 192] } } }
gateway: { http: { host: 127.0.0.1, port: 0 }, grpc: false }
metrics: { enabled: false }
${o.extra ?? ''}
`;
}

/** Writes `text` as epara.yaml in a fresh folder (with `files` beside it); returns its path. */
function configFile(text: string, files: Record<string, string | Buffer> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'epara-secrets-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  const file = join(dir, 'epara.yaml');
  writeFileSync(file, text);
  return file;
}

function check(file: string, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EPARA_SECRETS_')));
  const r = spawnSync(process.execPath, [BIN, 'serve', '--check', file], { encoding: 'utf8', env: { ...clean, ...env }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

afterAll(async () => {
  for (const p of running) p.kill();
  await Promise.all(running.map((p) => p.exited));
});

describe('epara serve --check: the mesh key and the dashboard token', { timeout: SEQUENCE_TIMEOUT_MS }, () => {
  const good = 'a-good-key-0123456789abcdef';

  it('passes a key from a variable or from a file beside the config (a relative path)', () => {
    expect(check(configFile(config({ security: '{ psk: { env: EPARA_SECRETS_PSK } }' })), { EPARA_SECRETS_PSK: good })).toMatchObject({ status: 0, stderr: '' });
    const relative = configFile(config({ security: '{ psk: { file: ./keys/psk.txt } }' }));
    mkdirSync(join(relative, '..', 'keys'));
    writeFileSync(join(relative, '..', 'keys', 'psk.txt'), `${good}\n`);
    expect(check(relative)).toMatchObject({ status: 0, stderr: '' });
  });

  it.each([
    ['a variable that is not set', '{ psk: { env: EPARA_SECRETS_PSK } }', {}, {}, /^epara serve: security\.psk\.env: environment variable EPARA_SECRETS_PSK is not set/m],
    ['a variable set empty', '{ psk: { env: EPARA_SECRETS_PSK } }', { EPARA_SECRETS_PSK: '' }, {}, /^epara serve: security\.psk\.env: environment variable EPARA_SECRETS_PSK is empty/m],
    ['a key of 8 bytes in a variable', '{ psk: { env: EPARA_SECRETS_PSK } }', { EPARA_SECRETS_PSK: 'short123' }, {}, /^epara serve: security\.psk\.env: the key in EPARA_SECRETS_PSK is 8 bytes: at least 16/m],
    ['a missing file (relative to the config)', '{ psk: { file: ./nope.psk } }', {}, {}, /^epara serve: security\.psk\.file: cannot read \/.*\/nope\.psk: ENOENT/m],
    ['a folder', '{ psk: { file: . } }', {}, {}, /^epara serve: security\.psk\.file: cannot read \/.*: EISDIR/m],
    ['an empty file', '{ psk: { file: ./empty.psk } }', {}, { 'empty.psk': '\n' }, /^epara serve: security\.psk\.file: the key in \/.*\/empty\.psk is 0 bytes: at least 16/m],
    ['a key of 10 bytes in a file', '{ psk: { file: ./short.psk } }', {}, { 'short.psk': '0123456789\n' }, /^epara serve: security\.psk\.file: the key in \/.*\/short\.psk is 10 bytes: at least 16/m],
    ['a TLS certificate that is not there', `{ psk: { env: EPARA_SECRETS_PSK }, tls: { cert: ./node.crt } }`, { EPARA_SECRETS_PSK: good }, {}, /^epara serve: security\.tls\.cert: cannot read \/.*\/node\.crt: ENOENT/m],
  ])('refuses %s, naming the field, exit 1 and no stack trace', (_what, security, env: Record<string, string>, files: Record<string, string>, message) => {
    const r = check(configFile(config({ security }), files), env);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.status).toBe(1);
  });

  it('refuses a device file as the key (it read /dev/zero until memory ran out) at --check and at start', () => {
    const file = configFile(config({ security: '{ psk: { file: /dev/zero } }' }));
    const r = check(file);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^epara serve: security\.psk\.file: \/dev\/zero is longer than .*: not a key file/m);
    const start = spawnSync(process.execPath, [BIN, 'serve', file], { encoding: 'utf8', timeout: 120_000 });
    expect(start.status).toBe(1);
    expect(start.stderr).toMatch(/security\.psk\.file: \/dev\/zero is longer than/);
  });

  it('refuses a dashboard token variable that is unset or short on a node with a key', () => {
    const file = configFile(config({ security: '{ psk: { env: EPARA_SECRETS_PSK } }', extra: 'dashboard: { tokenEnv: EPARA_SECRETS_TOKEN }' }));
    const envs: Record<string, string>[] = [{ EPARA_SECRETS_PSK: good }, { EPARA_SECRETS_PSK: good, EPARA_SECRETS_TOKEN: 'tiny' }];
    for (const env of envs) {
      const r = check(file, env);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^epara serve: dashboard\.tokenEnv: environment variable EPARA_SECRETS_TOKEN must hold a token of at least 16 characters/m);
    }
    expect(check(file, { EPARA_SECRETS_PSK: good, EPARA_SECRETS_TOKEN: 'a-dashboard-token-0123' }).status).toBe(0);
  });

  it('names every problem at once, not only the first', () => {
    const r = check(configFile(config({ security: '{ psk: { env: EPARA_SECRETS_PSK }, tls: { key: ./node.key } }', extra: 'dashboard: { tokenEnv: EPARA_SECRETS_TOKEN }' })));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/security\.psk\.env/);
    expect(r.stderr).toMatch(/security\.tls\.key/);
    expect(r.stderr).toMatch(/dashboard\.tokenEnv/);
  });
});

describe('epara serve: a key file of raw bytes', { timeout: SEQUENCE_TIMEOUT_MS }, () => {
  it('uses the bytes as they are: two different binary keys do not authenticate each other, one key does', async () => {
    // `openssl rand 32 > psk` (no -hex): bytes that are no UTF-8. Read as text, each invalid byte became U+FFFD,
    // so these two keys, different in every byte, were the same key.
    const keyA = Buffer.alloc(32, 0xff);
    const keyB = Buffer.alloc(32, 0xfe);
    const a = await startServe(config({ id: 'bin-a', devices: ['cpu0'], security: `{ psk: { file: ${JSON.stringify(mkdtempFile('a.psk', keyA))} } }` }));
    running.push(a);
    const mesh = (JSON.parse(a.output().split('\n').find((l) => l.includes('"event":"listening"'))!) as { mesh: string }).mesh;
    const b = await startServe(config({ id: 'bin-b', security: `{ psk: { file: ${JSON.stringify(mkdtempFile('b.psk', keyB))} } }`, seeds: [mesh] }));
    running.push(b);
    await until(() => /peer handshake failed/.test(b.output()));
    const line = b.output().split('\n').find((l) => l.includes('peer handshake failed'))!;
    expect(JSON.parse(line)).toMatchObject({ level: 'warn', code: 'UNAUTHENTICATED' });
    expect((await fetch(`${b.http}/v2/health/ready`)).status).toBe(503);

    // The same raw key on both sides (one file with a trailing newline, which is not part of the key) joins: the
    // model loaded at bin-a is then ready through bin-c.
    const c = await startServe(config({ id: 'bin-c', security: `{ psk: { file: ${JSON.stringify(mkdtempFile('c.psk', Buffer.concat([keyA, Buffer.from('\n')])))} } }`, seeds: [mesh] }));
    running.push(c);
    await untilReady(c);
    expect((await fetch(`${c.http}/v2/health/ready`)).status).toBe(200);
  }, 180_000);
});

describe('epara serve: one key from a variable on one node and from a file on another', { timeout: SEQUENCE_TIMEOUT_MS }, () => {
  it('drops one trailing line ending from both (a variable kept it, and the two nodes refused each other)', async () => {
    // A variable filled from a secret store or an env file keeps the newline `echo key > psk` wrote; the file's
    // newline was dropped, so the variable's key was one byte longer and the handshake failed on both sides.
    const key = 'one-key-0123456789abcdef';
    process.env['EPARA_SECRETS_NL'] = `${key}\r\n`;
    const a = await startServe(config({ id: 'env-a', devices: ['cpu0'], security: '{ psk: { env: EPARA_SECRETS_NL } }' })).finally(() => delete process.env['EPARA_SECRETS_NL']);
    running.push(a);
    const mesh = (JSON.parse(a.output().split('\n').find((l) => l.includes('"event":"listening"'))!) as { mesh: string }).mesh;
    const b = await startServe(config({ id: 'file-b', security: `{ psk: { file: ${JSON.stringify(mkdtempFile('b.psk', Buffer.from(`${key}\n`)))} } }`, seeds: [mesh] }));
    running.push(b);
    // Ready (a peer seen: joinTimeoutMs is long) or refused, whichever comes first: a refusal fails at once.
    const refused = (): boolean => /handshake failed/.test(`${a.output()}${b.output()}`);
    while (!refused() && (await fetch(`${b.http}/v2/health/ready`)).status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(`${a.output()}${b.output()}`).not.toMatch(/handshake failed/);
  }, 180_000);
});

function mkdtempFile(name: string, content: Buffer): string {
  const file = join(mkdtempSync(join(tmpdir(), 'epara-key-')), name);
  writeFileSync(file, content);
  return file;
}

/** Resolves once `ok()` holds, asked again every 100 ms (the test's timeout is the hang guard). */
async function until(ok: () => boolean): Promise<void> {
  while (!ok()) await new Promise((resolve) => setTimeout(resolve, 100));
}

/** Asks /v2/health/ready again after each answer until it is 200 (joinTimeoutMs is long: only a peer makes it ready). */
async function untilReady(p: ServeProcess): Promise<void> {
  while ((await fetch(`${p.http}/v2/health/ready`)).status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
}
