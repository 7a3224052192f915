import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from '../gateway/serve-process.js';
import { alive, clusterPerTest, expectSettledOnce, inferGrpc, inferHttp, memberConfig, until } from './served-cluster.js';
import type { Outcome } from './served-cluster.js';

/*
 * An entry server whose seeds name, beside a real worker, things that are no mesh node: a host that accepts and
 * never reads or answers, one that answers garbage, one that sends half an HTTP answer and stops, and the worker's
 * own gateway ports (HTTP and gRPC, a likely slip in a config). The entry starts, joins through the worker, answers
 * every request right, and drains and exits 0 within its bound: nothing it dialed holds it.
 */

const { cluster, refs } = clusterPerTest();

/** A TCP listener on 127.0.0.1 doing `onSocket` with each connection; `close` ends it and its sockets. */
async function listener(onSocket: (s: Socket) => void): Promise<{ readonly address: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    onSocket(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/epara`,
    close: () => new Promise<void>((resolve) => (sockets.forEach((s) => s.destroy()), server.close(() => resolve()))),
  };
}

describe('an entry seeded with hosts that are no mesh node beside a real worker', () => {
  it('starts, serves every request right through the worker, and drains within its bound', async () => {
    const bad = await Promise.all([
      // Accepts, never reads, never answers (its receive window fills).
      listener((s) => s.pause()),
      // Answers garbage to whatever it is sent.
      listener((s) => s.on('data', () => s.write(randomBytes(4096)))),
      // Half an HTTP answer to the WebSocket upgrade, then silence with the socket open.
      listener((s) => s.once('data', () => s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConn'))),
    ]);
    try {
      const w = await cluster.serve(memberConfig({ id: 'w1', meshPort: await freePort(), seeds: [], devices: ['cpu0'] }));
      const gatewayPorts = [w.http.replace('http://', 'ws://') + '/epara', `ws://${w.grpc}/epara`];
      const entry = await cluster.serve(memberConfig({ id: 'entry', meshPort: await freePort(), seeds: [...bad.map((b) => b.address), ...gatewayPorts, w.mesh], devices: [], drainTimeoutMs: 3000 }));
      const grpc = cluster.client(entry.grpc);
      await until(async () => 'answer' in (await inferHttp(entry.http, 0)));

      const outcomes: Outcome[] = [];
      for (let round = 0; round < 4; round++) outcomes.push(...(await Promise.all([inferHttp(entry.http, 10 * round + 1), inferGrpc(grpc, 10 * round + 2), inferHttp(entry.http, 10 * round + 3)])));
      await expectSettledOnce(outcomes, outcomes.map((o) => o.n), refs, []);

      entry.child.kill('SIGTERM');
      expect(await entry.exited).toBe(0);
      expect(entry.output()).toContain('"event":"stopped"');
      expect(alive(entry.child.pid!)).toBe(false);
      // The worker served on through the entry's dials and its going.
      expect('answer' in (await inferHttp(w.http, 99))).toBe(true);
    } finally {
      await Promise.all(bad.map((b) => b.close()));
    }
  }, 120_000);
});
