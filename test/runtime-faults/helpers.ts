import { BroadcastChannel } from 'node:worker_threads';
import { afterAll, beforeAll } from 'vitest';
import { createExecutor, createGraphBuilder, type Executor, type ExecutorServiceOptions } from '@epara/runtime';
import { createManualClock, type NamedTensors } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';

/**
 * A real ONNX model for onnxruntime-node: `y = x + k` over `x f32[batch, 4]` (one Add node), so every answer is
 * known exactly.
 */
export function addModel(k: number): Uint8Array {
  const g = createGraphBuilder({ name: 'add' });
  g.input('x', 'float32', ['batch', 4]);
  g.node('Add', ['x', g.constant('k', 'float32', [1], new Float32Array([k]))], ['y']);
  g.output('y', 'float32', ['batch', 4]);
  return g.toBytes();
}

/** One item of {@link addModel}'s input, every element `v`. */
export function item(v: number): NamedTensors {
  return { x: { type: 'float32', dims: [1, 4], data: new Float32Array([v, v, v, v]) } };
}

/** The first element of output `y`. */
export function first(outputs: NamedTensors): number {
  return (outputs['y']!.data as Float32Array)[0]!;
}

/** A service of {@link addModel} (`k` = 1) on `cpu0`, loaded at `start()`, with a deadline a minute away. */
export function addService(over: Partial<ExecutorServiceOptions> = {}): ExecutorServiceOptions {
  return { id: 'add', model: addModel(1), sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 60_000 }, sampleInputs: item(0), devices: ['cpu0'], maxBatch: 4, ...over };
}

/**
 * The real device worker with faults injected through a run's input (see the file): -99 exits the thread, -77
 * blocks it for ten minutes. Runs sent through the doorbell are not seen by it: set `doorbellSlotBytes: 0`.
 */
export const faultyWorkerUrl = new URL('./fixtures/faulty-device-worker.mjs', import.meta.url);
export const CRASH = -99;
export const HANG = -77;
/** A prompt token that makes {@link faultyWorkerUrl}'s worker exit when a generation prefill holds it. */
export const KV_CRASH_TOKEN = 37;

/**
 * Resolves once a {@link faultyWorkerUrl} worker is inside a run holding {@link HANG} (it says so on a broadcast
 * channel before it blocks): call it before sending the run.
 */
export function inStuckRun(): Promise<void> {
  const channel = new BroadcastChannel('epara-faulty-worker');
  return new Promise<void>((resolve) => {
    channel.onmessage = () => {
      channel.close();
      resolve();
    };
  });
}

/** How long past its deadline a request whose batch the device never answers is given up on (docs/runtime.md). */
export const OVERDUE_GRACE_MS = 10_000;

/**
 * Call inside a `describe`: an executor on one {@link faultyWorkerUrl} device serving {@link addService} one item
 * per batch, on a manual clock and manual timers, started before the tests and closed after them. `pumped(p)` fires
 * the manual timers due now until `p` settles: the scheduler arms a wake-up once a batch is on the device, which can
 * come after the test's advance (a platform timer armed in the past fires at once; so does a manual one, at the next
 * pump). The clock does not move.
 */
export function manualWatchdogExecutor(): {
  readonly clock: ReturnType<typeof createManualClock>;
  readonly timers: ReturnType<typeof createManualTimers>;
  readonly ex: () => Executor;
  pumped<T>(p: Promise<T>): Promise<T>;
} {
  const clock = createManualClock(1_000_000);
  const timers = createManualTimers(clock);
  let ex: Executor | undefined;
  beforeAll(async () => {
    ex = createExecutor({
      clock,
      timers,
      adaptLatency: false,
      devices: [{ id: 'cpu0', workerUrl: faultyWorkerUrl, doorbellSlotBytes: 0, closeWaitMs: 500 }],
      services: [addService({ maxBatch: 1 })],
    });
    await ex.start();
  });
  afterAll(async () => {
    await ex?.close();
  });
  return {
    clock,
    timers,
    ex: () => ex!,
    async pumped<T>(p: Promise<T>): Promise<T> {
      let done = false;
      const out = p.finally(() => {
        done = true;
      });
      while (!done) {
        timers.advance(0);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      return out;
    },
  };
}
