import { isEparaError } from '@epara/core';
import type { NamedTensors } from '@epara/core';
import { createDevice } from '@epara/runtime';
import type { DeviceHandle } from '@epara/runtime';
import { sampleCandidates, sampleInputs } from './model-metadata.js';
import type { ModelIo } from './model-metadata.js';

/** A service whose default load-time sample failed. */
export interface ProbedService {
  readonly id: string;
  /** The ONNX file. */
  readonly model: string;
  readonly io: ModelIo;
  /** The outputs the service fetches (all when absent). */
  readonly outputNames?: readonly string[];
}

/**
 * Finds a load-time sample a model runs on when it failed on the default one (zeros, each free data dimension
 * 1): the first of the other {@link sampleCandidates} — ones instead of zeros (an integer input it divides by),
 * larger free dimensions (a window or a reflect padding wider than one element) — that runs once on a device of
 * the prober's own. `undefined` when there is no other candidate, the model does not load, or it runs on none.
 */
export class SampleProber {
  #device: DeviceHandle | undefined;

  async find(s: ProbedService): Promise<NamedTensors | undefined> {
    const candidates = sampleCandidates(s.io).slice(1);
    if (candidates.length === 0) return undefined;
    this.#device ??= createDevice({ id: 'load-sample-probe', threads: 1 });
    const device = this.#device;
    const key = `probe-${s.id}`;
    try {
      await device.loadModel(key, { path: s.model });
    } catch {
      return undefined; // the executor's load reported why
    }
    try {
      for (const c of candidates) {
        try {
          // The run transfers the sample's buffers to the device's worker: the executor gets a fresh one.
          await device.run(key, sampleInputs(s.io, c), s.outputNames ? { outputNames: s.outputNames } : {});
          return sampleInputs(s.io, c);
        } catch (err) {
          if (!isEparaError(err) || err.code !== 'MODEL_ERROR') return undefined;
        }
      }
      return undefined;
    } finally {
      await device.unloadModel(key).catch(() => undefined);
    }
  }

  /** Ends the prober's device (if it started one). */
  async close(): Promise<void> {
    await this.#device?.close();
  }
}
