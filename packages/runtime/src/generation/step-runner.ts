import type { NamedTensors } from '@epara/core';
import type { DeviceHandle, LoadedModelInfo } from '../devices/device-handle.js';
import { argmaxLastPosition, buildStepInputs } from './generation-step.js';
import type { Sequence } from './generation-request.js';
import { createKvCacheRunner } from './kv-cache-runner.js';

/** Result of one iteration: the next token of every sequence that advanced, and the work it took. */
export interface StepResult {
  readonly tokens: ReadonlyMap<Sequence, number>;
  /** Work units of the call (rows × input length), the key of the step-latency estimate. */
  readonly work: number;
  /** Padded input length of the call. */
  readonly seqLen: number;
}

/**
 * How one generation iteration runs on the device. `recompute`: every step feeds every active sequence in
 * full (no cache). `kv`: sequences that just joined are prefilled (their prompt, in one call), otherwise one
 * decode call feeds each active sequence's last token with its cached keys and values.
 */
export interface StepRunner {
  readonly kind: 'recompute' | 'kv';
  /** Runs one iteration over the batch; `joined` are the members that entered it since the last iteration. */
  run(members: readonly Sequence[], joined: readonly Sequence[]): Promise<StepResult>;
  /** Forgets a sequence's state (it left the batch). */
  release(seq: Sequence): void;
  /** Work units of a step with `batch` sequences of length `length` (and of a prefill of `length` tokens). */
  stepWork(batch: number, length: number): number;
  prefillWork(promptTokens: number): number;
  /** Representative calls to time at start: small and large. */
  calibrationCalls(maxBatch: number, maxSeq: number): { readonly work: number; readonly feeds: NamedTensors }[];
}

/** Context a runner needs. */
export interface StepRunnerContext {
  readonly device: DeviceHandle;
  readonly key: string;
  readonly padToken: number;
  readonly info: LoadedModelInfo;
}

/** Picks the runner from the model: a model with `past_*` inputs gets the KV-cache runner. */
export function createStepRunner(ctx: StepRunnerContext): StepRunner {
  return ctx.info.inputs.some((i) => i.name.startsWith('past_')) ? createKvCacheRunner(ctx) : createRecomputeRunner(ctx);
}

function createRecomputeRunner({ device, key, padToken }: StepRunnerContext): StepRunner {
  return {
    kind: 'recompute',
    async run(members) {
      const { feeds, seqLen } = buildStepInputs(members.map((s) => s.tokens), padToken);
      const out = await device.run(key, feeds, { outputNames: ['logits'] });
      const next = argmaxLastPosition(out['logits']!);
      return { tokens: new Map(members.map((s, i) => [s, next[i]!])), work: members.length * seqLen, seqLen };
    },
    release: () => undefined,
    stepWork: (batch, length) => batch * length,
    prefillWork: (promptTokens) => promptTokens,
    calibrationCalls(maxBatch, maxSeq) {
      return [
        [1, Math.min(8, maxSeq)],
        [maxBatch, maxSeq],
      ].map(([batch, len]) => ({
        work: batch! * len!,
        feeds: buildStepInputs(Array.from({ length: batch! }, () => new Array<number>(len!).fill(padToken)), padToken).feeds,
      }));
    },
  };
}
