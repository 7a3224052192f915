import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { EparaError } from '@epara/core';
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
 * Every process the demo starts, so that all of them end when it ends: {@link ChildGroup.closeAll} asks each
 * to shut down, then terminates and finally kills those still running. A child that exits on its own before
 * that is reported as `crashed`, and its pending calls reject with `PEER_UNAVAILABLE`.
 */
/**
 * `EPARA_DEMO_CPU_PROF=<dir>` writes a V8 CPU profile of every child process into `dir` when it exits (Node
 * refuses `--cpu-prof` in `NODE_OPTIONS`): how the per-item CPU of the nodes is read.
 */
function profilerFlags(): string[] {
  const dir = process.env.EPARA_DEMO_CPU_PROF;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

export class ChildGroup extends EventEmitter<GroupEvents> {
  readonly #children: Child[] = [];
  #closing = false;

  /** Forks `module` (a `.ts` file beside this one, run through tsx) with the given name. */
  start(name: string, module: string): Child {
    if (this.#closing) throw new EparaError('ABORTED', `not starting ${name}: the demo is stopping`);
    const path = fileURLToPath(new URL(module, import.meta.url));
    const cp = fork(path, [name], { execArgv: ['--import', 'tsx', ...profilerFlags()], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
  }
}
