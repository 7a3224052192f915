import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { models } from '../fixtures/models.js';
import { BIN, classifierConfig, liveHttp, startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/** The tests here run `epara serve` processes one after another (30 s was not enough at load 40): a hang guard. */
const SEQUENCE_TIMEOUT_MS = 120_000;

/*
 * `epara serve` as a stranger uses it: flags read from the usage, model paths that are not model files, ports
 * that collide, signals from a terminal or a supervisor. Each case is one clear line and an exit code, never a
 * stack trace or a hang.
 */

const ENV = { ...process.env, EPARA_TEST_PSK: 'test-psk-0123456789abcdef' };
const STACK = /\n\s+at /;

function run(args: readonly string[], cwd?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: ENV, timeout: 120_000, ...(cwd ? { cwd } : {}) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A config file in a fresh folder; returns its path. */
function configFile(text: string, name = 'epara.yaml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'epara-cli-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const withModel = (model: string): string => classifierConfig().replace(JSON.stringify(models.ocrCls), JSON.stringify(model));

/** Waits until `check` holds, asking again after each answer (each check is a request: no timer decides). */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('epara serve: the command line', { timeout: SEQUENCE_TIMEOUT_MS }, () => {
  it('prints its version with --version (and -v) and exits 0', () => {
    const { version } = JSON.parse(readFileSync(join(dirname(BIN), '..', 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const r = run([flag]);
      expect(r.status, flag).toBe(0);
      expect(r.stdout.trim()).toBe(`epara ${version}`);
    }
    // Beside the command too: `epara serve --version` is what a user types after `epara serve --help`.
    expect(run(['serve', '--version']).stdout.trim()).toBe(`epara ${version}`);
  });

  it('says in --help which signals drain', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--version/);
    expect(r.stdout).toMatch(/SIGTERM, SIGINT or SIGHUP drains/);
  });
});

describe('epara serve: model paths that are no model file', { timeout: SEQUENCE_TIMEOUT_MS }, () => {
  it('names a folder given as the model (a Triton-style repository) and the file inside it to use', () => {
    const repo = mkdtempSync(join(tmpdir(), 'epara-repo-'));
    mkdirSync(join(repo, 'cls', '1'), { recursive: true });
    writeFileSync(join(repo, 'cls', '1', 'model.onnx'), readFileSync(models.ocrCls));
    for (const args of [['serve', '--check'], ['serve']]) {
      const r = run([...args, configFile(withModel(join(repo, 'cls')))]);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr).toContain(`model ${join(repo, 'cls')} is a folder`);
      expect(r.stderr).toContain(join(repo, 'cls', '1', 'model.onnx'));
      expect(r.stderr).not.toMatch(STACK);
    }
  });

  it('refuses a file that is not ONNX, or empty, at --check and at start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'epara-notonnx-'));
    writeFileSync(join(dir, 'readme.onnx'), 'this is a text file, not a model\n');
    writeFileSync(join(dir, 'empty.onnx'), '');
    for (const model of [join(dir, 'readme.onnx'), join(dir, 'empty.onnx')]) {
      for (const args of [['serve', '--check'], ['serve']]) {
        const r = run([...args, configFile(withModel(model))]);
        expect(r.status, `${args.join(' ')} ${model}`).toBe(1);
        expect(r.stderr).toMatch(/^epara serve: service cls: cannot read model .*(not an ONNX model|has no graph)/m);
        expect(r.stderr).not.toMatch(STACK);
      }
    }
  });

  it('resolves a relative model path against the config file, not the working directory', () => {
    const file = configFile(withModel('./models/cls.onnx'));
    mkdirSync(join(dirname(file), 'models'));
    writeFileSync(join(dirname(file), 'models', 'cls.onnx'), readFileSync(models.ocrCls));
    const r = run(['serve', '--check', file], tmpdir());
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // Missing, it is named with the folder it was looked for in.
    const missing = run(['serve', '--check', configFile(withModel('./models/nope.onnx'))], tmpdir());
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/cannot read model \/.*\/models\/nope\.onnx: ENOENT/);
  });
});

