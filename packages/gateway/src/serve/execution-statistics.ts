import type { Executor } from '@epara/runtime';
import type { DurationStat, ExecutionStatistics } from '../inference/model-statistics.js';

/** A count and a total in ms, turned into a {@link DurationStat} when read. */
interface Sum {
  count: number;
  ms: number;
}

interface BatchSums {
  readonly input: Sum;
  readonly infer: Sum;
  readonly output: Sum;
}

interface ServiceSums extends BatchSums {
  executions: number;
  readonly queue: Sum;
  readonly bySize: Map<number, BatchSums>;
}

const sums = (): BatchSums => ({ input: { count: 0, ms: 0 }, infer: { count: 0, ms: 0 }, output: { count: 0, ms: 0 } });
const stat = (s: Sum): DurationStat => ({ count: s.count, ns: Math.round(s.ms * 1e6) });

/** An executor's statistics per service, kept from its events until `close()`. */
export interface ExecutionStatisticsCollector {
  /** What the executor measured for `serviceId` so far (`undefined`: nothing ran here). */
  of(serviceId: string): ExecutionStatistics | undefined;
  /** Stops listening. */
  close(): void;
}

/**
 * Keeps Triton's execution statistics of every service from an executor's events: each successful batch is an
 * execution (`compute_infer` its run in the backend, `compute_input` the rest of its time from dispatch to
 * outputs on the host: moving inputs to the device worker and outputs back, measured together, so
 * `compute_output` counts the batch with 0 ns), and each request that ran adds its wait in the queue.
 *
 * @example
 * ```ts
 * const stats = collectExecutionStatistics(executor);
 * createGateway({ node, models, executionStatistics: (m) => stats.of(m.serviceId) });
 * ```
 */
export function collectExecutionStatistics(executor: Pick<Executor, 'on' | 'off'>): ExecutionStatisticsCollector {
  const services = new Map<string, ServiceSums>();
  const service = (id: string): ServiceSums => {
    let s = services.get(id);
    if (!s) services.set(id, (s = { executions: 0, queue: { count: 0, ms: 0 }, bySize: new Map(), ...sums() }));
    return s;
  };
  const add = (b: BatchSums, runMs: number, durationMs: number): void => {
    b.infer.count++;
    b.infer.ms += runMs;
    b.input.count++;
    b.input.ms += Math.max(0, durationMs - runMs);
    b.output.count++;
  };
  const onBatch = (e: { serviceId: string; size: number; durationMs: number; runMs: number; ok: boolean }): void => {
    if (!e.ok) return;
    const s = service(e.serviceId);
    s.executions++;
    add(s, e.runMs, e.durationMs);
    let b = s.bySize.get(e.size);
    if (!b) s.bySize.set(e.size, (b = sums()));
    add(b, e.runMs, e.durationMs);
  };
  const onRequest = (e: { serviceId: string; enqueuedAt: number; startedAt?: number }): void => {
    if (e.startedAt === undefined) return; // never ran: no wait to report
    const q = service(e.serviceId).queue;
    q.count++;
    q.ms += Math.max(0, e.startedAt - e.enqueuedAt);
  };
  executor.on('batchCompleted', onBatch);
  executor.on('requestCompleted', onRequest);
  return {
    of(serviceId) {
      const s = services.get(serviceId);
      if (!s) return undefined;
      return {
        executions: s.executions,
        queue: stat(s.queue),
        computeInput: stat(s.input),
        computeInfer: stat(s.infer),
        computeOutput: stat(s.output),
        batches: [...s.bySize]
          .sort(([a], [b]) => a - b)
          .map(([batchSize, b]) => ({ batchSize, computeInput: stat(b.input), computeInfer: stat(b.infer), computeOutput: stat(b.output) })),
      };
    },
    close() {
      executor.off('batchCompleted', onBatch);
      executor.off('requestCompleted', onRequest);
    },
  };
}
