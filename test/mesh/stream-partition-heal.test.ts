import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryHub } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { aliveIds, closeAll, input, startCluster, until } from './helpers.js';
import type { ClusterNode } from './helpers.js';

/*
 * A partition that heals while a stream is mid-flight (in-process nodes, memory network; frames across the cut are
 * dropped, the links stay open). n0 hosts nothing, n1 hosts `echo` at 100 items/s. n0's stream pinned to n1 ends
 * typed once the ring finds n1 dead; n1, which never heard of that, must not go on holding the stream's rate on its
 * instance once the cut heals: n0 tells it to close the stream when it sees n1 again.
 */

let cluster: ClusterNode[] = [];
afterEach(async () => {
  await closeAll(cluster);
  cluster = [];
});

/** The items/s n0's view says n1's echo instance carries (its pinned streams included). */
const loadOfN1 = (n0: MeshNode): number => n0.view().entries['n1']?.instances.find((i) => i.serviceId === 'echo')?.loadPerSec ?? Number.NaN;

describe('a partition healing while a stream is mid-flight', () => {
  it('the stream ends typed, and once the cut heals its host releases its rate: a stream of that rate fits again', async () => {
    const hub = createMemoryHub();
    cluster = await startCluster({ size: 2, kind: 'memory', hosted: [1], hub, serviceTimeMs: 10 });
    const [n0] = cluster.map((c) => c.node) as [MeshNode];
    await until(() => n0.view().entries['n1']?.instances.some((i) => i.serviceId === 'echo' && i.status === 'ready') === true, 'n0 sees the instance of n1');
    const stream = await n0.openStream('echo', { rateHz: 60, stalenessMs: 1000 });
    expect(stream.pinnedTo).toBe('n1');
    stream.push(input([1]));
    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done !== true && first.value.ok).toBe(true);
    await until(() => loadOfN1(n0) >= 60, "n0's view shows the stream's rate on n1");

    hub.setFaults({ drop: () => true });
    const codes: string[] = [];
    for (let r = await it.next(); r.done !== true; r = await it.next()) codes.push(r.value.ok ? 'ok' : r.value.error.code);
    expect(codes.every((c) => c === 'PEER_UNAVAILABLE')).toBe(true);
    expect(aliveIds(n0)).toEqual(['n0']);

    hub.setFaults({});
    await until(() => aliveIds(n0).join() === 'n0,n1', 'n0 sees n1 again after the heal');
    // Before, n1 held the ended stream's 60 Hz for as long as the link lasted: nothing of that rate fit any more.
    await until(() => loadOfN1(n0) < 40, "n0's view shows n1 carrying no stream any more");
    const again = await n0.openStream('echo', { rateHz: 60, stalenessMs: 1000 });
    expect(again.pinnedTo).toBe('n1');
    again.push(input([2]));
    const summary = again.close();
    const values: number[] = [];
    for await (const r of again) values.push(r.ok ? (r.outputs['x']!.data as Float32Array)[0]! : -1);
    expect(values).toEqual([4]);
    expect(await summary).toMatchObject({ pushed: 1, completed: 1 });
    await stream.close();
  }, 60_000);
});
