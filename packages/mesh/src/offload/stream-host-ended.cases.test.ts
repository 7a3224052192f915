import { describe, expect, it } from 'vitest';
import { EparaError } from '@epara/core';
import type { LocalStream, NamedTensors, StreamResult } from '@epara/core';
import { createAsyncQueue } from '../util/async-queue.js';
import type { OffloadMessage } from './offload-messages.js';
import { StreamHost } from './stream-host.js';

// A stream-open repeated in transit after its stream ended opens nothing (the ids ended on a link are kept, the
// most recent 1,024); a stream opened twice by one opener over two links keeps the first in the index by opener,
// whatever happens to the second; a frame on the link of a stream goes to that stream.

const frame = (v: number): NamedTensors => ({ x: { type: 'float32', dims: [1], data: Float32Array.of(v) } });
const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

function recordingStream(id: string): { stream: LocalStream; pushed: NamedTensors[] } {
  const results = createAsyncQueue<StreamResult>();
  const pushed: NamedTensors[] = [];
  const stream: LocalStream = {
    id,
    push: (f) => (pushed.push(f), pushed.length - 1),
    close: async () => (results.end(), { pushed: pushed.length, completed: 0, dropped: 0 }),
    [Symbol.asyncIterator]: () => results[Symbol.asyncIterator](),
  };
  return { stream, pushed };
}

const openMsg = (requestId: number): Extract<OffloadMessage, { type: 'stream-open' }> => ({ type: 'stream-open', requestId, serviceId: 's', rateHz: 30, stalenessMs: 50, hops: 1, visited: [] });
const frameMsg = (requestId: number, seq: number, v: number): Extract<OffloadMessage, { type: 'stream-frame' }> => ({ type: 'stream-frame', requestId, seq, inputs: frame(v) });

describe('StreamHost: repeated opens and the index by opener', () => {
  it('a repeated open of a stream that ended on its link opens nothing, also after other streams opened on the link', async () => {
    let opens = 0;
    const h = new StreamHost({
      open: async () => {
        // The first open is refused (its stream ended at once); the others open.
        if (opens++ === 0) throw new EparaError('OVERLOADED', 'no room');
        return recordingStream(`s${opens}`).stream;
      },
      reply: () => undefined,
    });
    h.onOpen('L1', 'b', openMsg(1)); // refused: ended
    await flush();
    h.onOpen('L1', 'b', openMsg(2)); // opens
    await flush();
    expect(opens).toBe(2);
    h.onOpen('L1', 'b', openMsg(1)); // a copy of the first, after it ended: nothing
    await flush();
    expect(opens).toBe(2);
    // On another link the same id is another stream.
    h.onOpen('L2', 'c', openMsg(1));
    await flush();
    expect(opens).toBe(3);
  });

  it('keeps the most recent 1,024 ended ids of a link', async () => {
    let opens = 0;
    const h = new StreamHost({
      open: async () => {
        opens++;
        throw new EparaError('OVERLOADED', 'no room');
      },
      reply: () => undefined,
    });
    for (let id = 1; id <= 1025; id++) h.onOpen('L1', 'b', openMsg(id));
    await flush();
    expect(opens).toBe(1025);
    // The newest 1,024 are known: a copy of any opens nothing; the oldest fell out and opens again.
    h.onOpen('L1', 'b', openMsg(2));
    h.onOpen('L1', 'b', openMsg(1025));
    await flush();
    expect(opens).toBe(1025);
    h.onOpen('L1', 'b', openMsg(1));
    await flush();
    expect(opens).toBe(1026);
  });

  it("an opener's stream opened again over another link: frames from another of its links go to the first, also after the second ended", async () => {
    const first = recordingStream('first');
    const second = recordingStream('second');
    const streams = [first.stream, second.stream];
    const h = new StreamHost({ open: async () => streams.shift()!, reply: () => undefined });
    h.onOpen('L1', 'b', openMsg(4));
    h.onOpen('L2', 'b', openMsg(4));
    await flush();
    expect(h.indexed).toBe(1);
    h.onFrame('L3', frameMsg(4, 0, 1), 'b');
    // On the second's own link a frame goes to the second, whoever sent it.
    h.onFrame('L2', frameMsg(4, 0, 2), 'b');
    await flush();
    expect(first.pushed).toEqual([frame(1)]);
    expect(second.pushed).toEqual([frame(2)]);
    // The second ends: the first stays indexed by its opener.
    h.onClose('L2', 4);
    await flush();
    expect(h.indexed).toBe(1);
    h.onFrame('L3', frameMsg(4, 1, 3), 'b');
    await flush();
    expect(first.pushed).toEqual([frame(1), frame(3)]);
  });

  it('a frame without an opener finds only the stream of its own link, even for an opener named "undefined"', async () => {
    const s = recordingStream('s');
    const h = new StreamHost({ open: async () => s.stream, reply: () => undefined });
    h.onOpen('L1', 'undefined', openMsg(4));
    await flush();
    h.onFrame('L2', frameMsg(4, 0, 1));
    await flush();
    expect(s.pushed).toEqual([]);
  });
});
