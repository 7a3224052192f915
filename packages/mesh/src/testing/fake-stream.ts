import { EparaError } from '@epara/core';
import type { Clock, LocalStream, NamedTensors, StreamResult, StreamSummary } from '@epara/core';
import { createAsyncQueue } from '../util/async-queue.js';
import type { FakeInstance } from './fake-instance.js';

/** What {@link openFakeStream} needs. */
export interface FakeStreamInit {
  readonly id: string;
  readonly instance: FakeInstance;
  readonly rateHz: number;
  readonly stalenessMs: number;
  readonly clock: Clock;
  readonly isFrozen: () => boolean;
}

/**
 * A stream pinned to one fake instance: each frame is queued with deadline `push time + stalenessMs`;
 * results are released strictly in push order.
 */
export function openFakeStream(init: FakeStreamInit): LocalStream {
  const { instance, clock } = init;
  instance.streamRateHz += init.rateHz;
  const results = createAsyncQueue<StreamResult>();
  const settled = new Map<number, StreamResult>();
  const counts = { pushed: 0, completed: 0, dropped: 0 };
  let nextOut = 0;
  let closed = false;
  let onAllSettled: (() => void) | undefined;
  const release = (): void => {
    for (let r = settled.get(nextOut); r; r = settled.get(nextOut)) {
      settled.delete(nextOut++);
      results.push(r);
    }
    if (closed && nextOut === counts.pushed) onAllSettled?.();
  };
  const settle = (r: StreamResult): void => {
    if (r.ok) counts.completed++;
    else counts.dropped++;
    settled.set(r.seq, r);
    release();
  };
  return {
    id: init.id,
    push(frame: NamedTensors): number {
      if (closed) throw new EparaError('CLOSED', `stream ${init.id} is closed`);
      const seq = counts.pushed++;
      const pushedAt = clock.now();
      instance.enqueue({
        inputs: frame,
        deadline: pushedAt + init.stalenessMs,
        resolve: (outputs) => settle({ seq, ok: true, outputs, latencyMs: clock.now() - pushedAt }),
        reject: (err) => settle({ seq, ok: false, error: err.code === 'DEADLINE_EXCEEDED' ? new EparaError('STALE_FRAME', err.message) : err }),
      });
      return seq;
    },
    async close(): Promise<StreamSummary> {
      if (!closed) {
        closed = true;
        if (!init.isFrozen() && nextOut < counts.pushed) await new Promise<void>((r) => (onAllSettled = r));
        instance.streamRateHz -= init.rateHz;
        results.end();
      }
      return { ...counts };
    },
    [Symbol.asyncIterator]: () => results[Symbol.asyncIterator](),
  };
}
