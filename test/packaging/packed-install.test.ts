/*
 * The packages as a user installs them: every workspace package is packed (`pnpm pack`, which rewrites
 * `workspace:*` to versions), installed into a scratch project outside the workspace (from the local store,
 * offline: the same files the registry serves), and used from there — imported from ESM, required from
 * CommonJS, typechecked under strict options with `skipLibCheck: false`, bundled with esbuild and run with a
 * real inference. Nothing here reads the workspace's sources.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { models } from '../fixtures/models.js';

const root = join(import.meta.dirname, '..', '..');
const packageDirs = readdirSync(join(root, 'packages')).filter((d) => !readFileSync(join(root, 'packages', d, 'package.json'), 'utf8').includes('"private": true'));
const names = packageDirs.map((d) => (JSON.parse(readFileSync(join(root, 'packages', d, 'package.json'), 'utf8')) as { name: string }).name);
const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
const runtimeManifest = JSON.parse(readFileSync(join(root, 'packages', 'runtime', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

let scratch = '';

function run(cmd: string, args: readonly string[], cwd = scratch): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
}

/** {@link run} without blocking: commands that may run side by side (packing, the two compilers). */
async function runAsync(cmd: string, args: readonly string[], cwd = scratch): Promise<string> {
  return (await promisify(execFile)(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } })).stdout;
}

