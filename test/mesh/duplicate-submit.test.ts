import { afterEach, describe, expect, it } from 'vitest';
import { createFakeExecutor, createNode, createWebSocketTransport } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { ECHO, input, PSK, ready, until, watch } from './helpers.js';
import { startTcpProxy } from './tcp-proxy.js';
import type { TcpProxy } from './tcp-proxy.js';
import { MESH_TYPE, meshTypeOf } from './ws-frames.js';

/*
 * A `submit` frame duplicated on the wire, the copy arriving after the peer already answered the request: the
 * peer must not run the request a second time (its sender has its answer). n1 hosts `echo` behind a frame-level
 * TCP proxy on 127.0.0.1; n0 hosts nothing, so its request goes to n1 through the proxy.
 */

const nodes: MeshNode[] = [];
const proxies: TcpProxy[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

function node(id: string, o: { hosted: boolean; seeds?: string[]; advertise?: string; transport?: ReturnType<typeof createWebSocketTransport> }): { n: MeshNode; runs: () => number } {
  const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 5 } }, hosted: o.hosted ? ['echo'] : [], tag: o.hosted ? 1 : 0 });
  let runs = 0;
  const submit = executor.submit.bind(executor);
  executor.submit = (...a: Parameters<typeof submit>) => ((runs += 1), submit(...a));
  const n = createNode({
    id,
    transport: o.transport ?? createWebSocketTransport({ host: '127.0.0.1', port: 0 }),
    executor,
    security: { psk: PSK },
    services: [ECHO],
    seeds: o.seeds ?? [],
    syncPeriodMs: 50,
    placement: false,
    ...(o.advertise ? { advertise: o.advertise } : {}),
  });
  watch(n);
  nodes.push(n);
  return { n, runs: () => runs };
}

describe('a submit frame duplicated in transit', () => {
  it('arriving after its answer left: the request is not run again, and the sender keeps its one answer', async () => {
    let port = 0;
    const proxy = await startTcpProxy(() => port, { frames: true });
    proxies.push(proxy);
    const via = `ws://127.0.0.1:${proxy.port}/epara`;
    const t1 = createWebSocketTransport({ host: '127.0.0.1', port: 0 });
    const n1 = node('n1', { hosted: true, advertise: via, transport: t1 });
    await n1.n.start();
    port = Number(new URL(t1.address!).port);
    const n0 = node('n0', { hosted: false, seeds: [via] });
    await n0.n.start();
    await until(() => ready(n0.n, 'n1'), 'n0 sees the instance of n1');

    // The first submit n0 sends is held back as a copy; once n1's answer to it passed the proxy, the copy goes to
    // n1 just before n0's next frame (a sync token, within a period).
    let held: Buffer | undefined;
    let answered = false;
    let replayed = false;
    proxy.frames((frame, c) => {
      const type = meshTypeOf(frame);
      if (c.toTarget && type === MESH_TYPE.submit && held === undefined) held = frame.raw;
      else if (!c.toTarget && type === MESH_TYPE.result && held !== undefined) answered = true;
      else if (c.toTarget && answered && !replayed && held !== undefined) return ((replayed = true), [held, frame.raw]);
      return [frame.raw];
    });

    let received = 0;
    const receivedTwice = new Promise<void>((resolve) =>
      n1.n.on('requestReceived', () => {
        // The event comes before the node handles the frame: look once it has.
        if (++received === 2) setImmediate(resolve);
      }),
    );
    const out = await n0.n.submit('echo', input([21]), { deadline: Date.now() + 10_000 });
    expect((out['x']!.data as Float32Array)[0]).toBe(42);
    await receivedTwice;
    expect(replayed).toBe(true);
    // One request, one run: the copy of a request already answered on that link is not run again.
    expect(n1.runs()).toBe(1);
    expect(n0.n.stats()).toMatchObject({ submitted: 1, offloaded: 1, retried: 0 });
  }, 60_000); // a hang guard only
});
