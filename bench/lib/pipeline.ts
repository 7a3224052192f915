/**
 * Measurement for `pipelineSpeedup2`: throughput of a model split into two pipeline stages on two one-thread
 * devices, against the whole model on one one-thread device with the same batch size, in the same run.
 *
 * The model is a generated MLP whose two halves cost the same (three 1024×1024 layers each, ~10 ms per batch of 32 on one thread), so the ideal
 * speedup is 2. The baseline is faithful: the whole model's batches are queued to its device back to back
 * (no idle gaps between runs), which is what a single-device server at full load does.
 *
 * The pipeline hands the cut value from stage 1's worker to stage 2's directly (`handoff: 'direct'`); the same
 * stages with `handoff: 'host'` (values back through the main thread) run in the same rounds for comparison,
 * and the engine's counters give the hand-off bytes per item that crossed the main thread in each mode.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { NamedTensors } from '@epara/core';
import { buildMlp, createDevice, createPipelineEngine, splitModel, type DeviceHandle, type PipelineEngine } from '@epara/runtime';

/** Options of {@link measurePipelineSpeedup}. */
export interface PipelineSpeedupOptions {
  /** Rows per batch (both systems). @default 32 */
  readonly batchSize?: number;
  /** Batches timed per round. @default 20 */
  readonly batches?: number;
  /** Alternating rounds (baseline, pipeline, baseline, …); the median ratio is reported. @default 5 */
  readonly rounds?: number;
  /** Width of every layer. @default 1024 */
  readonly width?: number;
}

/** Result of {@link measurePipelineSpeedup}. */
export interface PipelineSpeedupResult {
  /** Pipeline items/s ÷ whole-model items/s (median over rounds), direct worker-to-worker hand-offs. */
  readonly speedup: number;
  readonly pipelineItemsPerSec: number;
  /** The same with hand-offs through the main thread. */
  readonly speedupViaHost: number;
  readonly viaHostItemsPerSec: number;
  /** Hand-off bytes per item that crossed the main thread: direct mode (≈ 0), host mode. */
  readonly hostHandoffBytesPerItem: number;
  readonly hostHandoffBytesPerItemViaHost: number;
  /** Hand-off bytes per item the workers sent each other directly. */
  readonly directHandoffBytesPerItem: number;
  /**
   * The main thread's own CPU time per item over the pipeline rounds, µs (Linux schedstat; null elsewhere): direct
   * mode, host mode. What the hand-offs cost the main thread is their difference: direct mode still dispatches
   * each stage and hears its answer, but no stage-to-stage value crosses it.
   */
  readonly mainThreadCpuUsPerItem: number | null;
  readonly mainThreadCpuUsPerItemViaHost: number | null;
  /** The main thread's CPU per item as a share of the stages' compute per item (Σ stage busy time), direct and host mode. */
  readonly mainThreadCpuShare: number | null;
  readonly mainThreadCpuShareViaHost: number | null;
  readonly wholeItemsPerSec: number;
  readonly batchSize: number;
  readonly batchesPerRound: number;
  readonly rounds: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** This thread's time on a CPU, ns (Linux), or null. */
function threadCpuNs(): number | null {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}

function item(width: number, seed: number): NamedTensors {
  return { x: { type: 'float32', dims: [1, width], data: Float32Array.from({ length: width }, (_, i) => Math.sin(seed + i)) } };
}

function batch(width: number, rows: number): NamedTensors {
  return { x: { type: 'float32', dims: [rows, width], data: Float32Array.from({ length: rows * width }, (_, i) => Math.cos(i)) } };
}

async function timeWhole(device: DeviceHandle, width: number, rows: number, batches: number): Promise<number> {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: batches }, () => device.run('whole', batch(width, rows))));
  return (rows * batches * 1000) / (performance.now() - t0);
}

/**
 * Measures the two-stage pipeline speedup on this machine. Starts three one-thread devices (two stages and
 * the baseline) and closes them before returning.
 */
