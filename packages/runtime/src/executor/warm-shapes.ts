import { performance } from 'node:perf_hooks';
import { EparaError, type Logger, type NamedTensors } from '@epara/core';
import type { DeviceHandle } from '../devices/device-port.js';
import type { IoSpec } from './io-spec.js';
import { sampleFeeds } from './model-inputs.js';

/** What {@link warmBatchShapes} runs. */
export interface WarmShapesInput {
  readonly devices: readonly DeviceHandle[];
  /** Key of the model loaded on every device. */
  readonly modelKey: string;
  readonly io: IoSpec;
  /** One item's inputs (the service's sample), and the initial state of a stateful model. */
  readonly sample: NamedTensors | undefined;
  readonly state: NamedTensors;
  readonly outputNames: readonly string[] | undefined;
  /** The largest batch the instance may launch. */
  readonly maxBatch: number;
  /** Host time the warm-up may take in all, ms; it stops at the first batch size past it. */
  readonly budgetMs: number;
  readonly logger: Logger;
  readonly signal?: AbortSignal | undefined;
}

/** What a warm-up did: the batch sizes run (each {@link RUNS_PER_SIZE} times on every device) and how long it took. */
export interface WarmShapesResult {
  readonly sizes: number;
  readonly ms: number;
}

/** Runs per batch size: onnxruntime's first two runs at a new input shape cost 1.2–3.9× a warm one. */
export const RUNS_PER_SIZE = 2;

/**
 * Runs every batch size from 1 to `maxBatch` twice on each device, before the instance serves: onnxruntime plans
 * its memory per input shape, and the first runs at a shape cost more. Met while serving, those cold runs price
 * the larger sizes high in the learned run-time corrections for seconds, and a saturated device settles at the
 * small batches it met first. Sizes are warmed smallest first while the budget lasts (the plan's sizes are
 * small ones); a failing run ends the warm-up without failing the load — serving meets the same failure and
 * reports it per batch. A model with free dims and no sample item is not warmed.
 *
 * @throws EparaError `ABORTED` when the signal fires.
 */
export async function warmBatchShapes(w: WarmShapesInput): Promise<WarmShapesResult> {
  const start = performance.now();
  let sizes = 0;
  try {
    sampleFeeds(w.io, 1, w.sample, w.state);
  } catch {
    return { sizes, ms: 0 }; // free dims and no sample to size them: nothing to warm with
  }
  const options = w.outputNames === undefined ? {} : { outputNames: w.outputNames };
  try {
    for (let b = 1; b <= w.maxBatch && performance.now() - start < w.budgetMs; b++) {
      if (w.signal?.aborted) throw new EparaError('ABORTED', 'the load was aborted while warming batch sizes', { batch: b });
      await Promise.all(w.devices.map(async (d) => {
        for (let i = 0; i < RUNS_PER_SIZE; i++) await d.run(w.modelKey, sampleFeeds(w.io, b, w.sample, w.state), options);
      }));
      sizes = b;
    }
  } catch (err) {
    if (w.signal?.aborted) throw err;
    w.logger.warn({ modelKey: w.modelKey, batch: sizes + 1, err }, 'warming batch sizes stopped: a run failed');
  }
  return { sizes, ms: performance.now() - start };
}
