import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EparaError } from '@epara/core';
import { buildSync } from 'esbuild';
import type { CallMessage, ChildMessage } from './child-rpc.js';

/** One child process of the demo (a node, the network, or a client), with calls over its IPC channel. */
export interface Child {
  readonly name: string;
  readonly pid: number;
  call<T>(op: string, arg?: unknown): Promise<T>;
  readonly process: ChildProcess;
}

/** Events of {@link ChildGroup}. */
interface GroupEvents {
  /** A child ended while the demo still needed it (a crash, a kill from outside). */
  crashed: [{ name: string; pid: number; code: number | null; signal: NodeJS.Signals | null }];
  /** A child reported an event (`emitToParent`). */
  event: [{ child: string; name: string; value: unknown }];
}

/**
 * `EPARA_DEMO_CPU_PROF=<dir>` writes a V8 CPU profile of every child process into `dir` when it exits (Node
 * refuses `--cpu-prof` in `NODE_OPTIONS`): how the per-item CPU of the nodes is read.
 */
function profilerFlags(): string[] {
  const dir = process.env.EPARA_DEMO_CPU_PROF;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/**
 * Node flags for some children: `EPARA_DEMO_CHILD_FLAGS='<name>:<flags>;…'` (`*` for every child), e.g.
 * `edge-0:--cpu-prof --cpu-prof-dir=/tmp/prof` profiles one EPARA node for its whole life, under a trial's load,
 * beside nine unprofiled processes. Flags are split on spaces.
 */
export function childFlags(spec: string | undefined, name: string): string[] {
  if (!spec) return [];
  return spec.split(';').flatMap((entry) => {
    const at = entry.indexOf(':');
    if (at < 0) return [];
    const who = entry.slice(0, at).trim();
    return who === name || who === '*' ? entry.slice(at + 1).trim().split(/\s+/).filter(Boolean) : [];
  });
}

/** `EPARA_DEMO_SOURCE_MAPS=1` keeps Node's source-mapped stack traces in the children (see `child-rpc.ts`). */
const sourceMaps = (): boolean => process.env.EPARA_DEMO_SOURCE_MAPS === '1';

/**
 * The children's code, bundled once per group: every `*-process.ts` beside this file becomes one ES module in a
 * fresh folder under `examples/demo/.tmp/` (ignored by git), which the children run with plain `node`. Through
 * tsx each child spent 0.8–2.8 s of CPU transforming its modules at start-up, and the demo starts ten children
 * per run. Only the demo's own files are bundled: `@epara/*` and every other package are imported at run time
 * from `node_modules` — the packages' built `dist`, which `pnpm demo` builds first (the runtime's device worker
 * always ran from `dist`). `EPARA_DEMO_CHILDREN=tsx` forks the `.ts` files through tsx as before (the packages'
 * sources then, through the repository's `tsconfig.json` paths).
 */
class ChildBundle {
  #dir: string | undefined;
  #removeOnExit = (): void => this.remove();

  /** The file to fork for `module` (a `*-process.ts` beside this file) and the flags to run it with. */
  entry(module: string): { path: string; execArgv: string[] } {
    const source = fileURLToPath(new URL(module, import.meta.url));
    if (process.env.EPARA_DEMO_CHILDREN === 'tsx') return { path: source, execArgv: ['--import', 'tsx'] };
    this.#dir ??= this.#build();
    return { path: join(this.#dir, module.replace(/^\.\//, '').replace(/\.ts$/, '.js')), execArgv: sourceMaps() ? ['--enable-source-maps'] : [] };
  }

  #build(): string {
    const here = fileURLToPath(new URL('.', import.meta.url));
    const tmp = fileURLToPath(new URL('../../.tmp/', import.meta.url));
    mkdirSync(tmp, { recursive: true });
    const dir = mkdtempSync(join(tmp, 'children-'));
    process.once('exit', this.#removeOnExit);
    try {
      buildSync({
        entryPoints: readdirSync(here).filter((f) => f.endsWith('-process.ts')).map((f) => join(here, f)),
        outdir: dir,
        bundle: true,
        packages: 'external', // resolved from node_modules when the child loads, as a package's users do
        tsconfigRaw: { compilerOptions: { target: 'ES2022', verbatimModuleSyntax: true } }, // not the root tsconfig's paths to the packages' sources
        platform: 'node',
        format: 'esm',
        target: 'node20',
        sourcemap: sourceMaps() ? 'linked' : false,
        logLevel: 'silent',
      });
    } catch (e) {
      this.remove();
      throw new EparaError('INTERNAL', `bundling the demo's child processes failed: ${(e as Error).message}`);
    }
    return dir;
  }

  /** Removes the bundle's folder (the children read it only while they start). */
  remove(): void {
    process.off('exit', this.#removeOnExit);
    if (this.#dir !== undefined) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }
}

/**
 * Every process the demo starts, so that all of them end when it ends: {@link ChildGroup.closeAll} asks each
 * to shut down, then terminates and finally kills those still running. A child that exits on its own before
 * that is reported as `crashed`, and its pending calls reject with `PEER_UNAVAILABLE`.
 */
export class ChildGroup extends EventEmitter<GroupEvents> {
  readonly #children: Child[] = [];
  readonly #bundle = new ChildBundle();
  #closing = false;

  /** Forks `module` (a `*-process.ts` file beside this one, bundled into plain JavaScript) with the given name. */
  start(name: string, module: string): Child {
    if (this.#closing) throw new EparaError('ABORTED', `not starting ${name}: the demo is stopping`);
    const { path, execArgv } = this.#bundle.entry(module);
    const cp = fork(path, [name], { execArgv: [...execArgv, ...profilerFlags(), ...childFlags(process.env.EPARA_DEMO_CHILD_FLAGS, name)], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
    let next = 1;
    cp.on('message', (raw) => {
      const m = raw as ChildMessage;
      if (m.kind === 'event') return void this.emit('event', { child: name, name: m.name, value: m.value });
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (!p) return;
      if (m.ok) p.resolve(m.value);
      else p.reject(new EparaError(m.error.code as 'INTERNAL', `${name}: ${m.error.message}`));
    });
    cp.on('exit', (code, signal) => {
      for (const p of pending.values()) p.reject(new EparaError('PEER_UNAVAILABLE', `${name} exited (code ${code}, signal ${signal})`));
      pending.clear();
      if (!this.#closing) this.emit('crashed', { name, pid: cp.pid ?? -1, code, signal });
    });
    cp.on('error', () => undefined);
    const child: Child = {
      name,
      pid: cp.pid ?? -1,
      process: cp,
      call<T>(op: string, arg?: unknown): Promise<T> {
        if (cp.exitCode !== null || cp.signalCode !== null || !cp.connected) return Promise.reject(new EparaError('PEER_UNAVAILABLE', `${name} is not running`));
        const id = next++;
        return new Promise<T>((resolve, reject) => {
          pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
          const m: CallMessage = { kind: 'call', id, op, arg };
          cp.send(m, (err) => {
            if (err && pending.delete(id)) reject(new EparaError('PEER_UNAVAILABLE', `${name}: ${err.message}`));
          });
        });
      },
    };
    this.#children.push(child);
    return child;
  }

  /** Name and pid of every child started so far. */
  get named(): { name: string; pid: number }[] {
    return this.#children.map((c) => ({ name: c.name, pid: c.pid }));
  }

  /** Pids of every child started so far. */
  get pids(): number[] {
    return this.#children.map((c) => c.pid);
  }

  /** Stops every child: `shutdown`, then SIGTERM after `graceMs`, then SIGKILL. Resolves once all have exited. */
  async closeAll(graceMs = 4000): Promise<void> {
    this.#closing = true;
    const alive = (c: Child): boolean => c.process.exitCode === null && c.process.signalCode === null;
    await Promise.all(
      this.#children.map(async (c) => {
        if (!alive(c)) return;
        const exited = new Promise<void>((resolve) => c.process.once('exit', () => resolve()));
        void c.call('shutdown').catch(() => undefined);
        const term = setTimeout(() => alive(c) && c.process.kill('SIGTERM'), graceMs);
        const kill = setTimeout(() => alive(c) && c.process.kill('SIGKILL'), graceMs * 2);
        await exited;
        clearTimeout(term);
        clearTimeout(kill);
      }),
    );
    this.#bundle.remove();
  }
}
