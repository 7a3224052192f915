import { afterEach, describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import type { Logger } from '@epara/core';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode, secureConnection } from '@epara/mesh';
import { decodeFrame, encodeFrame } from '@epara/mesh/wire';
import type { MemoryHub, MeshNode } from '@epara/mesh';
import { ECHO, input, PSK, ready, recordingLogger, serverOf, until, watch } from './helpers.js';

/*
 * A server restarted under its id while its old process still hangs (stopped, its links open and silent): the
 * new run's link must replace the old run's on every peer — what was in flight over the old link is routed
 * again (to the new run), new requests go to the new run, and the old run, once it resumes, is refused.
 * In one process over the memory hub: the old run "hangs" by having every frame to and from it dropped.
 */

const nodes: MeshNode[] = [];
/** A frame as the wire carries it, or `undefined` for a handshake frame the codec does not read. */
const tryDecode = (frame: Uint8Array): ReturnType<typeof decodeFrame> | undefined => {
  try {
    return decodeFrame(frame);
  } catch {
    return undefined;
  }
};
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

async function start(hub: MemoryHub, o: { id: string; address: string; hosted: boolean; tag: number; epoch: number; logger?: Logger }): Promise<MeshNode> {
  const node = createNode({
    id: o.id,
    transport: createMemoryTransport({ hub, address: o.address }),
    executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 20 } }, hosted: o.hosted ? ['echo'] : [], tag: o.tag }),
    security: { psk: PSK },
    seeds: o.address === 'n0' ? [] : ['n0'],
    services: [ECHO],
    syncPeriodMs: 50,
    syncAckTimeoutMs: 200,
    placement: false,
    epoch: o.epoch,
    ...(o.logger ? { logger: o.logger } : {}),
  });
  watch(node);
  nodes.push(node);
  await node.start();
  return node;
}

