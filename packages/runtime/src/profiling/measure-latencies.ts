import { performance } from 'node:perf_hooks';
import { EparaError, type Clock, type NamedTensors, type ProfileSample } from '@epara/core';
import type { DeviceHandle } from '../devices/device-port.js';

/** Inputs of {@link measureLatencies}. */
export interface MeasureOptions {
  readonly device: DeviceHandle;
  /** Key of a model already loaded on the device. */
  readonly modelKey: string;
  readonly batchSizes: readonly number[];
  /** Inputs of a batch of `b` items (fresh buffers each call: they are transferred to the worker). */
  readonly inputs: (batch: number) => NamedTensors;
  readonly warmup: number;
  readonly repetitions: number;
  /** The outputs each run fetches (a service's `outputNames`, its state outputs). @default every output */
  readonly outputNames?: readonly string[];
  readonly signal?: AbortSignal;
  /** Called after each timed run. */
  readonly onSample?: (sample: ProfileSample) => void;
  /** What each run is timed with (ms). @default the monotonic `performance.now()` ({@link MONOTONIC_CLOCK}) */
  readonly clock?: Clock;
  /**
   * Bytes a batch's inputs and its outputs may each hold: a batch size whose inputs (`inputs` bytes per item, read
   * from the first batch size's feeds) or outputs (per item, read from its answer) would hold more is not measured,
   * nor any larger one — the first batch size always is. @default no limit
   */
  readonly maxBatchBytes?: { readonly inputs: number; readonly outputs: number };
}

/** `performance.now()` as a {@link Clock}: what runs are timed with unless a caller passes another. */
const MONOTONIC_CLOCK: Clock = { now: () => performance.now() };

/**
 * Times the model at each batch size as the executor sees it (dispatch to outputs on the host, which
 * includes the hop to the worker): `warmup` untimed runs, then `repetitions` timed ones.
 *
 * @throws EparaError `ABORTED` when the signal fires; the device's errors otherwise.
 */
export async function measureLatencies(o: MeasureOptions): Promise<ProfileSample[]> {
  const samples: ProfileSample[] = [];
  const clock = o.clock ?? MONOTONIC_CLOCK;
  /** Bytes of one item's inputs and outputs, from the first batch size's first run. */
  let perItem: { inputs: number; outputs: number } | undefined;
  for (const batch of o.batchSizes) {
    if (perItem !== undefined && o.maxBatchBytes !== undefined && (batch * perItem.inputs > o.maxBatchBytes.inputs || batch * perItem.outputs > o.maxBatchBytes.outputs)) break;
    for (let i = 0; i < o.warmup + o.repetitions; i++) {
      if (o.signal?.aborted) throw new EparaError('ABORTED', 'profiling was aborted', { batch });
      const feeds = o.inputs(batch);
      // Read before the run: the feeds' buffers are transferred to the worker.
      const inBytes = perItem === undefined ? tensorsBytes(feeds) : 0;
      const start = clock.now();
      const outputs = await o.device.run(o.modelKey, feeds, { ...(o.outputNames ? { outputNames: o.outputNames } : {}), ...(o.signal ? { signal: o.signal } : {}) });
      const ms = clock.now() - start;
      perItem ??= { inputs: inBytes / batch, outputs: tensorsBytes(outputs) / batch };
      if (i < o.warmup) continue;
      const sample = { batch, ms: Math.max(ms, 1e-3) };
      samples.push(sample);
      o.onSample?.(sample);
    }
  }
  return samples;
}

/** Powers of two up to `maxBatch`, with `maxBatch` itself last: the default batch sizes to profile. */
export function defaultBatchSizes(maxBatch: number): number[] {
  const out: number[] = [];
  for (let b = 1; b < maxBatch; b *= 2) out.push(b);
  out.push(maxBatch);
  return out;
}

/** Bytes the tensors' data takes (a string tensor: its characters). */
function tensorsBytes(tensors: NamedTensors): number {
  let n = 0;
  for (const t of Object.values(tensors)) {
    if (Array.isArray(t.data)) for (const v of t.data as readonly unknown[]) n += typeof v === 'string' ? v.length : 8;
    else n += (t.data as ArrayBufferView).byteLength;
  }
  return n;
}