export async function measurePipelineSpeedup(options: PipelineSpeedupOptions = {}): Promise<PipelineSpeedupResult> {
  const { batchSize = 32, batches = 20, rounds = 5, width = 1024 } = options;
  const model = buildMlp({ inputSize: width, hidden: Array(5).fill(width), outputs: width, seed: 7 });
  const [s0, s1] = splitModel(model, { cutTensors: ['h2'] });
  const devices = ['pipe-a', 'pipe-b', 'whole'].map((id) => createDevice({ id, threads: 1 }));
  const [a, b, whole] = devices as [DeviceHandle, DeviceHandle, DeviceHandle];
  const stages = [{ device: a, model: { bytes: s0!.bytes } }, { device: b, model: { bytes: s1!.bytes } }];
  const engine = createPipelineEngine({ stages, batchSize, handoff: 'direct' });
  const viaHost = createPipelineEngine({ stages, batchSize, handoff: 'host' });
  try {
    await Promise.all([engine.start(), viaHost.start(), whole.loadModel('whole', { bytes: model })]);
    // Main-thread CPU (ns), items and stage compute (ms) over the measured rounds, per engine.
    const cpu = new Map<PipelineEngine, { ns: number | null; items: number; busyMs: number }>();
    const runPipeline = async (e: PipelineEngine, n: number, measured = true): Promise<number> => {
      const inputs = Array.from({ length: n * batchSize }, (_, i) => item(width, i)); // made before the CPU window opens
      const t0 = performance.now();
      const c0 = threadCpuNs();
      const busy0 = e.stats().stageBusyMs.reduce((x, y) => x + y, 0);
      const deadline = Date.now() + 600_000;
      await Promise.all(inputs.map((x) => e.submit(x, { deadline, priority: 0 })));
      const c1 = threadCpuNs();
      if (measured) {
        const acc = cpu.get(e) ?? { ns: 0, items: 0, busyMs: 0 };
        acc.ns = c0 === null || c1 === null || acc.ns === null ? null : acc.ns + (c1 - c0);
        acc.items += n * batchSize;
        acc.busyMs += e.stats().stageBusyMs.reduce((x, y) => x + y, 0) - busy0;
        cpu.set(e, acc);
      }
      return (n * batchSize * 1000) / (performance.now() - t0);
    };
    await runPipeline(engine, 4, false); // warm-up
    await runPipeline(viaHost, 4, false);
    await timeWhole(whole, width, batchSize, 4);
    const ratios: number[] = [];
    const hostRatios: number[] = [];
    const pipe: number[] = [];
    const pipeHost: number[] = [];
    const base: number[] = [];
    for (let r = 0; r < rounds; r++) {
      base.push(await timeWhole(whole, width, batchSize, batches));
      // Alternate which mode runs right after the baseline: that position measured slower in either mode.
      if (r % 2 === 0) {
        pipe.push(await runPipeline(engine, batches));
        pipeHost.push(await runPipeline(viaHost, batches));
      } else {
        pipeHost.push(await runPipeline(viaHost, batches));
        pipe.push(await runPipeline(engine, batches));
      }
      ratios.push(pipe[pipe.length - 1]! / base[base.length - 1]!);
      hostRatios.push(pipeHost[pipeHost.length - 1]! / base[base.length - 1]!);
    }
    const perItem = (e: PipelineEngine, field: 'handoffBytesViaHost' | 'handoffBytesDirect'): number => e.stats()[field] / e.stats().completedItems;
    const cpuUs = (e: PipelineEngine): number | null => {
      const acc = cpu.get(e);
      return acc === undefined || acc.ns === null ? null : acc.ns / 1000 / acc.items;
    };
    const cpuShare = (e: PipelineEngine): number | null => {
      const acc = cpu.get(e);
      return acc === undefined || acc.ns === null || acc.busyMs <= 0 ? null : acc.ns / 1e6 / acc.busyMs;
    };
    return {
      speedup: median(ratios),
      pipelineItemsPerSec: median(pipe),
      speedupViaHost: median(hostRatios),
      viaHostItemsPerSec: median(pipeHost),
      hostHandoffBytesPerItem: perItem(engine, 'handoffBytesViaHost'),
      hostHandoffBytesPerItemViaHost: perItem(viaHost, 'handoffBytesViaHost'),
      directHandoffBytesPerItem: perItem(engine, 'handoffBytesDirect'),
      mainThreadCpuUsPerItem: cpuUs(engine),
      mainThreadCpuUsPerItemViaHost: cpuUs(viaHost),
      mainThreadCpuShare: cpuShare(engine),
      mainThreadCpuShareViaHost: cpuShare(viaHost),
      wholeItemsPerSec: median(base),
      batchSize,
      batchesPerRound: batches,
      rounds,
    };
  } finally {
    await Promise.all([engine.close(), viaHost.close()]);
    await Promise.all(devices.map((d) => d.close()));
  }
}
