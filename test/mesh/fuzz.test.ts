import { afterEach, describe, expect, it } from 'vitest';
import { createSeededRandom } from '@epara/core';
import { createWebSocketTransport, secureConnection } from '@epara/mesh';
import { encodeFrame } from '@epara/mesh/wire';
import type { Connection } from '@epara/mesh';
import type { WireMessage } from '@epara/mesh/wire';
import { activeResources, closeAll, input, leftOverAfter, PSK, startCluster, until } from './helpers.js';
import type { ClusterNode } from './helpers.js';

let cluster: ClusterNode[] = [];
afterEach(async () => closeAll(cluster));

const x = input([1, 2, 3]).x!;
const SAMPLES: WireMessage[] = [
  { type: 'submit', requestId: 1, serviceId: 'echo', budgetMs: 500, hops: 0, maxHops: 2, visited: [], priority: 0, inputs: { x } },
  { type: 'result', requestId: 99, outputs: { x } },
  { type: 'cancel', requestId: 1, reason: 'fuzz' },
  { type: 'stream-open', requestId: 5, serviceId: 'echo', rateHz: 10, stalenessMs: 100, hops: 0, visited: [] },
  { type: 'stream-frame', requestId: 77, seq: 3, inputs: { x } },
  { type: 'stream-close', requestId: 77, reason: 'fuzz' },
  { type: 'placement', payload: { kind: 'placement', leader: 'fuzzer', leaderEpoch: 1, seq: 1, instances: [], changes: [] } },
  { type: 'sync-ack', from: 'fuzzer', origin: 'n0', epoch: 1, round: 1 },
  {
    type: 'sync-token',
    from: 'fuzzer',
    token: { origin: 'fuzzer', epoch: 1, round: 1, full: true, wantFull: false, stubs: [], entries: [{ serverId: 'fuzzer', epoch: 1, version: 1, ageMs: 0, alive: true, load: 0, freeMemoryBytes: 0, instances: [], arrivalRates: {} }] },
  },
];

/** Flips, truncates or extends a valid frame at random. */
function mutate(frame: Uint8Array, r: () => number): Uint8Array {
  const out = Uint8Array.from(frame);
  const kind = Math.floor(r() * 3);
  if (kind === 0) for (let k = 0; k < 1 + Math.floor(r() * 4); k++) out[Math.floor(r() * out.length)] = Math.floor(r() * 256);
  if (kind === 1) return out.subarray(0, Math.floor(r() * out.length));
  if (kind === 2) return Uint8Array.from([...out, ...Array.from({ length: 8 }, () => Math.floor(r() * 256))]);
  return out;
}

async function openLink(address: string, authenticated: boolean): Promise<Connection> {
  const raw = await createWebSocketTransport().connect(address);
  if (!authenticated) return raw;
  return (await secureConnection(raw, { psk: PSK, selfId: 'fuzzer', role: 'client' })).connection;
}

describe('a node under randomly mutated frames', () => {
  it('never crashes, keeps serving and syncing, and leaves nothing behind once closed', async () => {
    const baseline = activeResources();
    cluster = await startCluster({ size: 2, kind: 'ws', hosted: [0] });
    const n0 = cluster[0]!.node;
    const random = createSeededRandom(42);
    const r = (): number => random.next();
    let sent = 0;
    for (let batch = 0; batch < 12; batch++) {
      const link = await openLink(n0.address!, batch % 3 !== 0).catch(() => undefined);
      if (!link) continue;
      for (let i = 0; i < 40 && !link.isClosed; i++) {
        const frame = encodeFrame(SAMPLES[Math.floor(r() * SAMPLES.length)]!);
        try {
          link.send(r() < 0.2 ? frame : mutate(frame, r));
          sent++;
        } catch {
          break;
        }
      }
      link.close();
    }
    expect(sent).toBeGreaterThan(100);
    // Still alive: answers a peer's forwarded request and its ring keeps turning.
    const rounds = n0.stats().syncRounds;
    await until(() => n0.stats().syncRounds > rounds + 3, 'more sync rounds');
    const out = await cluster[1]!.node.submit('echo', input([5]), { deadline: Date.now() + 1000 });
    expect((out['x']!.data as Float32Array)[0]).toBe(10);
    expect(cluster[0]!.node.view().entries['n1']!.alive).toBe(true);
    // What the bad frames left on the node (refused links, half-read frames, timers) goes with it.
    await closeAll(cluster);
    expect(await leftOverAfter(baseline)).toEqual([]);
  });
});
