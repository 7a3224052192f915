import { afterEach, describe, expect, it } from 'vitest';
import { createFakeExecutor, createNode, createWebSocketTransport } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { changed, ECHO, input, PSK, ready, until, watch } from './helpers.js';
import { startTcpProxy } from './tcp-proxy.js';
import type { TcpProxy } from './tcp-proxy.js';
import { MESH_TYPE, meshTypeOf } from './ws-frames.js';
import type { WsFrame } from './ws-frames.js';

/*
 * Request frames duplicated on the wire, the copy arriving after the peer already answered (or closed) what the
 * first asked for: the peer must not run the request a second time (its sender has its answer), nor open a
 * stream again that nobody would close. n1 hosts `echo`, n0 nothing, so its requests go to n1; each is behind its
 * own frame-level TCP proxy on 127.0.0.1.
 */

const nodes: MeshNode[] = [];
const proxies: TcpProxy[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

function node(id: string, o: { hosted: boolean; seeds?: string[]; advertise?: string; transport?: ReturnType<typeof createWebSocketTransport> }): { n: MeshNode; runs: () => number; streams: () => number } {
  const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 5 } }, hosted: o.hosted ? ['echo'] : [], tag: o.hosted ? 1 : 0 });
  let runs = 0;
  let streams = 0;
  const submit = executor.submit.bind(executor);
  executor.submit = (...a: Parameters<typeof submit>) => ((runs += 1), submit(...a));
  const openStream = executor.openStream.bind(executor);
  executor.openStream = (...a: Parameters<typeof openStream>) => ((streams += 1), openStream(...a));
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
  return { n, runs: () => runs, streams: () => streams };
}

/** Where a frame goes: from which node to which, and on which link (`via`: the proxy's owner and connection). */
type FrameHook = (frame: WsFrame, link: { readonly from: string; readonly to: string; readonly via: string }) => readonly Buffer[];

/**
 * n1 hosting `echo` and n0 hosting nothing, each behind its own frame-level proxy (which it advertises), so every
 * link between them crosses one proxy whichever side dialed; n0 sees the instance of n1. `frames` sets the hook
 * every frame between them passes.
 */
async function proxiedPair(): Promise<{ n0: ReturnType<typeof node>; n1: ReturnType<typeof node>; frames: (hook: FrameHook) => void }> {
  const hooks: FrameHook[] = [];
  const behindProxy = async (id: string, hosted: boolean, seeds: string[]): Promise<ReturnType<typeof node>> => {
    let port = 0;
    const proxy = await startTcpProxy(() => port, { frames: true });
    proxies.push(proxy);
    proxy.frames((frame, c) => {
      const hook = hooks[0];
      if (hook === undefined || c.dialer === undefined) return [frame.raw];
      const via = `${id}#${c.connection}`;
      return hook(frame, c.toTarget ? { from: c.dialer, to: id, via } : { from: id, to: c.dialer, via });
    });
    const transport = createWebSocketTransport({ host: '127.0.0.1', port: 0 });
    const n = node(id, { hosted, seeds, advertise: `ws://127.0.0.1:${proxy.port}/epara`, transport });
    await n.n.start();
    port = Number(new URL(transport.address!).port);
    return n;
  };
  const n1 = await behindProxy('n1', true, []);
  const n0 = await behindProxy('n0', false, [n1.n.address!]);
  await until(() => ready(n0.n, 'n1'), 'n0 sees the instance of n1');
  return { n0, n1, frames: (hook) => void (hooks[0] = hook) };
}

describe('a submit frame duplicated in transit', () => {
  it('arriving after its answer left: the request is not run again, and the sender keeps its one answer', async () => {
    const { n0, n1, frames } = await proxiedPair();

    // The first submit n0 sends is held back as a copy; once n1's answer to it passed the proxy, the copy goes to
    // n1 just before n0's next frame (a sync token, within a period).
    let held: Buffer | undefined;
    let via = '';
    let answered = false;
    let replayed = false;
    frames((frame, link) => {
      const type = meshTypeOf(frame);
      const toN1 = link.from === 'n0' && link.to === 'n1';
      if (toN1 && type === MESH_TYPE.submit && held === undefined) (held = frame.raw), (via = link.via);
      else if (link.from === 'n1' && type === MESH_TYPE.result && held !== undefined) answered = true;
      // On the link the submit came over (a copy on another link is another request there).
      else if (toN1 && link.via === via && answered && !replayed && held !== undefined) return ((replayed = true), [held, frame.raw]);
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

  it('a stream-open arriving again after its stream closed opens no second stream on the peer', async () => {
    const { n0, n1, frames } = await proxiedPair();
    // The stream-open is held back as a copy; once n1's summary (its stream-close) passed, the copy goes to n1 just
    // before n0's next submit, which n1 reports (requestReceived) once it handled the copy.
    let held: Buffer | undefined;
    let via = '';
    let closed = false;
    let replayed = false;
    frames((frame, link) => {
      const type = meshTypeOf(frame);
      const toN1 = link.from === 'n0' && link.to === 'n1';
      if (toN1 && type === MESH_TYPE.streamOpen && held === undefined) (held = frame.raw), (via = link.via);
      else if (link.from === 'n1' && type === MESH_TYPE.streamClose && held !== undefined) (closed = true), changed();
      else if (toN1 && link.via === via && closed && !replayed && type === MESH_TYPE.submit) return ((replayed = true), [held!, frame.raw]);
      return [frame.raw];
    });
    const stream = await n0.n.openStream('echo', { rateHz: 5, stalenessMs: 2000 });
    expect(stream.pinnedTo).toBe('n1');
    stream.push(input([1]));
    const summary = await stream.close();
    expect(summary).toMatchObject({ pushed: 1, completed: 1 });
    await until(() => closed, "n1's summary passed the proxy");
    const handled = new Promise<void>((resolve) => n1.n.once('requestReceived', () => setImmediate(resolve)));
    await n0.n.submit('echo', input([2]), { deadline: Date.now() + 10_000 });
    await handled;
    expect(replayed).toBe(true);
    // One stream opened, one on the instance: the copy did not open another that nobody would ever close.
    expect(n1.streams()).toBe(1);
  }, 60_000); // a hang guard only
});
