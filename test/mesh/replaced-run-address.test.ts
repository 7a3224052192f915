import { afterEach, describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import type { ClusterView, ServerEntry } from '@epara/core';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import type { MemoryHub, MeshNode, ViewSync, ViewSyncContext } from '@epara/mesh';
import { ECHO, input, PSK, serverOf, watch } from './helpers.js';

/*
 * A peer's view can point at the address of a run that was replaced: the view is spread by the peers, and the
 * old process, once resumed, can outbid its replacement's entry for a while (it sees its id with a larger
 * epoch and jumps past it). A node that admitted the new run refuses the old one's links, so a dial to that
 * address ends in a refused link. What was queued for the dial must then fail over (or fail typed) at once, not
 * wait out its deadline, and the node must not dial the refused address again until the view moves on.
 *
 * Here n0's view is set by the test (a view sync whose entries the test writes), so the view can point at either
 * run of n1 at any moment; both runs are real nodes on the memory hub.
 */

const nodes: MeshNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

/** A view sync whose view is what the test writes into `entries` (its own entry is kept fresh). */
function scriptedSync(entries: Map<string, ServerEntry>) {
  return (ctx: ViewSyncContext): ViewSync => {
    const listeners = new Map<string, ((e?: unknown) => void)[]>();
    const sync = {
      on: (event: string, fn: (e?: unknown) => void) => (listeners.set(event, [...(listeners.get(event) ?? []), fn]), sync),
      emit: (event: string, e?: unknown) => (listeners.get(event) ?? []).forEach((fn) => fn(e)),
    };
    const self = (): ServerEntry => ({ serverId: ctx.selfId, epoch: ctx.epoch, version: 1, updatedAt: ctx.clock.now(), alive: true, ...ctx.readSelf() });
    const view = (): ClusterView => ({ entries: { ...Object.fromEntries(entries), [ctx.selfId]: self() } });
    return Object.assign(sync, {
      store: { view, get: (id: string) => (id === ctx.selfId ? self() : entries.get(id)), get self() { return self(); } },
      start: () => undefined,
      stop: () => undefined,
      // The test decides what n0 sees: a closed link does not take n1 out of this view.
      reportDead: () => undefined,
    }) as unknown as ViewSync;
  };
}

/** A run of n1 at `address`: its own view is a scripted one nobody reads. */
async function startRun(hub: MemoryHub, address: string, epoch: number, tag: number): Promise<MeshNode> {
  const node = createNode({
    id: 'n1',
    transport: createMemoryTransport({ hub, address }),
    executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 5 } }, hosted: ['echo'], tag }),
    security: { psk: PSK },
    services: [ECHO],
    viewSync: scriptedSync(new Map()),
    placement: false,
    epoch,
  });
  nodes.push(node);
  await node.start();
  return node;
}

/** n1's entry as n0 sees it: `run`'s own fresh entry (a ready `echo`), at `address` with `epoch`. */
const entryOf = (run: MeshNode, address: string, epoch: number): ServerEntry => ({ ...run.view().entries['n1']!, address, epoch });

describe('a view that points at a replaced run of a peer', () => {
  it('fails what was queued for the refused address at once, and does not dial it again while the view still points there', async () => {
    const hub = createMemoryHub();
    const entries = new Map<string, ServerEntry>();
    const dials: string[] = [];
    const transport = createMemoryTransport({ hub, address: 'n0' });
    const connect = transport.connect.bind(transport);
    transport.connect = (address, options) => (dials.push(address), connect(address, options));
    const n0 = createNode({ id: 'n0', transport, executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 5 } }, hosted: [] }), security: { psk: PSK }, services: [ECHO], viewSync: scriptedSync(entries), placement: false, epoch: 1 });
    watch(n0);
    nodes.push(n0);
    await n0.start();
    const old = await startRun(hub, 'n1-old', 1000, 1);
    const fresh = await startRun(hub, 'n1-new', 2000, 2);

    // n0 links the old run, which then hangs; the view shows the new run: n0 dials it, and its link replaces the
    // old run's (the request sent into the hung link goes to the new run).
    entries.set('n1', entryOf(old, 'n1-old', 1000));
    expect(serverOf(await n0.submit('echo', input([1]), { deadline: Date.now() + 5000 }))).toBe(1);
    hub.setFaults({ drop: (link) => link.from === 'n1-old' || link.to === 'n1-old' });
    entries.set('n1', entryOf(fresh, 'n1-new', 2000));
    expect(serverOf(await n0.submit('echo', input([2]), { deadline: Date.now() + 5000 }))).toBe(2);
    hub.setFaults({});

    // The view points at the old run's address again, and the new run's link is gone (it crashed).
    entries.set('n1', entryOf(old, 'n1-old', 3000));
    const before = dials.filter((a) => a === 'n1-old').length;
    await fresh.close();
    for (const v of [3, 4, 5, 6]) {
      const deadline = Date.now() + 20_000;
      const outcome = await n0.submit('echo', input([v]), { deadline }).then(
        () => 'answered',
        (err: unknown) => (isEparaError(err) ? err.code : `untyped: ${String(err)}`),
      );
      // Lost with the new run's link, or refused by the old run (a replaced run): typed, long before the deadline.
      expect(outcome).toBe('PEER_UNAVAILABLE');
      expect(Date.now()).toBeLessThan(deadline - 10_000);
    }
    // The refused address was dialed once (to send a request, or to check the run the view announced), not again.
    expect(dials.filter((a) => a === 'n1-old').length - before).toBeLessThanOrEqual(1);
  });
});
