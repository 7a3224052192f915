import { performance } from 'node:perf_hooks';
import { EparaError, latencyAt, type LatencyProfile, type Logger, type NamedTensors } from '@epara/core';
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
  /**
   * Device time the warm-up may take on each device, ms, as the profile prices it: the sizes warmed are the
   * smallest ones whose runs ({@link RUNS_PER_SIZE} each) the profile puts within it ({@link warmSizesWithin}).
   */
  readonly budgetMs: number;
  /** The instance's profile, which prices the warm-up's runs. */
  readonly profile: LatencyProfile;
  readonly logger: Logger;
  readonly signal?: AbortSignal | undefined;
}

/**
 * How many batch sizes, from 1 up, a warm-up of `budgetMs` of device time runs: the largest `k ≤ maxBatch` with
 * `Σ_{b ≤ k} RUNS_PER_SIZE · L(b) ≤ budgetMs` under `profile`. A count decided before the first run, so a host
 * busy with other work while it warms no longer warms fewer sizes (as a budget of wall-clock time did).
 */
export function warmSizesWithin(profile: LatencyProfile, maxBatch: number, budgetMs: number): number {
  let spent = 0;
  let k = 0;
  for (let b = 1; b <= maxBatch; b++) {
    spent += RUNS_PER_SIZE * latencyAt(profile, b);
    if (spent > budgetMs) break;
    k = b;
  }
  return k;
}

/** Runs one warm-up run on a device (its outputs are not read). */
export type WarmRun = (feeds: NamedTensors, options: { outputNames?: readonly string[] }) => Promise<unknown>;

/** What a device needs to warm a model again after its worker restarted (the same sizes as at load). */
export interface WarmRecipe {
  readonly io: IoSpec;
  readonly sample: NamedTensors | undefined;
  readonly state: NamedTensors;
  readonly outputNames: readonly string[] | undefined;
  /** Batch sizes 1 … `sizes` are warmed. */
  readonly sizes: number;
}

/**
 * Warms batch sizes 1 … `recipe.sizes` through `run` ({@link RUNS_PER_SIZE} runs each, smallest first); returns the
 * sizes warmed. A failing run ends it (serving meets the same failure per batch).
 */
export async function warmWith(run: WarmRun, recipe: WarmRecipe): Promise<number> {
  const options = recipe.outputNames === undefined ? {} : { outputNames: recipe.outputNames };
  let sizes = 0;
  try {
    for (let b = 1; b <= recipe.sizes; b++) {
      for (let i = 0; i < RUNS_PER_SIZE; i++) await run(sampleFeeds(recipe.io, b, recipe.sample, recipe.state), options);
      sizes = b;
    }
  } catch {
    // stopped at the first failing size
  }
  return sizes;
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
 * small batches it met first. Sizes are warmed smallest first, as many as the profile prices within the budget
 * ({@link warmSizesWithin}; the plan's sizes are small ones); a failing run ends the warm-up without failing the
 * load — serving meets the same failure and reports it per batch. A model with free dims and no sample item is
 * not warmed. Devices that can ({@link DeviceHandle.warmAfterRestart}) are handed the recipe, to warm the same
 * sizes again when their worker restarts.
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
  const planned = warmSizesWithin(w.profile, w.maxBatch, w.budgetMs);
  try {
    for (let b = 1; b <= planned; b++) {
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
  // A restarted worker's sessions are new: the device warms the same sizes again before it serves.
  const recipe: WarmRecipe = { io: w.io, sample: w.sample, state: w.state, outputNames: w.outputNames, sizes };
  if (sizes > 0) for (const d of w.devices) d.warmAfterRestart?.(w.modelKey, (run) => warmWith(run, recipe));
  return { sizes, ms: performance.now() - start };
}
