import { BroadcastChannel } from 'node:worker_threads';
import { createGraphBuilder, type ExecutorServiceOptions } from '@epara/runtime';
import type { NamedTensors } from '@epara/core';

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
