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
  for (const batch of o.batchSizes) {
    for (let i = 0; i < o.warmup + o.repetitions; i++) {
      if (o.signal?.aborted) throw new EparaError('ABORTED', 'profiling was aborted', { batch });
      const feeds = o.inputs(batch);
      const start = clock.now();
      await o.device.run(o.modelKey, feeds, { ...(o.outputNames ? { outputNames: o.outputNames } : {}), ...(o.signal ? { signal: o.signal } : {}) });
      const ms = clock.now() - start;
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