describe('a server restarted under its id while its old process hangs', () => {
  it('replaces the old run on its peers: in-flight requests go to the new run, and the old run is refused when it resumes', async () => {
    const hub = createMemoryHub();
    const logger = recordingLogger();
    const n0 = await start(hub, { id: 'n0', address: 'n0', hosted: false, tag: 0, epoch: 1, logger });
    await start(hub, { id: 'n1', address: 'n1-old', hosted: true, tag: 1, epoch: 1000 });
    await until(() => ready(n0, 'n1'), 'n0 sees the instance of n1');

    // The old process hangs: its links stay open, nothing crosses them either way.
    hub.setFaults({ drop: (link) => link.from === 'n1-old' || link.to === 'n1-old' });
    let offloaded = 0;
    n0.on('requestOffloaded', () => void (offloaded += 1));
    const deadline = Date.now() + 8000;
    const inFlight = [1, 2, 3, 4].map((v) => n0.submit('echo', input([v]), { deadline }));
    await until(() => offloaded >= 4, 'n0 offloaded the four requests to the hung n1');

    // The same server restarted: a new process, a new address, a larger epoch.
    await start(hub, { id: 'n1', address: 'n1-new', hosted: true, tag: 2, epoch: 2000 });
    const outs = await Promise.all(inFlight);
    expect(outs.map((o) => (o['x']!.data as Float32Array)[0])).toEqual([2, 4, 6, 8]);
    expect(outs.map(serverOf)).toEqual([2, 2, 2, 2]);
    const fresh = await n0.submit('echo', input([5]), { deadline: Date.now() + 5000 });
    expect(serverOf(fresh)).toBe(2);

    // The old process resumes: it redials n0 as n1 and is refused; n0 keeps serving through the new run.
    hub.setFaults({});
    await until(() => logger.messages.includes('link from a replaced run of a peer refused'), 'n0 refuses the old run of n1', 20_000);
    await until(() => n0.view().entries['n1']?.address === 'n1-new' && ready(n0, 'n1'), 'n0 sees the new run of n1');
    const after = await Promise.allSettled([6, 7, 8].map((v) => n0.submit('echo', input([v]), { deadline: Date.now() + 5000 })));
    for (const r of after) {
      if (r.status === 'fulfilled') expect(serverOf(r.value)).toBe(2);
      else expect(isEparaError(r.reason) ? r.reason.code : String(r.reason)).toBe('never');
    }
  });

  it('ends a stream pinned to the old run: every frame settles PEER_UNAVAILABLE instead of waiting forever', async () => {
    const hub = createMemoryHub();
    const n0 = await start(hub, { id: 'n0', address: 'n0', hosted: false, tag: 0, epoch: 1 });
    await start(hub, { id: 'n1', address: 'n1-old', hosted: true, tag: 1, epoch: 1000 });
    await until(() => ready(n0, 'n1'), 'n0 sees the instance of n1');
    const stream = await n0.openStream('echo', { rateHz: 10, stalenessMs: 60_000 });
    expect(stream.pinnedTo).toBe('n1');
    hub.setFaults({ drop: (link) => link.from === 'n1-old' || link.to === 'n1-old' });
    for (let k = 0; k < 3; k++) stream.push(input([k]));
    await start(hub, { id: 'n1', address: 'n1-new', hosted: true, tag: 2, epoch: 2000 });
    const codes: string[] = [];
    for await (const r of stream) codes.push(r.ok ? 'ok' : r.error.code);
    expect(codes).toEqual(['PEER_UNAVAILABLE', 'PEER_UNAVAILABLE', 'PEER_UNAVAILABLE']);
  });

  it('a peer the new run never dialed learns of it from the view, checks the address, and stops sending into the old run', async () => {
    const hub = createMemoryHub();
    const n0 = await start(hub, { id: 'n0', address: 'n0', hosted: false, tag: 0, epoch: 1 });
    await start(hub, { id: 'n1', address: 'n1-old', hosted: true, tag: 1, epoch: 1000 });
    await start(hub, { id: 'n2', address: 'n2', hosted: false, tag: 0, epoch: 1 });
    // n3 is nobody's ring neighbour of n1: only its own requests link it to n1.
    const n3 = await start(hub, { id: 'n3', address: 'n3', hosted: false, tag: 0, epoch: 1 });
    await until(() => ready(n3, 'n1') && [n0, n3].every((n) => n.view().entries['n2']?.alive === true), 'n3 sees the instance of n1');
    expect(serverOf(await n3.submit('echo', input([1]), { deadline: Date.now() + 5000 }))).toBe(1);

    hub.setFaults({ drop: (link) => link.from === 'n1-old' || link.to === 'n1-old' });
    await start(hub, { id: 'n1', address: 'n1-new', hosted: true, tag: 2, epoch: 2000 });
    await until(() => n3.view().entries['n1']?.address === 'n1-new' && ready(n3, 'n1'), 'n3 sees the new run of n1 in its view', 20_000);
    const outs = await Promise.all([2, 3, 4].map((v) => n3.submit('echo', input([v]), { deadline: Date.now() + 5000 })));
    expect(outs.map(serverOf)).toEqual([2, 2, 2]);
    expect(outs.map((o) => (o['x']!.data as Float32Array)[0])).toEqual([4, 6, 8]);
  });

  it('ring tokens between two runs that read them carry the run of each entry (what lets a replaced run stand down)', async () => {
    const hub = createMemoryHub();
    const runs = new Map<string, number>();
    hub.setFaults({
      drop: (_link, frame) => {
        const m = tryDecode(frame);
        if (m?.type === 'sync-token') for (const e of m.token.entries) if (e.run) runs.set(e.serverId, e.run.epoch);
        return false;
      },
    });
    const n0 = await start(hub, { id: 'n0', address: 'n0', hosted: false, tag: 0, epoch: 5 });
    await start(hub, { id: 'n1', address: 'n1', hosted: true, tag: 1, epoch: 7 });
    // Checked at each round n0 (the initiator) completes.
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (runs.get('n0') !== 5 || runs.get('n1') !== 7) return;
        n0.off('syncCompleted', check);
        resolve();
      };
      n0.on('syncCompleted', check);
    });
    expect(Object.fromEntries(runs)).toEqual({ n0: 5, n1: 7 });
  });

  it('links a peer that announces no run (an older build) as before, and it is answered', async () => {
    const hub = createMemoryHub();
    await start(hub, { id: 'n0', address: 'n0', hosted: true, tag: 0, epoch: 1 });
    const dialer = createMemoryTransport({ hub, address: 'old-build' });
    const raw = await dialer.connect('n0');
    const { connection } = await secureConnection(raw, { psk: PSK, selfId: 'old', role: 'client' });
    const frames: Uint8Array[] = [];
    const answered = new Promise<void>((resolve) =>
      connection.on('frameReceived', ({ frame }) => {
        frames.push(frame);
        if (decodeFrame(frame).type === 'result') resolve();
      }),
    );
    connection.send(encodeFrame({ type: 'submit', requestId: 7, serviceId: 'echo', budgetMs: 5000, hops: 1, maxHops: 2, visited: ['old'], priority: 0, inputs: input([3]) }));
    await answered;
    // n0 announced its run and its frame limit first (frames an older build rejects and goes on), then answered.
    expect(frames.map((f) => decodeFrame(f).type)).toEqual(['incarnation', 'limits', 'result']);
    const result = decodeFrame(frames[2]!);
    expect(result.type === 'result' && (result.outputs['x']!.data as Float32Array)[0]).toBe(6);
    connection.close();
    await dialer.close();
  });
});
