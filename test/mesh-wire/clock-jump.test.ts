import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createWebSocketTransport } from '@epara/mesh';

/*
 * The wall clock is not a timer: an NTP step, a VM resumed from a snapshot or an operator setting the date moves
 * `Date.now()` by minutes or hours while links stay as alive (or as dead) as they were. A raw WebSocket client
 * (the `ws` package the mesh uses) stands in for a peer: it answers the transport's keepalive pings, or not.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
interface RawSocket {
  on(event: 'open' | 'close', listener: () => void): void;
  on(event: 'ping', listener: () => void): void;
  close(): void;
}
const WebSocket = createRequire(join(root, 'packages', 'mesh', 'package.json'))('ws') as new (url: string, options?: { autoPong?: boolean }) => RawSocket;

const HOUR = 3_600_000;
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const fn of cleanup.splice(0)) await fn();
});

/** A transport with a fast keepalive, and a raw client linked to it that counts the pings it gets. */
async function linked(options: { autoPong: boolean }): Promise<{ pings(n: number): Promise<void>; closed: Promise<void> }> {
  const transport = createWebSocketTransport({ keepaliveIntervalMs: 20, deadPeerTimeoutMs: 200 });
  const { address } = await transport.listen();
  cleanup.push(() => transport.close());
  const ws = new WebSocket(address, { autoPong: options.autoPong });
  cleanup.push(() => ws.close());
  let count = 0;
  const waiters: { at: number; resolve: () => void }[] = [];
  ws.on('ping', () => {
    count++;
    for (const w of [...waiters]) if (count >= w.at) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  });
  const closed = new Promise<void>((resolve) => ws.on('close', resolve));
  await new Promise<void>((resolve) => ws.on('open', resolve));
  return { pings: (n) => new Promise<void>((resolve) => waiters.push({ at: count + n, resolve })), closed };
}

describe('a wall-clock jump on a node', () => {
  it('an hour back does not blind the dead-peer check: a peer that stops answering is still cut', async () => {
    const link = await linked({ autoPong: false });
    await link.pings(1);
    const real = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => real() - HOUR);
    // The client never answers: the link must be cut after the dead-peer timeout, not an hour later.
    await link.closed;
  }, 10_000);
});

describe('a node whose own process was stopped (SIGSTOP, a blocked event loop)', () => {
  it('does not cut a live link for the silence it could not hear while it was stopped', async () => {
    const link = await linked({ autoPong: true });
    await link.pings(2);
    // The process runs nothing for five dead-peer timeouts: the peer's pongs wait unread in the socket. Before,
    // the keepalive's first look after the stop came before those were read and cut every link as silent.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    const outcome = await Promise.race([link.pings(5).then(() => 'kept' as const), link.closed.then(() => 'cut' as const)]);
    expect(outcome).toBe('kept');
  }, 10_000);

  it('still cuts a peer that stays silent once the process runs again', async () => {
    const link = await linked({ autoPong: false });
    await link.pings(1);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    await link.closed;
  }, 10_000);
});
