import { argmaxLastPosition, buildStepInputs } from './generation-step.js';
import { createKvCacheRunner } from './kv-cache-runner.js';
import type { StepRunner, StepRunnerContext } from './step-runner-port.js';

export type { StepRunner, StepRunnerContext } from './step-runner-port.js';

/** Picks the runner from the model: a model with `past_*` inputs gets the KV-cache runner. */
export function createStepRunner(ctx: StepRunnerContext): StepRunner {
  return ctx.info.inputs.some((i) => i.name.startsWith('past_')) ? createKvCacheRunner(ctx) : createRecomputeRunner(ctx);
}

function createRecomputeRunner({ device, key, padToken }: StepRunnerContext): StepRunner {
  return {
    kind: 'recompute',
    async run(members) {
      const { feeds, seqLen } = buildStepInputs(members.map((s) => s.tokens), padToken);
      // The device's own compute time, so that the step estimate never learns queueing or messaging.
      const timed = typeof device.runTimed === 'function' ? await device.runTimed(key, feeds, { outputNames: ['logits'] }) : { outputs: await device.run(key, feeds, { outputNames: ['logits'] }) };
      const next = argmaxLastPosition(timed.outputs['logits']!);
      const result = { tokens: new Map(members.map((s, i) => [s, next[i]!])), work: members.length * seqLen, seqLen };
      return 'runMs' in timed ? { ...result, computeMs: timed.runMs } : result;
    },
    workOf: (members) => members.length * Math.max(...members.map((s) => s.tokens.length)),
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
