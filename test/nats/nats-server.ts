import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A nats-server the tests can use: its client URL and how to stop it (a no-op for a shared one). */
export interface TestNatsServer {
  readonly url: string;
  /** True when this process started the server (so tests may kill or restart it). */
  readonly owned: boolean;
  stop(): Promise<void>;
}

// Debian installs it in /usr/sbin, which is not on every user's PATH.
const BINARY = process.env['EPARA_NATS_SERVER_BIN'] ?? (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');

/** Why NATS tests cannot run here, or `undefined` when they can (a URL is given or the binary exists). */
export function natsUnavailableReason(): string | undefined {
  if (process.env['EPARA_NATS_URL']) return undefined;
  const probe = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    return `\`${BINARY}\` is not installed and EPARA_NATS_URL is not set (install the Debian package nats-server; .ci/run does) — NATS tests SKIPPED`;
  }
  return undefined;
}

/**
 * Logs the skip reason loudly once per file; returns true when the suite must be skipped. With
 * `EPARA_REQUIRE_NATS=1` (set by .ci/run) a missing server is an error, never a skip: CI cannot go green
 * without the NATS tests.
 */
export function skipNats(): boolean {
  const reason = natsUnavailableReason();
  if (reason !== undefined && process.env['EPARA_REQUIRE_NATS'] === '1') throw new Error(`EPARA_REQUIRE_NATS=1 but ${reason}`);
  if (reason !== undefined) console.warn(`\n*** ${reason} ***\n`);
  return reason !== undefined;
}

/** A private nats-server this process owns: it can also be crashed and restarted on the same port. */
export interface OwnedNatsServer extends TestNatsServer {
  /**
   * Kills the server (SIGKILL: a crash, clients see their connection drop) and starts it again on the same port,
   * with its JetStream store (`keepStore`, a restart) or an empty one (a replaced machine, a memory-only store).
   */
  restart(options: { readonly keepStore: boolean }): Promise<void>;
  /** Kills the server (SIGKILL) and leaves it down until {@link revive}. */
  crash(): Promise<void>;
  /** Starts a crashed server again on the same port, with its store. */
  revive(): Promise<void>;
  /**
   * Stops the server's process (SIGSTOP: a hung broker, its clients stay connected) until {@link resume}; resolves
   * once the process is stopped (a signal lands a moment after it is sent: the broker may still answer meanwhile).
   */
  pause(): Promise<void>;
  /** Resumes a paused server (SIGCONT). */
  resume(): void;
}

/**
 * Starts a private nats-server on 127.0.0.1 on a random port (JetStream on, store in a temp dir), with any
 * extra arguments (e.g. `['--user', 'u', '--pass', 'p']`). Resolves once it accepts clients.
 */
export async function startNatsServer(extraArgs: readonly string[] = []): Promise<OwnedNatsServer> {
  let dir = mkdtempSync(join(tmpdir(), 'epara-nats-'));
  const launch = (port: string): ChildProcess => spawn(BINARY, ['-js', '-a', '127.0.0.1', '-p', port, '-sd', dir, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let child = launch('-1');
  const url = await readyUrl(child);
  const kill = (): Promise<void> =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    });
  let stopping: Promise<void> | undefined;
  return {
    url,
    owned: true,
    async restart({ keepStore }) {
      await kill();
      if (!keepStore) {
        rmSync(dir, { recursive: true, force: true });
        dir = mkdtempSync(join(tmpdir(), 'epara-nats-'));
      }
      child = launch(new URL(url).port);
      await readyUrl(child);
    },
    crash: kill,
    async revive() {
      child = launch(new URL(url).port);
      await readyUrl(child);
    },
    async pause() {
      child.kill('SIGSTOP');
      await stopped(child.pid);
    },
    resume: () => void child.kill('SIGCONT'),
    stop: () => {
      stopping ??= kill().then(() => rmSync(dir, { recursive: true, force: true }));
      return stopping;
    },
  };
}

/** The shared server from EPARA_NATS_URL (CI), else a private one this file starts and stops. */
export async function useNatsServer(): Promise<TestNatsServer> {
  const shared = process.env['EPARA_NATS_URL'];
  if (shared) return { url: shared, owned: false, stop: async () => undefined };
  return startNatsServer();
}

/** Resolves once the process is in the stopped state (Linux: `/proc/<pid>/stat`; elsewhere at once). */
async function stopped(pid: number | undefined): Promise<void> {
  const state = (): string | undefined => {
    try {
      return /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
    } catch {
      return undefined;
    }
  };
  // Checked on each turn of the event loop: the kernel stops it within a scheduling slice.
  for (let s = state(); s !== undefined && s !== 'T' && s !== 't'; s = state()) await new Promise((r) => setImmediate(r));
}

function readyUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let log = '';
    let port: string | undefined;
    const timer = setTimeout(() => fail(new Error(`nats-server did not start within 10 s:\n${log}`)), 10_000);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      port ??= /Listening for client connections on [^\s]*:(\d+)/.exec(log)?.[1];
      if (port !== undefined && log.includes('Server is ready')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(`nats://127.0.0.1:${port}`);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`nats-server exited with ${code}:\n${log}`)));
  });
}

/** A short random token for unique subjects and bucket names, so tests sharing one server never collide. */
export function uniqueName(prefix: string): string {
  return `${prefix}${Math.random().toString(36).slice(2, 10)}`;
}
