import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createWebSocketTransport, monotonicClock } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { aliveIds, closeAll, input, startCluster, until } from './helpers.js';
import type { ClusterNode } from './helpers.js';
import { FaultHarness } from './fault-harness.js';

/*
 * The wall clock of the node under test steps (NTP, a VM resumed, the date set by hand) while its cluster runs
 * on real sockets: `Date.now` is faked to jump an hour. Peer liveness, view ages and timeouts run on the
 * monotonic clock, so nothing changes: no live peer is declared dead, a peer that really hangs is still found
 * dead, entries keep their true ages, and requests keep succeeding. The deadlines stay on the wall clock
 * (`Date.now() + budget`, the node's default `clock`), as callers give them.
 */

const HOUR = 3_600_000;
const realNow = Date.now.bind(Date);
/**
 * The wall clock as this file loaded, on the monotonic time line (read right after `@epara/mesh` loaded and read
 * its own anchor). The host's own clock may really step while the suite runs (CI machines do); comparing with
 * this, not with `Date.now()` at assertion time, keeps the test about the fake step only.
 */
const wallAtLoad = realNow() - performance.now();
let stepMs = 0;
let cluster: ClusterNode[] = [];
const h = new FaultHarness();

beforeEach(() => {
  stepMs = 0;
  vi.spyOn(Date, 'now').mockImplementation(() => realNow() + stepMs);
});
afterEach(async () => {
  vi.restoreAllMocks();
  await closeAll(cluster);
  cluster = [];
  await h.close();
});

/** Resolves after `node` completes `rounds` more ring rounds (it leads the ring: lowest id). */
function rounds(node: MeshNode, count: number): Promise<void> {
  let seen = 0;
  const on = (): void => void seen++;
  node.on('syncCompleted', on);
  return until(() => seen >= count, `${count} more sync rounds`).finally(() => node.off('syncCompleted', on));
}

describe('a wall-clock step on a running cluster (WebSocket, 127.0.0.1)', () => {
  it('an hour forward, then two hours back: no peer dies, entries keep their true ages, requests succeed', async () => {
    cluster = await startCluster({ size: 3, kind: 'ws', hosted: [1, 2] });
    const left: string[] = [];
    for (const c of cluster) c.node.on('peerLeft', (e) => left.push(`${c.id} saw ${e.serverId} leave (${e.reason})`));
    const n0 = cluster[0]!.node;
    for (const step of [HOUR, -HOUR]) {
      stepMs = step;
      await rounds(n0, 10);
      for (const c of cluster) {
        expect(aliveIds(c.node)).toEqual(['n0', 'n1', 'n2']);
        // `updatedAt` is on the node's clock (the stepped wall clock): every entry is as old as it really is.
        for (const e of Object.values(c.node.view().entries)) expect(Math.abs(Date.now() - e.updatedAt)).toBeLessThan(10_000);
      }
      const outs = await Promise.all([1, 2, 3, 4].map((v) => n0.submit('echo', input([v]), { deadline: Date.now() + 5000 })));
      expect(outs.map((o) => (o['x']!.data as Float32Array)[0])).toEqual([2, 4, 6, 8]);
    }
    expect(left).toEqual([]);
  });

  it('an hour back, then a peer hangs (stopped, its sockets open): the ring still finds it dead', async () => {
    const n0 = await h.observer({
      // The transport's own keepalive would find the hung peer too, much later: keep it out of the way, so this
      // tests the ring's failure detector.
      transport: createWebSocketTransport({ host: '127.0.0.1', port: 0, keepaliveIntervalMs: 60_000, deadPeerTimeoutMs: 120_000 }),
    });
    const peer = (await h.peer({ id: 'n1', seed: n0.address!, serviceTimeMs: 5, tag: 1 })).child;
    await until(() => n0.view().entries['n1']?.alive === true, 'n0 sees n1');
    stepMs = -HOUR;
    await rounds(n0, 5);
    const left = new Promise<string>((resolve) => n0.on('peerLeft', (e) => e.serverId === 'n1' && resolve(e.reason)));
    peer.kill('SIGSTOP');
    await until(() => n0.view().entries['n1']?.alive === false, 'n0 marks the hung n1 dead', 20_000);
    expect(await left).toBe('ack-timeout');
  });
});

describe('monotonicClock', () => {
  it('reads like the wall clock until it steps, and does not follow the step', () => {
    const before = monotonicClock.now();
    // Both anchors are `Date.now()` read as the modules loaded: only its truncation to the ms separates them.
    expect(Math.abs(before - performance.now() - wallAtLoad)).toBeLessThan(2);
    stepMs = -HOUR;
    const after = monotonicClock.now();
    expect(after).toBeGreaterThanOrEqual(before);
    expect(after - before).toBeLessThan(HOUR);
  });
});
