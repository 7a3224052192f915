import { describe, expect, it } from 'vitest';
import { EparaError } from '@epara/core';
import type { LocalStream, NamedTensors, StreamResult, StreamSummary } from '@epara/core';
import { createAsyncQueue } from '../util/async-queue.js';
import type { OffloadMessage } from './offload-messages.js';
import { StreamHost } from './stream-host.js';
import type { StreamRoute } from './stream-host.js';

const frame = (v: number): NamedTensors => ({ x: { type: 'float32', dims: [1], data: Float32Array.of(v) } });

/** A local stream the test drives: records pushes, emits the results the test gives it. */
function scriptedStream(id: string, o: { failPush?: boolean; failIteration?: boolean } = {}) {
  const results = createAsyncQueue<StreamResult>();
  const pushed: NamedTensors[] = [];
  let closes = 0;
  const summary: StreamSummary = { pushed: 2, completed: 1, dropped: 1 };
  const stream: LocalStream = {
    id,
    push: (f) => {
      if (o.failPush) throw new EparaError('CLOSED', 'stream closed');
      pushed.push(f);
      return pushed.length - 1;
    },
    close: async () => {
      closes++;
      results.end();
      return summary;
    },
    [Symbol.asyncIterator]: () => {
      if (o.failIteration) return { next: () => Promise.reject(new Error('device lost')) };
      return results[Symbol.asyncIterator]();
    },
  };
  return { stream, results, pushed, summary, closes: () => closes };
}

/** Lets queued promise callbacks run. */
const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

function host(open: (route: StreamRoute) => Promise<LocalStream>, failReply = false) {
  const replies: { linkId: string; m: OffloadMessage }[] = [];
  const routes: StreamRoute[] = [];
  const h = new StreamHost({
    open: (r) => (routes.push(r), open(r)),
    reply: (linkId, m) => {
      if (failReply) throw new Error('link gone');
      replies.push({ linkId, m });
    },
  });
  return { h, replies, routes };
}

const openMsg = (requestId: number, visited: string[] = []): Extract<OffloadMessage, { type: 'stream-open' }> => ({ type: 'stream-open', requestId, serviceId: 's', rateHz: 30, stalenessMs: 50, hops: 1, visited });

