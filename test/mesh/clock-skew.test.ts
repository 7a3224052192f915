import { afterEach, describe, expect, it } from 'vitest';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { input, PSK, serverOf, until, watch } from './helpers.js';

const nodes: MeshNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

describe('clock skew between servers', () => {
  it('ages, not timestamps, travel: views stay fresh and deadlines hold with clocks an hour apart', async () => {
    const hub = createMemoryHub();
    const skews = { ahead: 3_600_000, behind: -3_600_000 };
    for (const [i, [id, skew]] of Object.entries(skews).entries()) {
      const clock = { now: () => Date.now() + skew };
      const node = createNode({
        id,
        transport: createMemoryTransport({ hub, address: id }),
        executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 2 } }, hosted: i === 1 ? ['echo'] : [], tag: i, clock }),
        security: { psk: PSK },
        seeds: i === 0 ? [] : ['ahead'],
        syncPeriodMs: 50,
        placement: false,
        clock,
      });
      watch(node);
      await node.start();
      nodes.push(node);
    }
    const [ahead, behind] = nodes as [MeshNode, MeshNode];
    await until(() => behind.view().entries['ahead'] !== undefined && ahead.view().entries['behind']?.instances.length === 1, 'each sees the other');
    // Each entry's updatedAt is in the holder's own clock: its age is small, not ±1 hour.
    const age = (holder: MeshNode, skew: number, of: string): number => Date.now() + skew - holder.view().entries[of]!.updatedAt;
    expect(Math.abs(age(ahead, skews.ahead, 'behind'))).toBeLessThan(60_000);
    expect(Math.abs(age(behind, skews.behind, 'ahead'))).toBeLessThan(60_000);
    // A 500 ms deadline in the sender's clock is a 500 ms budget at the receiver, an hour behind.
    const out = await ahead.submit('echo', input([9]), { deadline: Date.now() + skews.ahead + 500 });
    expect(serverOf(out)).toBe(1);
  });
});
