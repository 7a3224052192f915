import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { isEparaError, type NamedTensors } from '@epara/core';
import type { ItemDone, WorkItem } from './work-item.js';
import { QueuedRequest, type QueuedRequestHost, type QueuedRequestInit } from './queued-request.js';

/*
 * Requests queued with one abort signal share one 'abort' listener on it: the listener stays while any of them is
 * unsettled, goes with the last, and an abort reaches every one still queued — and a request that settled while the
 * abort was being dispatched to the group is not settled a second time.
 */

const init = (signal: AbortSignal, seq: number): QueuedRequestInit => ({
  seq,
  inputs: {},
  key: 'k',
  costScale: 1,
  deadline: 100,
  priority: 0,
  enqueuedAt: 0,
  frame: false,
  slot: undefined,
  signal,
  trace: undefined,
  leased: false,
});

const outputs: NamedTensors = { y: { type: 'float32', dims: [1], data: new Float32Array([1]) } };
const done: ItemDone = { startedAt: 1, finishedAt: 2, batchSize: 1, deviceId: 'd0' };

interface Host {
  host: QueuedRequestHost;
  completed: [WorkItem, string][];
  /** Called on each completion, before it is recorded. */
  onCompleted?: (item: WorkItem) => void;
}

function host(): Host {
  const h: Host = {
    completed: [],
    host: {
      serviceId: 'svc',
      withdraw: () => true,
      completed: (item, outcome) => {
        h.onCompleted?.(item);
        h.completed.push([item, outcome]);
      },
    },
  };
  return h;
}

const outcomes = (h: Host, q: QueuedRequest): string[] => h.completed.filter(([item]) => item === q).map(([, o]) => o);

describe('QueuedRequest: requests sharing an abort signal', () => {
  it('puts one listener on the signal for any number of requests, and removes it with the last one settled', () => {
    const ac = new AbortController();
    const h = host();
    const requests = Array.from({ length: 12 }, (_, i) => new QueuedRequest(init(ac.signal, i), h.host));
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    for (const q of requests.slice(0, 11)) q.settle(undefined, outputs, done);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    requests[11]!.settle(undefined, outputs, done);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('aborts the requests still queued when one of the group settled before the abort', async () => {
    const ac = new AbortController();
    const h = host();
    const first = new QueuedRequest(init(ac.signal, 1), h.host);
    const second = new QueuedRequest(init(ac.signal, 2), h.host);
    first.settle(undefined, outputs, done);
    ac.abort();
    await expect(first.promise).resolves.toBe(outputs);
    const err = await second.promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isEparaError(err) && err.code).toBe('ABORTED');
    expect(outcomes(h, second)).toEqual(['ABORTED']);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('does not abort a request that settled while the abort went through the group', async () => {
    const ac = new AbortController();
    const h = host();
    const first = new QueuedRequest(init(ac.signal, 1), h.host);
    const second = new QueuedRequest(init(ac.signal, 2), h.host);
    // The first request's abort completes the second (as a batch ending in the host's completion could).
    h.onCompleted = (item) => {
      if (item === first) second.settle(undefined, outputs, done);
    };
    ac.abort();
    await expect(first.promise).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(second.promise).resolves.toBe(outputs);
    expect(outcomes(h, first)).toEqual(['ABORTED']);
    expect(outcomes(h, second)).toEqual(['ok']);
  });
});