describe('StreamHost', () => {
  it('opens through the node with the sender added to visited, accepts, feeds frames and sends results and the summary back', async () => {
    const s = scriptedStream('a/s#1');
    const { h, replies, routes } = host(async () => s.stream);
    h.onOpen('L1', 'b', openMsg(4, ['x']));
    h.onOpen('L1', 'b', openMsg(4, ['x'])); // a repeat of the same open is ignored
    expect(h.size).toBe(1);
    await flush();
    expect(routes).toEqual([{ serviceId: 's', rateHz: 30, stalenessMs: 50, hops: 1, visited: ['x', 'b'] }]);
    expect(replies).toEqual([{ linkId: 'L1', m: { type: 'stream-accepted', requestId: 4, instanceId: 'a/s#1' } }]);
    h.onFrame('L1', { type: 'stream-frame', requestId: 4, seq: 0, inputs: frame(1) });
    h.onFrame('L2', { type: 'stream-frame', requestId: 4, seq: 0, inputs: frame(9) }); // another link's id: not this stream
    h.onFrame('L1', { type: 'stream-frame', requestId: 4, seq: 1, inputs: frame(2) });
    await flush();
    expect(s.pushed).toEqual([frame(1), frame(2)]);
    s.results.push({ seq: 0, ok: true, outputs: frame(10), latencyMs: 2 });
    s.results.push({ seq: 1, ok: false, error: new EparaError('DEADLINE_EXCEEDED', 'late') });
    await flush();
    expect(replies.slice(1).map((r) => r.m)).toEqual([
      { type: 'stream-result', requestId: 4, seq: 0, ok: true, outputs: frame(10), latencyMs: 2 },
      { type: 'stream-result', requestId: 4, seq: 1, ok: false, error: expect.objectContaining({ code: 'DEADLINE_EXCEEDED' }) },
    ]);
    h.onClose('L1', 4);
    await flush();
    expect(replies.at(-1)).toEqual({ linkId: 'L1', m: { type: 'stream-close', requestId: 4, reason: 'closed', summary: s.summary } });
    expect(h.size).toBe(0);
  });

  it('keeps visited as is when the sender is already on it', async () => {
    const s = scriptedStream('a/s#1');
    const { h, routes } = host(async () => s.stream);
    h.onOpen('L1', 'b', openMsg(1, ['b', 'c']));
    await flush();
    expect(routes[0]!.visited).toEqual(['b', 'c']);
  });

  it('an open the node refuses answers the typed error and forgets the stream', async () => {
    const { h, replies } = host(async () => Promise.reject(new EparaError('OVERLOADED', 'no room')));
    h.onOpen('L1', 'b', openMsg(3));
    await flush();
    expect(replies).toEqual([{ linkId: 'L1', m: { type: 'error', requestId: 3, error: expect.objectContaining({ code: 'OVERLOADED' }) } }]);
    expect(h.size).toBe(0);
    expect(h.indexed).toBe(0);
  });

  it('a frame the stream refuses is answered as a failed result for its seq', async () => {
    const s = scriptedStream('a/s#1', { failPush: true });
    const { h, replies } = host(async () => s.stream);
    h.onOpen('L1', 'b', openMsg(2));
    await flush();
    h.onFrame('L1', { type: 'stream-frame', requestId: 2, seq: 5, inputs: frame(1) });
    await flush();
    expect(replies.at(-1)).toEqual({ linkId: 'L1', m: { type: 'stream-result', requestId: 2, seq: 5, ok: false, error: expect.objectContaining({ code: 'CLOSED' }) } });
  });

  it('a stream that fails while iterating is reported as INTERNAL and forgotten', async () => {
    const s = scriptedStream('a/s#1', { failIteration: true });
    const { h, replies } = host(async () => s.stream);
    h.onOpen('L1', 'b', openMsg(2));
    await flush();
    expect(replies.at(-1)).toEqual({ linkId: 'L1', m: { type: 'error', requestId: 2, error: expect.objectContaining({ code: 'INTERNAL', details: { cause: 'Error: device lost' } }) } });
    expect(h.size).toBe(0);
  });

  it("a closed link closes only that link's streams; closeAll closes the rest", async () => {
    const s1 = scriptedStream('a/s#1');
    const s2 = scriptedStream('a/s#2');
    const queue = [s1.stream, s2.stream];
    const { h } = host(async () => queue.shift()!);
    h.onOpen('L1', 'b', openMsg(1));
    h.onOpen('L10', 'c', openMsg(1));
    await flush();
    h.onLinkClosed('L1');
    await flush();
    // (the pipe closes it once more after its iteration ends, which a LocalStream allows)
    expect(s1.closes()).toBeGreaterThanOrEqual(1);
    expect(s2.closes()).toBe(0);
    await h.closeAll();
    expect(s2.closes()).toBeGreaterThanOrEqual(1);
  });

  it('a link that is gone when answering does not throw', async () => {
    const s = scriptedStream('a/s#1');
    const { h } = host(async () => s.stream, true);
    h.onOpen('L1', 'b', openMsg(1));
    await flush();
    s.results.push({ seq: 0, ok: true, outputs: frame(10), latencyMs: 2 });
    h.onClose('L1', 1);
    await flush();
    expect(h.size).toBe(0);
  });

  it('frames and the close of a stream reach it over another of its opener’s links; answers go back on the link it was opened on', async () => {
    // Two links to one peer (both dialed at once): the open went on the link its dial opened (L2), the frames and
    // the close on the link the opener picks first (L1). Before, they found no stream on L1 and were dropped: each
    // frame waited out its staleness limit and the grace, and the stream held its rate here until L2 closed.
    const s = scriptedStream('a/s#1');
    const { h, replies } = host(async () => s.stream);
    h.onOpen('L2', 'b', openMsg(4));
    await flush();
    h.onFrame('L1', { type: 'stream-frame', requestId: 4, seq: 0, inputs: frame(1) }, 'b');
    h.onFrame('L3', { type: 'stream-frame', requestId: 4, seq: 1, inputs: frame(9) }, 'c'); // another sender: not this stream
    h.onFrame('L2', { type: 'stream-frame', requestId: 4, seq: 1, inputs: frame(2) }, 'b');
    await flush();
    expect(s.pushed).toEqual([frame(1), frame(2)]);
    s.results.push({ seq: 0, ok: true, outputs: frame(10), latencyMs: 2 });
    await flush();
    expect(replies.at(-1)).toEqual({ linkId: 'L2', m: { type: 'stream-result', requestId: 4, seq: 0, ok: true, outputs: frame(10), latencyMs: 2 } });
    h.onClose('L1', 4, 'b');
    await flush();
    expect(replies.at(-1)).toMatchObject({ linkId: 'L2', m: { type: 'stream-close', requestId: 4 } });
    expect(h.size).toBe(0);
    // Found by its opener and id, not by a scan of every hosted stream; nothing stays indexed once it ended.
    expect(h.indexed).toBe(0);
    h.onFrame('L1', { type: 'stream-frame', requestId: 4, seq: 2, inputs: frame(3) }, 'b'); // after the end: no stream
    await flush();
    expect(s.pushed).toEqual([frame(1), frame(2)]);
  });
});