/** The compiler's errors for a project in the scratch host, or '' when it compiles. */
async function tscErrors(project: string): Promise<string> {
  try {
    await runAsync(join(scratch, 'node_modules', '.bin', 'tsc'), ['-p', project]);
    return '';
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? err);
  }
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'epara-host-'));
  // Each package packed at once (each is its own process, mostly waiting on the file system).
  const packed = await Promise.all(packageDirs.map(async (dir) => (await runAsync('pnpm', ['pack', '--pack-destination', scratch], join(root, 'packages', dir))).trim().split('\n').pop()!));
  const tarballs = new Map(packed.map((out, i) => [names[i]!, `file:${out.startsWith('/') ? out : join(scratch, out)}`]));
  // The host's compiler is TypeScript 7 (the repository's typecheck compiler, `typescript7`), installed as `typescript`.
  const tools = { typescript: 'typescript7', '@types/node': '@types/node', esbuild: 'esbuild' };
  writeFileSync(
    join(scratch, 'package.json'),
    // A bundling host installs onnxruntime-node itself: a native module stays outside any bundle.
    JSON.stringify({ name: 'scratch-host', private: true, type: 'module', dependencies: { ...Object.fromEntries(tarballs), 'onnxruntime-node': runtimeManifest.dependencies['onnxruntime-node'] }, devDependencies: Object.fromEntries(Object.entries(tools).map(([name, from]) => [name, rootManifest.devDependencies[from]!])) }),
  );
  // The packed packages name each other by version; point those names at the tarballs too.
  const overrides = [...tarballs].map(([name, spec]) => `  '${name}': '${spec}'`).join('\n');
  writeFileSync(join(scratch, 'pnpm-workspace.yaml'), `overrides:\n${overrides}\nallowBuilds:\n  onnxruntime-node: false\n  esbuild: false\n  protobufjs: false\n`);
  // Prefer the local store (the workspace's install filled it); fetch from the registry only what it lacks.
  run('pnpm', ['install', '--prefer-offline']);
  for (const file of ['host.ts', 'nats-host.ts']) copyFileSync(join(import.meta.dirname, 'host', file), join(scratch, file));
}, 240_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('the packed packages, installed outside the workspace', () => {
  it('each tarball ships a README, a LICENSE, its description, repository and engines', () => {
    for (const name of names) {
      const dir = join(scratch, 'node_modules', ...name.split('/'));
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
      expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain(name);
      expect(readFileSync(join(dir, 'LICENSE'), 'utf8')).toContain('MIT License');
      expect(manifest).toMatchObject({ description: expect.any(String), repository: expect.anything(), engines: { node: expect.any(String) } });
      expect(JSON.stringify(manifest)).not.toContain('workspace:');
    }
  });

  it('imports every entry point from ESM and requires it from CommonJS', () => {
    const entries = names.flatMap((name) => {
      const manifest = JSON.parse(readFileSync(join(scratch, 'node_modules', ...name.split('/'), 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
      return Object.keys(manifest.exports).map((sub) => (sub === '.' ? name : `${name}/${sub.slice(2)}`));
    });
    // The testing subpath needs the host's vitest (an optional peer); the scratch host has none.
    const loadable = entries.filter((e) => !e.endsWith('/testing'));
    writeFileSync(join(scratch, 'esm.mjs'), `for (const e of ${JSON.stringify(loadable)}) { const m = await import(e); if (Object.keys(m).length === 0) throw new Error(e + ' exports nothing'); }\nconsole.log('esm ok');\n`);
    writeFileSync(join(scratch, 'cjs.cjs'), `for (const e of ${JSON.stringify(loadable)}) { const m = require(e); if (Object.keys(m).length === 0) throw new Error(e + ' exports nothing'); }\nconsole.log('cjs ok');\n`);
    expect(run('node', ['esm.mjs']).trim()).toBe('esm ok');
    expect(run('node', ['--no-warnings', 'cjs.cjs']).trim()).toBe('cjs ok');
  });

  // The `epara` command bundles its dependencies and loads the rest from where it is installed: the runtime's device
  // worker, the dashboard (its page's assets beside its module), @grpc/proto-loader at a first gRPC call.
  it('serves with the installed epara command: a model on its worker, the dashboard, then drains on SIGTERM', async () => {
    expect(run(join(scratch, 'node_modules', '.bin', 'epara'), ['--version']).trim()).toMatch(/^epara \d+\.\d+\.\d+/);
    writeFileSync(
      join(scratch, 'epara.yaml'),
      `node: { id: packed, listen: { host: 127.0.0.1, port: 0 } }
security: { insecure: true }
devices: [ { id: cpu0, threads: 1 } ]
executor: { profiling: { warmup: 0, repetitions: 1, warmShapesMs: 0 } }
services:
  - { id: cls, model: ${JSON.stringify(models.ocrCls)}, sensitivity: latency, slo: { kind: latency, deadlineMs: 30000 }, devices: [cpu0], inputs: { x: { dims: [1, 3, 48, 192] } } }
gateway: { http: { host: 127.0.0.1, port: 0 }, grpc: { host: 127.0.0.1, port: 0 } }
dashboard: { enabled: true }
`,
    );
    const child = spawn(join(scratch, 'node_modules', '.bin', 'epara'), ['serve', 'epara.yaml'], { cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const listening = await new Promise<{ http: string }>((resolve, reject) => {
        child.stdout.on('data', () => {
          const line = out.split('\n').find((l) => l.includes('"event":"listening"'));
          if (line) resolve(JSON.parse(line) as { http: string });
        });
        void exited.then((code) => reject(new Error(`epara serve exited with ${code}:\n${out}`)));
      });
      const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data: new Array(3 * 48 * 192).fill(0.5) }] };
      const res = await fetch(`${listening.http}/v2/models/cls/infer`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      expect(res.status, out).toBe(200);
      expect((await res.json()) as unknown).toMatchObject({ outputs: [{ name: 'softmax_0.tmp_0', shape: [1, 2] }] });
      const page = await fetch(`${listening.http}/dashboard`);
      expect(page.status, out).toBe(200);
      expect(await page.text()).toMatch(/<html/i);
      child.kill('SIGTERM');
      expect(await exited, out).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);

  // The two compilers and the bundle run side by side (each a process of its own; `it.concurrent`).
  it.concurrent('typechecks a host under strict, exactOptionalPropertyTypes and skipLibCheck: false', async ({ expect }) => {
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true, skipLibCheck: false, noEmit: true, types: ['node'],
        },
        files: ['host.ts'],
      }),
    );
    expect(await tscErrors('tsconfig.json')).toBe('');
  }, 120_000);

  it.concurrent('typechecks a NATS host under strict and skipLibCheck: false', async ({ expect }) => {
    writeFileSync(
      join(scratch, 'tsconfig.nats.json'),
      JSON.stringify({
        // Every declaration file is checked, ours and the dependencies'; TypeScript's own lib files (lib.dom.d.ts and
        // the rest: a third of this program's CPU) are checked by the host's program, under stricter options.
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, skipDefaultLibCheck: true, noEmit: true, types: ['node'] },
        files: ['nats-host.ts'],
      }),
    );
    expect(await tscErrors('tsconfig.nats.json')).toBe('');
  }, 120_000);

  it.concurrent('bundles the host with esbuild and runs a real inference from the bundle', async ({ expect }) => {
    await runAsync(join(scratch, 'node_modules', '.bin', 'esbuild'), [
      'host.ts', '--bundle', '--platform=node', '--format=esm', '--outfile=out/host.mjs',
      // Native and optional modules stay outside the bundle, as with any host that bundles onnxruntime.
      '--external:onnxruntime-node', '--external:prom-client', '--external:@nats-io/*', '--external:vitest',
      "--banner:js=import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    ]);
    copyFileSync(join(scratch, 'node_modules', '@epara', 'runtime', 'dist', 'device-worker.js'), join(scratch, 'out', 'device-worker.js'));
    const result = JSON.parse((await runAsync('node', ['out/host.mjs', models.ocrCls])).trim().split('\n').pop()!) as Record<string, unknown>;
    expect(result).toMatchObject({ category: { sensitivity: 'latency' }, dims: [1, 2], nodeDims: [1, 2], frame: 'ping', rejected: 'CLOSED', simulate: 'function' });
  }, 120_000);
});