describe('epara serve: surprising configs', { timeout: SEQUENCE_TIMEOUT_MS }, () => {
  it('refuses two devices with one id, naming the field', () => {
    const r = run(['serve', '--check', configFile(classifierConfig().replace('  - { id: cpu0, threads: 1 }\n', '  - { id: cpu0, threads: 1 }\n  - { id: cpu0, threads: 2 }\n'))]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/devices\[1\]\.id: device cpu0 is declared twice/);
    expect(r.stderr).not.toMatch(STACK);
  });

  it('refuses one port for HTTP and gRPC, and the same path for the dashboard and the metrics', () => {
    const same = classifierConfig().replace('http: { host: 127.0.0.1, port: 0 }', 'http: { host: 127.0.0.1, port: 18000 }').replace('grpc: { host: 127.0.0.1, port: 0 }', 'grpc: { host: 127.0.0.1, port: 18000 }');
    const r = run(['serve', '--check', configFile(same)]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/gateway\.grpc\.port: .*18000.*gateway\.http/);
    const paths = run(['serve', '--check', configFile(classifierConfig({ metrics: true, extra: 'dashboard: { path: /metrics }' }).replace('metrics: { enabled: true }\n', ''))]);
    expect(paths.status).toBe(1);
    expect(paths.stderr).toMatch(/dashboard\.path: .*\/metrics/);
    expect(`${r.stderr}${paths.stderr}`).not.toMatch(STACK);
  });

  it('names the mesh address when its port is taken, exits 1 and leaves no process behind', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const r = run(['serve', configFile(classifierConfig().replace('listen: { host: 127.0.0.1, port: 0 }', `listen: { host: 127.0.0.1, port: ${port} }`))]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^epara serve: .*127\\.0\\.0\\.1:${port}.*node\\.listen`, 'm'));
      expect(r.stderr).not.toMatch(STACK);
    } finally {
      taken.close();
    }
  }, 120_000);
});

describe("epara serve: seeds that never answer, and a peer with this node's id", { timeout: SEQUENCE_TIMEOUT_MS }, () => {
  it('says once joinTimeoutMs passed that no peer joined, then serves alone and drains on SIGTERM (before, nothing was said)', async () => {
    // A seed that accepts the connection and never answers (a firewall's tarpit, a wrong port on a busy host).
    const held: Socket[] = [];
    const tarpit = createServer((socket) => void held.push(socket.on('error', () => undefined)));
    await new Promise<void>((resolve) => tarpit.listen(0, '127.0.0.1', resolve));
    const seeded = (id: string, seed: string): string =>
      classifierConfig({ id }).replace('  listen: { host: 127.0.0.1, port: 0 }', `  listen: { host: 127.0.0.1, port: 0 }\n  seeds: [${seed}]\n  joinTimeoutMs: 300`);
    const alone = /"level":"warn".*no peer joined through node\.seeds/;
    const servers: ServeProcess[] = [];
    try {
      const a = await startServe(seeded('lone', `ws://127.0.0.1:${(tarpit.address() as AddressInfo).port}/epara`));
      servers.push(a);
      await until(async () => alone.test(a.output()));
      expect((await fetch(`${a.http}/v2/health/ready`)).status).toBe(200);
      const line = JSON.parse(a.output().split('\n').find((l) => alone.test(l))!) as { code: string; msg: string };
      expect(line.code).toBe('PEER_UNAVAILABLE');
      expect(line.msg).toContain('node.joinTimeoutMs (300 ms)');

      // A second server started with the first's id, seeded at it: the mesh took the link for a dial of itself and
      // dropped it, and the server waited in silence, never ready (its model is served by the first only).
      const mesh = (JSON.parse(a.output().split('\n').find((l) => l.includes('"event":"listening"'))!) as { mesh: string }).mesh;
      const b = await startServe(seeded('lone', mesh).replace('    devices: [cpu0]\n', '    devices: []\n'));
      servers.push(b);
      await until(async () => alone.test(b.output()));
      expect(b.output()).toMatch(/with this node's id \(lone\): each server needs its own node\.id/);

      a.child.kill('SIGTERM');
      expect(await a.exited).toBe(0);
    } finally {
      for (const p of servers) p.kill();
      for (const socket of held) socket.destroy();
      tarpit.close();
    }
  }, 120_000);
});

describe('epara serve: signals', { timeout: SEQUENCE_TIMEOUT_MS }, () => {
  it('drains on SIGHUP (a closed terminal) like SIGTERM and exits 0', async () => {
    const serve = await startServe(classifierConfig());
    try {
      expect((await fetch(`${serve.http}/v2/health/ready`)).status).toBe(200);
      serve.child.kill('SIGHUP');
      await expect(serve.exited).resolves.toBe(0);
      expect(serve.output()).toContain('"event":"draining","signal":"SIGHUP"');
      expect(serve.output()).toContain('"event":"stopped"');
    } finally {
      serve.kill();
    }
  }, 120_000);

  it('ends at once by a second signal while its models still load (it used to wait for every load), without a core dump', async () => {
    // A service on a free-size model probed on larger samples keeps the server loading; the gateway is live first.
    const dir = mkdtempSync(join(tmpdir(), 'epara-slowload-'));
    const file = join(dir, 'epara.yaml');
    const config = classifierConfig()
      .replace('  - id: cls\n', `  - id: rec\n    model: ${JSON.stringify(models.ocrRec)}\n    sensitivity: latency\n    slo: { kind: latency, deadlineMs: 5000 }\n    devices: [cpu0]\n    inputs:\n      x: { sampleDims: [1, 3, 48, 2048] }\n  - id: cls\n`);
    writeFileSync(file, config);
    const child = spawn(process.execPath, [BIN, 'serve', file], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(`${code ?? signal}`)));
    try {
      // The gateway is live (its signal handlers are set) before the models load; it is ready once they are.
      const http = await liveHttp(child, () => out);
      expect((await fetch(`${http}/v2/health/live`)).status).toBe(200);
      child.kill('SIGTERM');
      // Two signals sent back to back may arrive as one: the second goes once the first is acknowledged.
      await new Promise<void>((resolve) => {
        const check = (): void => (out.includes('SIGTERM while starting') || out.includes('"event":"draining"') ? resolve() : undefined);
        child.stderr.on('data', check);
        child.stdout.on('data', check);
        check();
      });
      child.kill('SIGTERM');
      // Once the server is up, the first signal drains and a second closes at once with 1; while it loads, the
      // second ends the process by that signal.
      expect(['1', 'SIGTERM']).toContain(await exited);
      expect(out).not.toMatch(STACK);
      expect(out).not.toMatch(/terminate called|Aborted|core dumped/);
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);
});
