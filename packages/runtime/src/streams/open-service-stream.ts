import type { Clock, LocalStreamOptions, NamedTensors } from '@epara/core';
import type { StreamSlot } from '../batching/work-item.js';
import type { StreamCounters } from '../executor/executor-stats.js';
import { ExecutorStream } from './executor-stream.js';

/** An instance a stream's rate is charged to. */
interface RateHolder {
  streamRateHz: number;
  readonly initialState: NamedTensors;
}

/**
 * Opens a stream on a service: charges its rate to the ready instances (released at close), creates the
 * per-stream state slot of a stateful service, counts frames, and closes the stream when its signal fires.
 */
export function openServiceStream(o: {
  id: string;
  stateful: boolean;
  options: LocalStreamOptions;
  stalenessMs: number;
  instances: readonly RateHolder[];
  clock: Clock;
  counters: StreamCounters;
  enqueueFrame: (frame: NamedTensors, deadline: number, signal: AbortSignal, slot: StreamSlot | undefined) => Promise<NamedTensors>;
  released: (stream: ExecutorStream) => void;
}): ExecutorStream {
  const share = o.options.rateHz / o.instances.length;
  for (const i of o.instances) i.streamRateHz += share;
  const slot: StreamSlot | undefined = o.stateful ? { streamId: o.id, inFlight: false, state: o.instances[0]!.initialState } : undefined;
  o.counters.opened++;
  const stream: ExecutorStream = new ExecutorStream({
    id: o.id,
    clock: o.clock,
    stalenessMs: o.stalenessMs,
    runner: {
      runFrame: (frame, deadline, signal) => {
        const done = o.enqueueFrame(frame, deadline, signal, slot);
        o.counters.pushed++;
        return done;
      },
      released: (summary) => {
        for (const i of o.instances) i.streamRateHz = Math.max(0, i.streamRateHz - share);
        o.counters.completed += summary.completed;
        o.counters.dropped += summary.dropped;
        o.counters.stale += summary.stale;
        o.released(stream);
      },
    },
  });
  const signal = o.options.signal;
  if (signal) {
    if (signal.aborted) void stream.close();
    else signal.addEventListener('abort', () => void stream.close(), { once: true });
  }
  return stream;
}
