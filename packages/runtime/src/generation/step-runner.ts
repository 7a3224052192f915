import { EparaError } from '@epara/core';
import type { LoadedModelInfo } from '../devices/device-port.js';
import { argmaxLastPosition, buildStepInputs } from './generation-step.js';
import { createKvCacheRunner } from './kv-cache-runner.js';
import type { Sequence } from './generation-request.js';
import type { StepResult, StepRunner, StepRunnerContext } from './step-runner-port.js';

export type { StepRunner, StepRunnerContext } from './step-runner-port.js';

/**
 * Picks the runner from the model: a model with `past_*` inputs gets the KV-cache runner. A model that takes no
 * `attention_mask` cannot be told which tokens are padding: its rows of different lengths run apart.
 */
export function createStepRunner(ctx: StepRunnerContext): StepRunner {
  checkCausalLm(ctx.info);
  const runner = ctx.info.inputs.some((i) => i.name.startsWith('past_')) ? createKvCacheRunner(ctx) : createRecomputeRunner(ctx);
  return ctx.info.inputs.some((i) => i.name === 'attention_mask') ? runner : unpadded(runner);
}

/**
 * Checks that the engine can drive the model: it feeds `input_ids` and `attention_mask` as int64 (and `past_*`
 * caches) and reads float32 `logits`. A model asking for anything else (a `position_ids` input, int32 ids, logits
 * under another name or type) would load and then fail every request, or — float16 logits read as their bits —
 * pick wrong tokens.
 *
 * @throws EparaError `LOAD_FAILED` naming the input or output that does not fit.
 */
function checkCausalLm(info: LoadedModelInfo): void {
  const refuse = (why: string): never => {
    throw new EparaError('LOAD_FAILED', `generation: ${why}`, { inputs: info.inputs.map((i) => i.name), outputs: info.outputs.map((o) => o.name) });
  };
  if (!info.inputs.some((i) => i.name === 'input_ids')) refuse(`the model has no input_ids input (inputs: ${info.inputs.map((i) => i.name).join(', ')})`);
  for (const i of info.inputs) {
    if (i.name === 'input_ids' || i.name === 'attention_mask') {
      if (i.type !== 'int64') refuse(`input '${i.name}' is ${i.type}; the engine feeds int64`);
    } else if (!i.name.startsWith('past_')) refuse(`input '${i.name}' is not one the engine feeds (input_ids, attention_mask, past_*)`);
  }
  const logits = info.outputs.find((o) => o.name === 'logits');
  if (logits === undefined) refuse(`the model has no logits output (outputs: ${info.outputs.map((o) => o.name).join(', ')})`);
  else if (logits.type !== 'float32') refuse(`output 'logits' is ${logits.type}; the engine reads float32`);
}

/**
 * Runs each iteration as one call per sequence length, so that no row is padded: a model without an attention
 * mask reads a pad token as a token (its answer for a left-padded prompt is not the prompt's). A sequence's
 * length decides its padding in both runners: the recompute runner feeds its tokens, the KV-cache runner
 * prefills its prompt or decodes over a cache one shorter than it.
 */
function unpadded(runner: StepRunner): StepRunner {
  return {
    ...runner,
    async run(members, joined) {
      const prefill = runner.kind === 'kv' && joined.length > 0;
      const byLength = new Map<number, Sequence[]>();
      for (const s of prefill ? joined : members) {
        const group = byLength.get(s.tokens.length);
        if (group === undefined) byLength.set(s.tokens.length, [s]);
        else group.push(s);
      }
      const tokens = new Map<Sequence, number>();
      let work = 0;
      let seqLen = 0;
      let computeMs: number | undefined = 0;
      for (const group of byLength.values()) {
        const r: StepResult = await runner.run(group, prefill ? group : []);
        for (const [s, t] of r.tokens) tokens.set(s, t);
        work += r.work;
        seqLen = Math.max(seqLen, r.seqLen);
        computeMs = computeMs === undefined || r.computeMs === undefined ? undefined : computeMs + r.computeMs;
      }
      return computeMs === undefined ? { tokens, work, seqLen } : { tokens, work, seqLen, computeMs };
    },
  };
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
